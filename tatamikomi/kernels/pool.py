"""Pooling kernels: max (with argmax indices), average and adaptive average, forward and backward.

Each loop nest runs in parallel over the N*C planes, which never share an output, so the
backward scatter needs no atomics. Window rules follow PyTorch's CPU kernels exactly: the
max keeps the first maximum (and propagates NaN), and the average's divisor counts padding
only up to the padded border.
"""
import numpy as np

from ._jit import njit, prange


def out_size(n, k, s, p, d, ceil_mode):
    """Pooling output length, with PyTorch's rule that the last window starts inside the input
    or the left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


@njit(parallel=True)
def _max_fwd(x, y, idx, geom):
    N, C, H, W = x.shape
    KH, KW, sh, sw, ph, pw, dh, dw = geom
    OH, OW = y.shape[2], y.shape[3]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h0 = oh * sh - ph
            for ow in range(OW):
                w0 = ow * sw - pw
                best, at = -np.inf, -1
                for i in range(KH):
                    h = h0 + i * dh
                    if h < 0 or h >= H:
                        continue
                    for j in range(KW):
                        w = w0 + j * dw
                        if w < 0 or w >= W:
                            continue
                        v = x[n, c, h, w]
                        if at < 0 or v > best or np.isnan(v):
                            best, at = v, h * W + w
                y[n, c, oh, ow] = best
                idx[n, c, oh, ow] = at


@njit(parallel=True)
def _max_bwd(gy, idx, gx):
    N, C, H, W = gx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for oh in range(OH):
            for ow in range(OW):
                at = idx[n, c, oh, ow]
                gx[n, c, at // W, at % W] += gy[n, c, oh, ow]


def max_forward(x, kernel, stride, padding, dilation, ceil_mode):
    """Max over each window, and the flat index (h * W + w) of the winner in its plane.

    Shapes: x (N, C, H, W) -> y (N, C, OH, OW), indices (N, C, OH, OW) int64.
    """
    N, C, H, W = x.shape
    OH = out_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = out_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    y = np.empty((N, C, OH, OW), x.dtype)
    idx = np.empty((N, C, OH, OW), np.int64)
    _max_fwd(np.ascontiguousarray(x), y, idx, (*kernel, *stride, *padding, *dilation))
    return y, idx


def max_backward(gy, idx, x_shape):
    """Route each output's gradient to the input cell that won its window.

    Shapes: gy (N, C, OH, OW), idx (N, C, OH, OW) -> gx (N, C, H, W).
    """
    gx = np.zeros(x_shape, gy.dtype)
    _max_bwd(np.ascontiguousarray(gy), idx, gx)
    return gx


@njit
def _window(o, s, p, k, n):
    """Clipped window [lo, hi) and the count PyTorch divides by when padding counts."""
    lo = o * s - p
    hi = min(lo + k, n + p)
    padded = hi - lo
    return max(lo, 0), min(hi, n), padded


@njit(parallel=True)
def _avg(x, y, gy, gx, geom, backward):
    """Forward (y from x) or backward (gx from gy) of average pooling; one loop nest for both."""
    N, C, H, W = gx.shape if backward else x.shape
    KH, KW, sh, sw, ph, pw, include_pad, divisor = geom
    OH, OW = (gy.shape[2], gy.shape[3]) if backward else (y.shape[2], y.shape[3])
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h0, h1, hp = _window(oh, sh, ph, KH, H)
            for ow in range(OW):
                w0, w1, wp = _window(ow, sw, pw, KW, W)
                if divisor > 0:
                    div = divisor
                elif include_pad:
                    div = hp * wp
                else:
                    div = (h1 - h0) * (w1 - w0)
                if backward:
                    g = gy[n, c, oh, ow] / div
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            gx[n, c, h, w] += g
                else:
                    acc = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            acc += x[n, c, h, w]
                    y[n, c, oh, ow] = acc / div


def avg_forward(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Mean over each window (PyTorch's divisor rules).

    Shapes: x (N, C, H, W) -> y (N, C, OH, OW).
    """
    N, C, H, W = x.shape
    OH = out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
    OW = out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
    y = np.empty((N, C, OH, OW), x.dtype)
    geom = (*kernel, *stride, *padding, int(count_include_pad), int(divisor_override or 0))
    _avg(np.ascontiguousarray(x), y, y, x, geom, False)
    return y


def avg_backward(gy, x_shape, kernel, stride, padding, count_include_pad, divisor_override):
    """Spread each output's gradient evenly over its window.

    Shapes: gy (N, C, OH, OW) -> gx (N, C, H, W).
    """
    gx = np.zeros(x_shape, gy.dtype)
    geom = (*kernel, *stride, *padding, int(count_include_pad), int(divisor_override or 0))
    gy = np.ascontiguousarray(gy)
    _avg(gx, gy, gy, gx, geom, True)
    return gx


def adaptive_bounds(n, out):
    """PyTorch's adaptive windows: [floor(i*n/out), ceil((i+1)*n/out)) for each output i."""
    i = np.arange(out)
    return (i * n) // out, ((i + 1) * n + out - 1) // out


@njit(parallel=True)
def _adaptive(x, y, gy, gx, hb, wb, backward):
    N, C = (gx.shape[0], gx.shape[1]) if backward else (x.shape[0], x.shape[1])
    OH, OW = hb.shape[1], wb.shape[1]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h0, h1 = hb[0, oh], hb[1, oh]
            for ow in range(OW):
                w0, w1 = wb[0, ow], wb[1, ow]
                div = (h1 - h0) * (w1 - w0)
                if backward:
                    g = gy[n, c, oh, ow] / div
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            gx[n, c, h, w] += g
                else:
                    acc = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            acc += x[n, c, h, w]
                    y[n, c, oh, ow] = acc / div


def adaptive_avg_forward(x, output_size):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW)."""
    N, C, H, W = x.shape
    OH, OW = output_size
    hb, wb = np.array(adaptive_bounds(H, OH)), np.array(adaptive_bounds(W, OW))
    y = np.empty((N, C, OH, OW), x.dtype)
    _adaptive(np.ascontiguousarray(x), y, y, x, hb, wb, False)
    return y


def adaptive_avg_backward(gy, x_shape):
    """Shapes: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    gx = np.zeros(x_shape, gy.dtype)
    H, W = x_shape[2:]
    hb = np.array(adaptive_bounds(H, gy.shape[2]))
    wb = np.array(adaptive_bounds(W, gy.shape[3]))
    gy = np.ascontiguousarray(gy)
    _adaptive(gx, gy, gy, gx, hb, wb, True)
    return gx
