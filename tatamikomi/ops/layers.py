"""Fused layer ops: linear (addmm), dropout, batch normalization."""
import numpy as np

from ..autograd import Function
from ..kernels import sampling


class Linear(Function):
    """y = x @ w.T + b in one node (no transposed copies of w).

    Shapes: x (*, I), w (O, I), b (O,) -> (*, O).
    """

    def forward(self, x, w, b):
        need_x, need_w, _ = self.needs_input_grad      # gx needs w, gw needs x
        self.save_for_backward(x if need_w else None, w if need_x else None)
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, w = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        g2 = gy.reshape(-1, gy.shape[-1])
        gx = (gy @ w) if need_x else None
        gw = g2.T @ x.reshape(-1, x.shape[-1]) if need_w else None
        return gx, gw, g2.sum(axis=0) if need_b else None


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
