"""Layer and group normalization: statistics of each sample (or group), not of the batch.

Both normalize x over some axes with its own mean and biased variance, then scale and shift:
y = xhat * w + b, xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps). With g = gy * w and
means taken over the normalized axes, the input gradient is the batch-norm one (Ioffe &
Szegedy, 2015): gx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
"""
import numpy as np

from ..autograd import Function


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
        xhat, rstd = _normalize(x, self.axes, eps) if x.size else (x.copy(), None)
        self.save_for_backward(xhat, rstd, w)
        y = xhat if w is None else xhat * w
        return y if b is None else y + b

    def backward(self, gy):
        xhat, rstd, w = self.saved
        need_x, need_w, need_b = self.needs_input_grad
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
        grouped = x.reshape(self.group_shape)
        if x.size:
            xhat, rstd = _normalize(grouped, (2,), eps)
        else:
            xhat, rstd = grouped.copy(), None
        xhat = xhat.reshape(x.shape)
        self.groups = groups
        self.save_for_backward(xhat, rstd, w)
        y = xhat if w is None else xhat * w.reshape(self.shape)
        return y if b is None else y + b.reshape(self.shape)

    def backward(self, gy):
        xhat, rstd, w = self.saved
        need_x, need_w, need_b = self.needs_input_grad
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
