"""Convolutions as autograd Functions: the kernel is chosen once per call, and backward reuses it.

Conv2d runs conv1d/conv2d, ConvTranspose2d conv_transpose1d/2d: a 1-d conv's arrays (N, C, W)
are viewed as (N, C, 1, W), so every conv reaches the kernels as a 2-d ConvSpec.
"""
import numpy as np

from .. import kernels
from ..autograd import Function
from ..kernels import elementwise


class Conv2d(Function):
    """Shapes: x (N, C, H, W), w (O, C // groups, KH, KW), b (O,) -> y (N, O, OH, OW);
    1-d: x (N, C, W), w (O, C // groups, KW) -> y (N, O, OW).

    float16 runs in float32 and is rounded once at the end, as PyTorch's CPU kernels do.
    """

    def forward(self, x, w, b, *, spec):
        self.kernel, self.spec = kernels.select(spec), spec      # backward reuses this choice
        self.save_for_backward(x, w)
        if spec.C == 0:                 # PyTorch's empty-input path: y has no channels either
            return _flat(np.empty((spec.N, 0, spec.OH, spec.OW), x.dtype), x)
        self.kept = {}                  # what the kernel's forward hands its gradients
        x32, w32, b32 = _wide(x.reshape(spec.x_shape)), _wide(w.reshape(spec.w_shape)), _wide(b)
        kept = _keeping(self.kernel, self.kept)
        if b is not None and getattr(self.kernel, "FUSES_BIAS", False):
            y = self.kernel.forward(x32, w32, spec, bias=b32, **kept)
        else:
            y = self.kernel.forward(x32, w32, spec, **kept)
            if b is not None:                                      # y is the kernel's own array
                elementwise.add_bias(y.reshape(spec.N, spec.O, spec.OH * spec.OW), b32)
        return _flat(y.astype(x.dtype, copy=False), x)

    # Read the conv as a matmul y = x @ w: then gx = gy @ w.T is a transposed conv,
    # gw = x.T @ gy correlates x with gy, and gb sums gy over every axis but O.
    def backward(self, gy):
        x, w = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        spec = self.spec
        if spec.C == 0:                 # nothing reached y: zero gradients (gx, gw are empty)
            return (np.zeros_like(x) if need_x else None, np.zeros_like(w) if need_w else None,
                    np.zeros(spec.O, gy.dtype) if need_b else None)
        gy = np.ascontiguousarray(_wide(gy.reshape(spec.y_shape)))
        kept, self.kept = _keeping(self.kernel, self.kept), {}     # for this backward only
        x4, w4 = x.reshape(spec.x_shape), w.reshape(spec.w_shape)
        # gw first, for speed only: im2col's grad_weight can read the forward's columns as long
        # as its workspace holds them, and grad_input takes it (a second workspace cost more).
        gw = self.kernel.grad_weight(_wide(x4), gy, spec, **kept) if need_w else None
        gx = self.kernel.grad_input(gy, _wide(w4), spec, **kept) if need_x else None
        gb = _sum_but_channels(gy) if need_b else None
        return tuple(None if g is None else g.reshape(s).astype(x.dtype, copy=False)
                     for g, s in ((gx, x.shape), (gw, w.shape), (gb, (spec.O,))))

    def name(self):
        return "ConvolutionBackward0"


class ConvTranspose2d(Function):
    """The transposed conv: the gradient of `spec`'s conv with respect to its input, as a layer.

    spec is the conv from y's shape to x's: spec.x_shape = y's, spec.y_shape = x's (up to the
    rows and columns output_padding >= stride adds), spec.w_shape = w's.
    Shapes: x (N, C, H, W), w (C, O // groups, KH, KW), b (O,) -> y (N, O, OH, OW);
    1-d: x (N, C, W), w (C, O // groups, KW) -> y (N, O, OW).
    """

    def forward(self, x, w, b, *, spec):
        self.kernel, self.spec = kernels.select(spec), spec
        self.save_for_backward(x, w)
        self.b_dtype = None if b is None else b.dtype              # any dtype: PyTorch casts it
        wide = np.float64 if x.dtype.kind in "iu" else None        # int64: exact to 2**53
        if spec.N == 0:                 # PyTorch's empty path: zeros of the output's shape
            return _flat(np.zeros(spec.x_shape, x.dtype), x)
        self.kept = {}
        x4 = _wide(_gy_sized(x.reshape(spec.N, spec.O, -1, x.shape[-1]), spec), wide)
        # the very array, for grad_weight: im2col keeps its GEMM layout of x4 by identity
        self.x4 = x4 if self.needs_input_grad[1] else None
        y = self.kernel.grad_input(x4, _wide(w.reshape(spec.w_shape), wide), spec,
                                   **_keeping(self.kernel, self.kept))
        if b is not None:
            elementwise.add_bias(y.reshape(spec.N, spec.C, spec.H * spec.W),
                                 b.astype(y.dtype, copy=False))
        return _flat(np.rint(y).astype(x.dtype) if wide else y.astype(x.dtype, copy=False), x)

    # If the conv is c = A(w) u, the transposed conv is y = A(w)^T x. So gx = A(w) gy, the
    # conv's forward of gy; and <gy, A(w)^T x> = <A(w) gy, x> makes gw the conv's grad_weight
    # with gy as its input and x as its output's gradient. gb sums gy over every axis but O.
    def backward(self, gy):
        x, w = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        spec = self.spec
        if spec.N == 0:
            return (np.zeros_like(x) if need_x else None, np.zeros_like(w) if need_w else None,
                    np.zeros(spec.C, self.b_dtype) if need_b else None)
        gy = np.ascontiguousarray(_wide(gy.reshape(spec.x_shape)))
        kept, self.kept = _keeping(self.kernel, self.kept), {}
        H, W = x.shape[-2] if x.ndim == 4 else 1, x.shape[-1]
        gx = gw = None
        if need_x:          # its forward first: im2col's grad_weight then reads its columns
            gx = self.kernel.forward(gy, _wide(w.reshape(spec.w_shape)), spec, **kept)
            gx = gx[:, :, :H, :W].reshape(x.shape)
        if need_w:
            x4 = self.x4
            gw = self.kernel.grad_weight(gy, x4, spec, **kept).reshape(w.shape)
        gb = _sum_but_channels(gy).astype(self.b_dtype) if need_b else None
        return (None if gx is None else gx.astype(x.dtype, copy=False),
                None if gw is None else gw.astype(x.dtype, copy=False), gb)

    def name(self):
        return "ConvolutionBackward0"


def _gy_sized(x, spec):
    """x grown with zero rows/columns at the bottom/right to the conv's output size.

    The conv's output has floor(output_padding / stride) more rows than x when output_padding
    is at least the stride (PyTorch allows it below the dilation): the transposed conv's last
    output rows then lie beyond every window of x, and the zeros say so.
    Shapes: x (N, C, H, W) -> (N, C, spec.OH, spec.OW).
    """
    if x.shape[2:] == (spec.OH, spec.OW):
        return x
    out = np.zeros(spec.y_shape, x.dtype)
    out[:, :, :x.shape[2], :x.shape[3]] = x
    return out


def _flat(y, x):
    """A 2-d conv's result as a 1-d conv's when x is 1-d. Shapes: (N, O, 1, W) -> (N, O, W)."""
    return y.reshape(y.shape[0], y.shape[1], y.shape[3]) if x.ndim == 3 else y


def _wide(a, dtype=None):
    """float16 as float32 (the kernels' narrowest type), or a as dtype; other arrays and None
    as they are."""
    if a is not None and dtype is not None:
        return a.astype(dtype)
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
            return _flat(np.empty((spec.N, 0, spec.OH, spec.OW), x.dtype), x)
        self.spec = spec
        kernel = kernels.select(spec)
        y = kernel.forward(x.reshape(spec.x_shape).astype(np.float64),
                           w.reshape(spec.w_shape).astype(np.float64), spec)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return _flat(np.rint(y).astype(x.dtype), x)
