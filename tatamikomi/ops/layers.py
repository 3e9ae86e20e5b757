"""Fused layer ops: linear (addmm), dropout, batch normalization."""
import numpy as np

from ..autograd import Function
from ..kernels import sampling


class Addmm(Function):
    """b + x @ wt, wt the transposed weight: nn.Linear's node, as PyTorch builds it (AddmmBackward0
    over the bias, the input and a TBackward0 of the weight).

    Shapes: b (O,), x (N, I), wt (I, O) -> (N, O).
    """

    def forward(self, b, x, wt):
        need_b, need_x, need_w = self.needs_input_grad     # gx needs wt, gwt needs x
        self.save_for_backward(x if need_w else None, wt if need_x else None)
        y = x @ wt
        y += b
        return y

    def name(self):
        return "AddmmBackward0"

    # gx = gy wt^T; gwt = x^T gy, made as (gy^T x)^T so that the transpose back to the weight's
    # (O, I) layout (TBackward0) lands on a contiguous array.
    def backward(self, gy):
        x, wt = self.saved
        need_b, need_x, need_w = self.needs_input_grad
        return (gy.sum(axis=0) if need_b else None,
                gy @ wt.T if need_x else None,
                (gy.T @ x).T if need_w else None)


Linear = Addmm                          # the node nn.Linear records, by the name tools look for


class Dropout(Function):
    """Zero each element with probability p and scale the rest by 1 / (1 - p)."""

    def forward(self, x, *, p, rng):
        keep = sampling.bernoulli_(rng, np.empty_like(x, dtype=np.bool_), 1 - p)  # PyTorch's mask
        self.scale = (keep / np.asarray(1 - p, x.dtype)).astype(x.dtype, copy=False)
        return x * self.scale

    def backward(self, gy):
        return gy * self.scale


class BatchNorm(Function):
    """Normalize over every axis but 1 with the given (or the batch's) mean and variance.

    Shapes: x (N, C, *), weight/bias (C,) -> (N, C, *).
    """

    keeps = (0,)                        # PyTorch saves x: writing to it in place must fail backward

    def forward(self, x, w, b, *, mean, var, eps, batch_stats):
        x = np.ascontiguousarray(x)     # PyTorch's output is contiguous whatever x's strides
        shape = (1, -1) + (1,) * (x.ndim - 2)
        inv = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        xhat = (x - mean.reshape(shape)) * inv.reshape(shape)
        self.save_for_backward(xhat, inv, w)
        self.shape, self.batch_stats = shape, batch_stats
        y = xhat if w is None else xhat * w.reshape(shape)
        return y if b is None else y + b.reshape(shape)

    # With batch statistics, mean and var depend on x (Ioffe & Szegedy, 2015):
    # gx = inv * (g - mean(g) - xhat * mean(g * xhat)), g = gy * w, means over all but C.
    def backward(self, gy):
        xhat, inv, w = self.saved
        axes = tuple(i for i in range(gy.ndim) if i != 1)
        need_x, need_w, need_b = self.needs_input_grad
        g = gy if w is None else gy * w.reshape(self.shape)
        gx = None
        if need_x:
            if self.batch_stats:
                gx = g - g.mean(axis=axes, keepdims=True)
                gx -= xhat * (g * xhat).mean(axis=axes, keepdims=True)
                gx *= inv.reshape(self.shape)
            else:
                gx = g * inv.reshape(self.shape)
        gw = (gy * xhat).sum(axis=axes) if need_w else None
        return gx, gw, gy.sum(axis=axes) if need_b else None

    def name(self):
        return "NativeBatchNormBackward0"
