"""Conv2d as an autograd Function: the kernel is chosen once per call, and backward reuses it."""
import numpy as np

from .. import kernels
from ..autograd import Function
from ..kernels import elementwise


class Conv2d(Function):
    """Shapes: x (N, C, H, W), w (O, C // groups, KH, KW), b (O,) -> y (N, O, OH, OW).

    float16 runs in float32 and is rounded once at the end, as PyTorch's CPU kernels do.
    """

    def forward(self, x, w, b, *, spec):
        self.kernel, self.spec = kernels.select(spec), spec      # backward reuses this choice
        self.save_for_backward(x, w)
        if spec.C == 0:                 # PyTorch's empty-input path: y has no channels either
            return np.empty((spec.N, 0, spec.OH, spec.OW), x.dtype)
        self.kept = {}                  # what the kernel's forward hands its gradients
        x32, w32, b32, kept = _wide(x), _wide(w), _wide(b), _keeping(self.kernel, self.kept)
        if b is not None and getattr(self.kernel, "FUSES_BIAS", False):
            y = self.kernel.forward(x32, w32, spec, bias=b32, **kept)
        else:
            y = self.kernel.forward(x32, w32, spec, **kept)
            if b is not None:                                      # y is the kernel's own array
                elementwise.add_bias(y.reshape(spec.N, spec.O, spec.OH * spec.OW), b32)
        return y.astype(x.dtype, copy=False)

    # Read the conv as a matmul y = x @ w: then gx = gy @ w.T is a transposed conv,
    # gw = x.T @ gy correlates x with gy, and gb sums gy over every axis but O.
    def backward(self, gy):
        x, w = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        if self.spec.C == 0:            # nothing reached y: zero gradients (gx, gw are empty)
            return (np.zeros_like(x) if need_x else None, np.zeros_like(w) if need_w else None,
                    np.zeros(self.spec.O, gy.dtype) if need_b else None)
        gy = np.ascontiguousarray(_wide(gy))
        kept, self.kept = _keeping(self.kernel, self.kept), {}     # for this backward only
        # gw first, for speed only: im2col's grad_weight can read the forward's columns as long
        # as its workspace holds them, and grad_input takes it (a second workspace cost more).
        gw = self.kernel.grad_weight(_wide(x), gy, self.spec, **kept) if need_w else None
        gx = self.kernel.grad_input(gy, _wide(w), self.spec, **kept) if need_x else None
        gb = _sum_but_channels(gy) if need_b else None
        return tuple(None if g is None else g.astype(x.dtype, copy=False) for g in (gx, gw, gb))


def _wide(a):
    """float16 as float32 (the kernels' narrowest type); other arrays and None as they are."""
    return a.astype(np.float32) if a is not None and a.dtype == np.float16 else a


def _keeping(kernel, kept):
    """kept= for a kernel that hands work between the calls of one conv (KEEPS), else nothing."""
    return {"kept": kept} if getattr(kernel, "KEEPS", False) else {}


def _sum_but_channels(gy):
    """gb: gy summed over N, OH, OW, the pixel sums as one BLAS matrix-vector product.

    Ran in half the time of gy.sum(axis=(0, 2, 3)), which NumPy does on one core (measured at
    20x32x48x98: 0.29 against 0.63 ms). Shapes: gy (N, O, OH, OW) -> gb (O,).
    """
    N, O, OH, OW = gy.shape
    return (gy.reshape(N * O, OH * OW) @ np.ones(OH * OW, gy.dtype)).reshape(N, O).sum(axis=0)


class IntConv2d(Function):
    """Integer convolution (PyTorch allows it): exact in float64 up to 2**53, then cast back."""

    def forward(self, x, w, b, *, spec):
        if spec.C == 0:                 # as Conv2d: no channels in, none out
            return np.empty((spec.N, 0, spec.OH, spec.OW), x.dtype)
        kernel = kernels.select(spec)
        y = kernel.forward(x.astype(np.float64), w.astype(np.float64), spec)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return np.rint(y).astype(x.dtype)
