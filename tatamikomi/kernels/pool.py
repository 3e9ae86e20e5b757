"""Pooling kernels: max (with argmax indices), average and adaptive average, forward and backward.

Each loop nest runs in parallel over the N*C planes, which never share an output, so the
backward scatter needs no atomics. Window rules follow PyTorch's CPU kernels exactly: the
max keeps the first maximum (and propagates NaN), and the average's divisor counts padding
only up to the padded border.
"""
import numpy as np

from ._jit import njit, run_tasks

# Below this many input elements a pool runs on one thread: waking the others costs tens of
# microseconds, as much as pooling 64K floats.
PARALLEL_MIN = 1 << 16


def _run(fn, planes, size, *args):
    """fn over its planes [0, planes), on all threads when the pool reads `size` elements."""
    run_tasks(fn, planes, *args, parallel=size >= PARALLEL_MIN)


def out_size(n, k, s, p, d, ceil_mode):
    """Pooling output length, with PyTorch's rule that the last window starts inside the input
    or the left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


@njit
def _max_fwd(nc0, nc1, x, y, idx, geom):
    """Planes nc0 <= nc < nc1 of the general max pool. Shapes: x (N, C, H, W), y and idx
    (N, C, OH, OW)."""
    N, C, H, W = x.shape
    KH, KW, sh, sw, ph, pw, dh, dw = geom
    OH, OW = y.shape[2], y.shape[3]
    for nc in range(nc0, nc1):
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


@njit
def _max_fwd_values(nc0, nc1, x, y, geom):
    """Planes nc0 <= nc < nc1 of the general max pool, values only (no grad to route): tap by
    tap over a whole output row, so the compare-and-select runs along the row in vectors.
    Each output still sees its taps in window order, so NaN and ties go as in _max_fwd.
    Shapes: x (N, C, H, W), y (N, C, OH, OW)."""
    N, C, H, W = x.shape
    KH, KW, sh, sw, ph, pw, dh, dw = geom
    OH, OW = y.shape[2], y.shape[3]
    for nc in range(nc0, nc1):
        n, c = nc // C, nc % C
        for oh in range(OH):
            row = y[n, c, oh]
            row[:] = -np.inf
            for i in range(KH):
                h = oh * sh - ph + i * dh
                if h < 0 or h >= H:
                    continue
                xr = x[n, c, h]
                for j in range(KW):
                    off = j * dw - pw                   # input column of output 0's tap
                    lo = max(0, (-off + sw - 1) // sw)
                    hi = min(OW, (W - 1 - off) // sw + 1) if W - 1 - off >= 0 else 0
                    for ow in range(lo, hi):
                        v, b = xr[ow * sw + off], row[ow]
                        row[ow] = v if (v > b) | (v != v) else b


@njit
def _max_fwd_2x2(nc0, nc1, x, y, code):
    """The 2x2 stride-2 unpadded pool of planes nc0 <= nc < nc1, its winner kept as a 1-byte
    code 2 * i + j.

    Shapes: x (N, C, H, W), y and code (N, C, H // 2, W // 2).
    """
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for nc in range(nc0, nc1):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h = 2 * oh
            for ow in range(OW):
                w = 2 * ow
                # PyTorch's rule in window order: a later value wins when greater, or NaN.
                # Selects, not branches: branch-free, this loop ran 3x faster (1.04 -> 0.36 ms
                # at 64x32x28x28); the winner is random data to a branch predictor.
                best, k = x[n, c, h, w], np.uint8(0)
                v = x[n, c, h, w + 1]
                t = (v > best) | (v != v)
                best, k = v if t else best, np.uint8(1) if t else k
                v = x[n, c, h + 1, w]
                t = (v > best) | (v != v)
                best, k = v if t else best, np.uint8(2) if t else k
                v = x[n, c, h + 1, w + 1]
                t = (v > best) | (v != v)
                best, k = v if t else best, np.uint8(3) if t else k
                y[n, c, oh, ow] = best
                code[n, c, oh, ow] = k


@njit
def _max_bwd_2x2(nc0, nc1, gy, code, gx):
    """Each window's gradient to its coded winner, zeros around it: gx written once, in order
    (planes nc0 <= nc < nc1).

    Shapes: gy and code (N, C, OH, OW), gx (N, C, H, W) with H >= 2 * OH, W >= 2 * OW.
    """
    N, C, H, W = gx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    for nc in range(nc0, nc1):
        n, c = nc // C, nc % C
        for oh in range(OH):
            for i in range(2):
                for ow in range(OW):
                    g, k = gy[n, c, oh, ow], code[n, c, oh, ow] - 2 * i
                    gx[n, c, 2 * oh + i, 2 * ow] = g if k == 0 else 0
                    gx[n, c, 2 * oh + i, 2 * ow + 1] = g if k == 1 else 0
                if W > 2 * OW:                                # an odd W's last column
                    gx[n, c, 2 * oh + i, 2 * OW] = 0
        if H > 2 * OH:                                        # an odd H's last row
            gx[n, c, 2 * OH, :] = 0


@njit
def _max_bwd(nc0, nc1, gy, idx, gx):
    """Planes nc0 <= nc < nc1. Shapes: gy and idx (N*C, OH*OW), gx (N*C, H*W), written whole
    (no np.zeros pass)."""
    L = gy.shape[1]
    for nc in range(nc0, nc1):
        # Zero one plane, then scatter into it while it is still in cache: gx is written once.
        gx[nc, :] = 0
        for k in range(L):
            gx[nc, idx[nc, k]] += gy[nc, k]


# float16 (PyTorch computes it on the CPU too): the forwards run in float32 and round once, which
# is exact for a max and is what PyTorch does for a mean. Its backwards round every step in
# float16, so ours do too, in its order, with NumPy (rare and small: no Numba loop for it).
HALF = np.float16


def max_forward(x, kernel, stride, padding, dilation, ceil_mode, winners=True):
    """Max over each window, and which input won it (`winners`, for max_backward; None when
    winners=False, where no gradient will be routed).

    winners holds the flat index h * W + w of the winner in its plane (int64), except for the
    2x2 stride-2 unpadded pool, where it is a uint8 code 2 * i + j of the winner's place in its
    window: an eighth of the bytes to write now and read in backward. max_indices() turns
    either into PyTorch's indices.
    Shapes: x (N, C, H, W) -> y (N, C, OH, OW), winners (N, C, OH, OW).
    """
    if x.dtype == HALF:
        y, won = max_forward(x.astype(np.float32), kernel, stride, padding, dilation,
                             ceil_mode, winners)
        return y.astype(HALF), won
    N, C, H, W = x.shape
    OH = out_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = out_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    y = np.empty((N, C, OH, OW), x.dtype)
    x = x if x.flags.c_contiguous else np.ascontiguousarray(x)
    if _is_2x2(kernel, stride, padding, dilation) and 2 * OH <= H and 2 * OW <= W:
        code = np.empty((N, C, OH, OW), np.uint8)
        _run(_max_fwd_2x2, N * C, x.size, x, y, code)
        return y, code
    geom = (*kernel, *stride, *padding, *dilation)
    if not winners:
        _run(_max_fwd_values, N * C, x.size, x, y, geom)
        return y, None
    idx = np.empty((N, C, OH, OW), np.int64)
    _run(_max_fwd, N * C, x.size, x, y, idx, geom)
    return y, idx


def _is_2x2(kernel, stride, padding, dilation):
    """The common CNN pool: kernel 2, stride 2, no padding, no dilation."""
    return (tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1))


def max_indices(winners, x_shape):
    """PyTorch's indices (flat h * W + w in each plane) from max_forward's winners.

    Shapes: winners (N, C, OH, OW) -> (N, C, OH, OW) int64.
    """
    if winners.dtype == np.int64:
        return winners
    OH, OW, W = winners.shape[2], winners.shape[3], x_shape[3]
    h = 2 * np.arange(OH).reshape(-1, 1) + winners // 2
    w = 2 * np.arange(OW) + winners % 2
    return h * W + w


def max_backward(gy, winners, x_shape):
    """Route each output's gradient to the input cell that won its window.

    Shapes: gy (N, C, OH, OW), winners (N, C, OH, OW) from max_forward -> gx (N, C, H, W).
    """
    N, C, H, W = x_shape
    if gy.dtype == HALF:            # each window's gradient added in float16, in window order
        gx = np.zeros((N * C, H * W), HALF)
        at = max_indices(winners, x_shape).reshape(N * C, -1) + H * W * np.arange(N * C)[:, None]
        np.add.at(gx.reshape(-1), at.reshape(-1), gy.reshape(-1))
        return gx.reshape(x_shape)
    gx = np.empty(x_shape, gy.dtype)
    gy = gy if gy.flags.c_contiguous else np.ascontiguousarray(gy)
    if winners.dtype == np.uint8:
        _run(_max_bwd_2x2, N * C, gx.size, gy, winners, gx)
        return gx
    L = gy.shape[2] * gy.shape[3]
    _run(_max_bwd, N * C, gx.size, gy.reshape(N * C, L), winners.reshape(N * C, L),
         gx.reshape(N * C, H * W))
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


@njit
def _mean(nc0, nc1, x, y, hb, wb, div):
    """y = the mean of x over tabled windows, planes nc0 <= nc < nc1.

    hb, wb: (lo, hi, _) rows per output row/column; div: (OH, OW) divisors.
    Shapes: x (N, C, H, W), y (N, C, OH, OW).
    """
    C = x.shape[1]
    OH, OW = div.shape
    for nc in range(nc0, nc1):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h0, h1 = hb[0, oh], hb[1, oh]
            for ow in range(OW):
                w0, w1 = wb[0, ow], wb[1, ow]
                acc = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        acc += x[n, c, h, w]
                y[n, c, oh, ow] = acc / div[oh, ow]


@njit
def _mean_backward(nc0, nc1, gy, gx, hb, wb, div):
    """gx += each output's gradient over its window / its divisor, planes nc0 <= nc < nc1.

    Shapes: gy (N, C, OH, OW), gx (N, C, H, W) zeros.
    """
    C = gx.shape[1]
    OH, OW = div.shape
    for nc in range(nc0, nc1):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h0, h1 = hb[0, oh], hb[1, oh]
            for ow in range(OW):
                w0, w1 = wb[0, ow], wb[1, ow]
                g = gy[n, c, oh, ow] / div[oh, ow]
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        gx[n, c, h, w] += g


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
    if x.dtype == HALF:
        return avg_forward(x.astype(np.float32), kernel, stride, padding, ceil_mode,
                           count_include_pad, divisor_override).astype(HALF)
    N, C, H, W = x.shape
    OH = out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
    OW = out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
    y = np.empty((N, C, OH, OW), x.dtype)
    tables = _avg_tables(H, W, OH, OW, kernel, stride, padding, count_include_pad,
                         divisor_override)
    _run(_mean, N * C, x.size, np.ascontiguousarray(x), y, *tables)
    return y


def avg_backward(gy, x_shape, kernel, stride, padding, count_include_pad, divisor_override):
    """Spread each output's gradient evenly over its window.

    Shapes: gy (N, C, OH, OW) -> gx (N, C, H, W).
    """
    gx = np.zeros(x_shape, gy.dtype)
    hb, wb, div = _avg_tables(*x_shape[2:], *gy.shape[2:], kernel, stride, padding,
                              count_include_pad, divisor_override)
    if gy.dtype == HALF:
        return _mean_backward_half(gy, gx, hb, wb, lambda g, oh, ow: _div(g, div[oh, ow]))
    _run(_mean_backward, gx.shape[0] * gx.shape[1], gx.size, np.ascontiguousarray(gy), gx, hb,
         wb, div)
    return gx


def _div(g, d):
    """float16 g / d, in float32 then rounded, as PyTorch divides a Half by an integer."""
    return (g.astype(np.float32) / np.float32(d)).astype(HALF)


def _mean_backward_half(gy, gx, hb, wb, share):
    """gx += share(gy at each output) over its window, window by window in output order, every
    step rounded to float16 as PyTorch's CPU kernels round it (bit for bit).

    Shapes: gy (N, C, OH, OW), gx (N, C, H, W) float16, zeros.
    """
    for oh in range(gy.shape[2]):
        for ow in range(gy.shape[3]):
            g = share(gy[:, :, oh, ow], oh, ow)
            gx[:, :, hb[0, oh]:hb[1, oh], wb[0, ow]:wb[1, ow]] += g[:, :, None, None]
    return gx


def _adaptive_tables(H, W, OH, OW):
    hb, wb = adaptive_windows(H, OH), adaptive_windows(W, OW)
    return hb, wb, np.outer(hb[2], wb[2]).astype(np.float64)


def adaptive_avg_forward(x, output_size):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW)."""
    if x.dtype == HALF:
        return adaptive_avg_forward(x.astype(np.float32), output_size).astype(HALF)
    N, C, H, W = x.shape
    y = np.empty((N, C, *output_size), x.dtype)
    _run(_mean, N * C, x.size, np.ascontiguousarray(x), y, *_adaptive_tables(H, W, *output_size))
    return y


def adaptive_avg_backward(gy, x_shape):
    """Shapes: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    gx = np.zeros(x_shape, gy.dtype)
    tables = _adaptive_tables(*x_shape[2:], *gy.shape[2:])
    if gy.dtype == HALF:                        # PyTorch divides by the height, then the width
        hb, wb, _ = tables
        return _mean_backward_half(gy, gx, hb, wb,
                                   lambda g, oh, ow: _div(_div(g, hb[2, oh]), wb[2, ow]))
    _run(_mean_backward, gx.shape[0] * gx.shape[1], gx.size, np.ascontiguousarray(gy), gx,
         *tables)
    return gx
