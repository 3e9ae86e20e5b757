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


def avg_windows(n, k, s, p, out):
    """Per output index: the clipped window [lo, hi) and its length counting padding.

    PyTorch clips the padded count at the padded border, not at the window's end.
    Shapes: -> (3, out) int64.
    """
    lo = np.arange(out) * s - p
    hi = np.minimum(lo + k, n + p)
    return np.stack([np.maximum(lo, 0), np.minimum(hi, n), hi - lo])


def adaptive_windows(n, out):
    """PyTorch's adaptive windows: [floor(i*n/out), ceil((i+1)*n/out)) for each output i.

    Shapes: -> (3, out) int64 (the third row is the window length).
    """
    i = np.arange(out)
    lo, hi = (i * n) // out, ((i + 1) * n + out - 1) // out
    return np.stack([lo, hi, hi - lo])


@njit(parallel=True)
def _mean(x, y, gy, gx, hb, wb, div, backward):
    """Forward (y from x) or backward (gx from gy) of a mean over tabled windows.

    hb, wb: (lo, hi, _) rows per output row/column; div: (OH, OW) divisors.
    """
    N, C = (gx.shape[0], gx.shape[1]) if backward else (x.shape[0], x.shape[1])
    OH, OW = div.shape
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h0, h1 = hb[0, oh], hb[1, oh]
            for ow in range(OW):
                w0, w1 = wb[0, ow], wb[1, ow]
                if backward:
                    g = gy[n, c, oh, ow] / div[oh, ow]
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            gx[n, c, h, w] += g
                else:
                    acc = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            acc += x[n, c, h, w]
                    y[n, c, oh, ow] = acc / div[oh, ow]


def _avg_tables(H, W, OH, OW, kernel, stride, padding, count_include_pad, divisor_override):
    hb = avg_windows(H, kernel[0], stride[0], padding[0], OH)
    wb = avg_windows(W, kernel[1], stride[1], padding[1], OW)
    if divisor_override:
        div = np.full((OH, OW), float(divisor_override))
    else:
        hn, wn = (hb[2], wb[2]) if count_include_pad else (hb[1] - hb[0], wb[1] - wb[0])
        div = np.outer(hn, wn).astype(np.float64)
    return hb, wb, div


def avg_forward(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Mean over each window (PyTorch's divisor rules).

    Shapes: x (N, C, H, W) -> y (N, C, OH, OW).
    """
    N, C, H, W = x.shape
    OH = out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
    OW = out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
    y = np.empty((N, C, OH, OW), x.dtype)
    tables = _avg_tables(H, W, OH, OW, kernel, stride, padding, count_include_pad,
                         divisor_override)
    _mean(np.ascontiguousarray(x), y, y, x, *tables, False)
    return y


def avg_backward(gy, x_shape, kernel, stride, padding, count_include_pad, divisor_override):
    """Spread each output's gradient evenly over its window.

    Shapes: gy (N, C, OH, OW) -> gx (N, C, H, W).
    """
    gx = np.zeros(x_shape, gy.dtype)
    tables = _avg_tables(*x_shape[2:], *gy.shape[2:], kernel, stride, padding,
                         count_include_pad, divisor_override)
    gy = np.ascontiguousarray(gy)
    _mean(gx, gy, gy, gx, *tables, True)
    return gx


def _adaptive_tables(H, W, OH, OW):
    hb, wb = adaptive_windows(H, OH), adaptive_windows(W, OW)
    return hb, wb, np.outer(hb[2], wb[2]).astype(np.float64)


def adaptive_avg_forward(x, output_size):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW)."""
    N, C, H, W = x.shape
    y = np.empty((N, C, *output_size), x.dtype)
    _mean(np.ascontiguousarray(x), y, y, x, *_adaptive_tables(H, W, *output_size), False)
    return y


def adaptive_avg_backward(gy, x_shape):
    """Shapes: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    gx = np.zeros(x_shape, gy.dtype)
    tables = _adaptive_tables(*x_shape[2:], *gy.shape[2:])
    _mean(gx, np.ascontiguousarray(gy), np.ascontiguousarray(gy), gx, *tables, True)
    return gx
