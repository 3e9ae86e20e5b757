"""Resampling: interpolation (nearest, linear, cubic), pixel shuffle, adaptive max pooling and
max unpooling, each as an autograd Function.

Every interpolation mode PyTorch has without antialiasing is separable: output pixel o of an
axis reads a few input pixels i with weights w(o, i) that depend on that axis alone. So each
axis is one (out, in) matrix A, the forward applies A along its axis, and the backward applies
A.T (nearest modes gather by index forward). The index and weight rules are PyTorch's,
computed in the input's precision as its CPU kernels do.
"""
import math

import numpy as np

from ..autograd import Function

CUBIC_A = -0.75                        # Keys' cubic convolution parameter, as PyTorch's


def _scale(in_size, out_size, scale, dtype):
    """Source pixels per destination pixel: 1 / scale_factor when one was given (and used),
    else in / out, rounded to dtype as PyTorch's kernels compute it."""
    if scale is not None and scale > 0:
        return dtype(1.0 / scale)
    return dtype(in_size) / dtype(out_size)


def nearest_index(in_size, out_size, scale, exact=False):
    """Source index of every output pixel: floor(o * s), or floor((o + 0.5) * s) for
    'nearest-exact', in float32 as PyTorch computes it. Shapes: -> (out_size,) int64."""
    o = np.arange(out_size)
    if not exact and out_size == in_size:
        return o
    if not exact and out_size == 2 * in_size:                 # PyTorch's exact shortcut
        return o >> 1
    s = _scale(in_size, out_size, scale, np.float32)
    src = (o.astype(np.float32) + np.float32(0.5 if exact else 0)) * s
    return np.minimum(np.floor(src).astype(np.int64), in_size - 1)


def _source(in_size, out_size, align_corners, scale, dtype, cubic):
    """The real-valued source coordinate of every output pixel. Shapes: -> (out_size,)."""
    o = np.arange(out_size).astype(dtype)
    if align_corners:                     # one output pixel sits on the first input pixel
        s = dtype(in_size - 1) / dtype(out_size - 1) if out_size > 1 else dtype(0)
    else:
        s = _scale(in_size, out_size, scale, dtype)
    if align_corners:
        return s * o
    src = s * (o + dtype(0.5)) - dtype(0.5)
    return src if cubic else np.maximum(src, dtype(0))


def linear_matrix(in_size, out_size, align_corners, scale, dtype):
    """Weights of linear interpolation along one axis. Shapes: -> (out_size, in_size)."""
    A = np.zeros((out_size, in_size), dtype)
    rows = np.arange(out_size)
    if out_size == in_size:                                   # PyTorch copies: no rounding
        A[rows, rows] = 1
        return A
    src = _source(in_size, out_size, align_corners, scale, dtype, cubic=False)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = np.where(i0 < in_size - 1, i0 + 1, i0)
    np.add.at(A, (rows, i0), dtype(1) - lam1)
    np.add.at(A, (rows, i1), lam1)
    return A


def _cubic_weights(t, dtype):
    """Keys' four weights for offset t in [0, 1) of the pixels at -1, 0, +1, +2."""
    a = dtype(CUBIC_A)

    def near(x):                                              # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):                                               # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = dtype(1)
    return [far(t + one), near(t), near(one - t), far(one - t + one)]


def cubic_matrix(in_size, out_size, align_corners, scale, dtype):
    """Weights of bicubic interpolation along one axis, indices clamped at the borders.

    Shapes: -> (out_size, in_size).
    """
    A = np.zeros((out_size, in_size), dtype)
    rows = np.arange(out_size)
    src = _source(in_size, out_size, align_corners, scale, dtype, cubic=True)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    t = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    for k, w in enumerate(_cubic_weights(t, dtype)):
        np.add.at(A, (rows, np.clip(i0 - 1 + k, 0, in_size - 1)), w.astype(dtype))
    return A


def _along(A, x, axis):
    """A applied to x along axis. Shapes: A (O, I), x (.., I, ..) -> (.., O, ..).

    The last two axes are batched matrix products that write contiguous output (x @ A.T,
    A @ x); a third axis from the end moves next to them first.
    """
    if axis == x.ndim - 1:
        return x @ A.T
    if axis == x.ndim - 2:
        return A @ x
    return np.moveaxis(A @ np.moveaxis(x, axis, -2), -2, axis)


class Interpolate(Function):
    """Resample the trailing axes of x, each by an index array (nearest) or a weight matrix.

    Shapes: x (N, C, *in) -> y (N, C, *out).
    """

    def forward(self, x, *, plans, kind):
        self.plans, self.kind, self.in_shape = plans, kind, x.shape
        y = x
        for k, (how, p) in enumerate(plans):
            axis = x.ndim - len(plans) + k
            y = np.take(y, p, axis=axis) if how == "index" else _along(p.astype(x.dtype), y,
                                                                         axis)
        return np.ascontiguousarray(y)

    def backward(self, gy):
        g = gy
        for k, (how, p) in enumerate(self.plans):
            axis = gy.ndim - len(self.plans) + k
            if how == "index":
                A = np.zeros((len(p), self.in_shape[axis]), gy.dtype)
                A[np.arange(len(p)), p] = 1
            else:
                A = p.astype(gy.dtype)
            g = _along(A.T, g, axis)
        return np.ascontiguousarray(g)

    def name(self):
        return self.kind


class PixelShuffle(Function):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r), and its inverse (unshuffle) when `down`."""

    def forward(self, x, *, r, down):
        self.r, self.down = r, down
        return _unshuffle(x, r) if down else _shuffle(x, r)

    def backward(self, gy):
        return _shuffle(gy, self.r) if self.down else _unshuffle(gy, self.r)

    def name(self):
        return "PixelUnshuffleBackward0" if self.down else "PixelShuffleBackward0"


def _shuffle(x, r):
    *lead, C, H, W = x.shape
    c = C // (r * r)
    y = x.reshape(*lead, c, r, r, H, W)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return np.ascontiguousarray(y).reshape(*lead, c, H * r, W * r)


def _unshuffle(x, r):
    *lead, C, H, W = x.shape
    y = x.reshape(*lead, C, H // r, r, W // r, r)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return np.ascontiguousarray(y).reshape(*lead, C * r * r, H // r, W // r)


def adaptive_windows(in_size, out_size):
    """PyTorch's adaptive pooling windows: [floor(o*in/out), ceil((o+1)*in/out))."""
    return [(o * in_size // out_size, -(-(o + 1) * in_size // out_size)) for o in range(out_size)]


def adaptive_max(x, out_hw):
    """Max of each adaptive window and the flat (h * W + w) index of its winner: the first
    maximum, or the last NaN (a NaN always wins, as in PyTorch's loop).

    Shapes: x (N, C, H, W) -> y, indices (N, C, OH, OW).
    """
    N, C, H, W = x.shape
    OH, OW = out_hw
    y = np.empty((N, C, OH, OW), x.dtype)
    idx = np.empty((N, C, OH, OW), np.int64)
    for oh, (h0, h1) in enumerate(adaptive_windows(H, OH)):
        for ow, (w0, w1) in enumerate(adaptive_windows(W, OW)):
            win = x[:, :, h0:h1, w0:w1].reshape(N, C, -1)
            nan = np.isnan(win)
            k = np.where(nan.any(-1), win.shape[-1] - 1 - np.argmax(nan[..., ::-1], -1),
                         np.argmax(win, -1))
            y[:, :, oh, ow] = np.take_along_axis(win, k[..., None], -1)[..., 0]
            ww = w1 - w0
            idx[:, :, oh, ow] = (h0 + k // ww) * W + w0 + k % ww
    return y, idx


class AdaptiveMaxPool2d(Function):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW), given the winners' flat indices."""

    def forward(self, x, *, y, indices):
        self.indices, self.x_shape = indices, x.shape
        return y

    def backward(self, gy):
        N, C, H, W = self.x_shape
        gx = np.zeros((N * C, H * W), gy.dtype)
        rows = np.repeat(np.arange(N * C), gy[0, 0].size)
        np.add.at(gx, (rows, self.indices.reshape(-1)), gy.reshape(-1))
        return gx.reshape(self.x_shape)

    def name(self):
        return "AdaptiveMaxPool2DBackward0"


class MaxUnpool2d(Function):
    """Scatter each value to its flat index in an (OH, OW) plane of zeros.

    Shapes: x (*, H, W), indices like x -> y (*, OH, OW).
    """

    def forward(self, x, *, indices, out_hw):
        lead = x.shape[:-2]
        P = math.prod(lead)
        self.flat, self.x_shape = indices.reshape(P, -1), x.shape
        y = np.zeros((P, math.prod(out_hw)), x.dtype)
        y[np.arange(P)[:, None], self.flat] = x.reshape(P, -1)
        return y.reshape(*lead, *out_hw)

    def backward(self, gy):
        g = gy.reshape(self.flat.shape[0], -1)
        return np.take_along_axis(g, self.flat, axis=1).reshape(self.x_shape)

    def name(self):
        return "MaxUnpool2DBackward0"
