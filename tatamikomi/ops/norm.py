"""Layer and group normalization: statistics of each sample (or group), not of the batch.

Both normalize x over some axes with its own mean and biased variance, then scale and shift:
y = xhat * w + b, xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps). With g = gy * w and
means taken over the normalized axes, the input gradient is the batch-norm one (Ioffe &
Szegedy, 2015): gx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
"""
import math

import numpy as np

from ..autograd import Function
from . import _norm_loops as loops


def _normalize(x, axes, eps):
    """xhat and rstd (kept dims) of x over axes. Shapes: x (*) -> xhat (*), rstd (kept)."""
    mean = x.mean(axis=axes, keepdims=True)
    var = np.square(x - mean).mean(axis=axes, keepdims=True)
    rstd = (1 / np.sqrt(var + np.asarray(eps, x.dtype))).astype(x.dtype)
    return (x - mean) * rstd, rstd


def _input_grad(g, xhat, rstd, axes):
    gx = g - g.mean(axis=axes, keepdims=True)
    gx -= xhat * (g * xhat).mean(axis=axes, keepdims=True)
    return gx * rstd


class LayerNorm(Function):
    """Normalize over the last k axes; w and b have those axes' shape.

    Shapes: x (*, D1..Dk), w (D1..Dk) or None, b (D1..Dk) or None -> y like x.
    """

    def forward(self, x, w, b, *, k, eps):
        self.axes = tuple(range(x.ndim - k, x.ndim))
        M = math.prod(x.shape[x.ndim - k:])
        # one group per row: (rows, 1, M, 1), weight and bias per element of the row
        self.view = (x.size // M if M else 0, 1, M, 1)
        if loops.usable(x):
            y, mean, rstd = loops.forward(x.reshape(self.view), w, b, eps)
            self.save_for_backward(x, mean, rstd, w)
            self.fast = True
            return y.reshape(x.shape)
        self.fast = False
        xhat, rstd = _normalize(x, self.axes, eps) if x.size else (x.copy(), None)
        self.save_for_backward(xhat, rstd, w)
        y = xhat if w is None else xhat * w
        return y if b is None else y + b

    def backward(self, gy):
        need_x, need_w, need_b = self.needs_input_grad
        if self.fast:
            x, mean, rstd, w = self.saved
            gx, gw, gb = loops.backward(x.reshape(self.view),
                                        np.ascontiguousarray(gy).reshape(self.view), w, mean,
                                        rstd)
            shape = x.shape[gy.ndim - len(self.axes):]
            return (gx.reshape(gy.shape) if need_x else None,
                    gw.reshape(shape) if need_w else None, gb.reshape(shape) if need_b else None)
        xhat, rstd, w = self.saved
        lead = tuple(range(gy.ndim - len(self.axes)))
        gx = None
        if need_x:
            gx = _input_grad(gy if w is None else gy * w, xhat, rstd, self.axes) if gy.size \
                else np.zeros_like(gy)
        gw = (gy * xhat).sum(axis=lead) if need_w else None
        return gx, gw, gy.sum(axis=lead) if need_b else None

    def name(self):
        return "NativeLayerNormBackward0"


class GroupNorm(Function):
    """Normalize each sample's channels in G groups; w and b are per channel.

    Shapes: x (N, C, *), w (C,) or None, b (C,) or None -> y (N, C, *).
    """

    def forward(self, x, w, b, *, groups, eps):
        N, C = x.shape[:2]
        self.shape = (1, C) + (1,) * (x.ndim - 2)
        self.group_shape = (N, groups, x.size // max(N * groups, 1))    # -1 fails for N = 0
        self.groups, self.fast = groups, loops.usable(x)
        if self.fast:
            view = (N, groups, C // groups, x.size // max(N * C, 1))
            y, mean, rstd = loops.forward(x.reshape(view), w, b, eps)
            self.save_for_backward(x, mean, rstd, w)
            return y.reshape(x.shape)
        grouped = x.reshape(self.group_shape)
        if x.size:
            xhat, rstd = _normalize(grouped, (2,), eps)
        else:
            xhat, rstd = grouped.copy(), None
        xhat = xhat.reshape(x.shape)
        self.save_for_backward(xhat, rstd, w)
        y = xhat if w is None else xhat * w.reshape(self.shape)
        return y if b is None else y + b.reshape(self.shape)

    def backward(self, gy):
        need_x, need_w, need_b = self.needs_input_grad
        if self.fast:
            x, mean, rstd, w = self.saved
            N, C = x.shape[:2]
            view = (N, self.groups, C // self.groups, x.size // max(N * C, 1))
            gx, gw, gb = loops.backward(x.reshape(view), np.ascontiguousarray(gy).reshape(view),
                                        w, mean, rstd)
            return (gx.reshape(gy.shape) if need_x else None,
                    gw.reshape(C) if need_w else None, gb.reshape(C) if need_b else None)
        xhat, rstd, w = self.saved
        axes = (0,) + tuple(range(2, gy.ndim))
        gx = None
        if need_x:
            g = gy if w is None else gy * w.reshape(self.shape)
            if gy.size:
                gx = _input_grad(g.reshape(self.group_shape), xhat.reshape(self.group_shape),
                                 rstd, (2,))
                gx = gx.reshape(gy.shape)
            else:
                gx = np.zeros_like(gy)
        gw = (gy * xhat).sum(axis=axes) if need_w else None
        return gx, gw, gy.sum(axis=axes) if need_b else None

    def name(self):
        return "NativeGroupNormBackward0"
