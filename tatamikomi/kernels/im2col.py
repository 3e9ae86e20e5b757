"""im2col + GEMM: copy every receptive field into a column matrix, then one matmul does the conv.

The copy (im2col) and its adjoint (col2im, a scatter-add) are parallel Numba loops over (n, c);
the GEMMs are NumPy matmul (OpenBLAS). Runs every spec: stride, uneven padding, dilation, groups.
"""
import threading

import numpy as np

from ._jit import njit, prange
from .spec import ConvSpec

# The column matrix holds KH*KW copies of the input, so the batch is processed in chunks whose
# column buffer stays under this cap: a large input costs at most this much extra memory, and the
# buffer is reused across calls (a fresh one this size would page-fault on every call).
WORKSPACE_BYTES = 64 << 20

# Below this many output pixels per sample, grad_weight's per-sample GEMMs (inner size OH*OW)
# are too thin for BLAS and one GEMM over the chunk wins (2-2.5x at 7x7 and 14x14, measured);
# at 28x28 and above the two are even or per-sample wins. Forward and grad_input stay
# per-sample everywhere: one (O, R) @ (R, N*P) GEMM was a wash at best, 3x slower at K = 9.
BIG_GEMM_PIXELS = 512

_local = threading.local()              # one workspace per thread: two threads may convolve at once


def supports(spec: ConvSpec) -> bool:
    """Every valid spec."""
    return True


def _workspace(size, dtype):
    """A reused flat buffer of at least `size` elements of `dtype` (contents are garbage)."""
    buf = getattr(_local, "buf", None)
    nbytes = size * np.dtype(dtype).itemsize
    if buf is None or buf.nbytes < nbytes:
        buf = _local.buf = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype)


@njit
def _span(n_out, pad, tap_off, step, n_in):
    """The outputs o in [lo, hi) whose input o * step + tap_off - pad lies in [0, n_in)."""
    lo = max(0, -(-(pad - tap_off) // step))
    hi = min(n_out, -(-(n_in + pad - tap_off) // step))
    return lo, max(lo, hi)


@njit(parallel=True)
def _im2col(x, col, geom, rs):
    """col[n*rs_n + g*rs_g + r*rs_r, oh*OW + ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw].

    r = (c % (C//G)) * KH*KW + i*KW + j, matching w.reshape(O, -1); out-of-image pixels are 0.
    Shapes: x (N, C, H, W) -> col (rows, OH * OW).
    """
    N, C, H, W = x.shape
    KH, KW, sh, sw, dh, dw, pt, pl, G, OH, OW = geom
    rs_n, rs_g, rs_r = rs
    Cg = C // G
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for i in range(KH):
            oh0, oh1 = _span(OH, pt, i * dh, sh, H)
            for j in range(KW):
                ow0, ow1 = _span(OW, pl, j * dw, sw, W)
                d = col[n * rs_n + (c // Cg) * rs_g + ((c % Cg) * KH * KW + i * KW + j) * rs_r]
                d[:oh0 * OW] = 0
                d[oh1 * OW:] = 0
                iw0 = ow0 * sw + j * dw - pl
                for oh in range(oh0, oh1):
                    s = x[n, c, oh * sh + i * dh - pt, iw0:]
                    o = d[oh * OW: (oh + 1) * OW]
                    o[:ow0] = 0
                    o[ow1:] = 0
                    o = o[ow0:ow1]
                    if sw == 1:                 # unit stride: a plain copy that vectorises
                        for k in range(ow1 - ow0):
                            o[k] = s[k]
                    else:
                        for k in range(ow1 - ow0):
                            o[k] = s[k * sw]


@njit(parallel=True)
def _col2im(col, gx, geom, rs):
    """The adjoint of _im2col: gx[n, c, ...] = sum of the column entries that copied that pixel.

    Each (n, c) plane is owned by one thread, so the scatter-add needs no atomics.
    Shapes: col (rows, OH * OW) -> gx (N, C, H, W).
    """
    N, C, H, W = gx.shape
    KH, KW, sh, sw, dh, dw, pt, pl, G, OH, OW = geom
    rs_n, rs_g, rs_r = rs
    Cg = C // G
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        gx[n, c] = 0
        for i in range(KH):
            oh0, oh1 = _span(OH, pt, i * dh, sh, H)
            for j in range(KW):
                ow0, ow1 = _span(OW, pl, j * dw, sw, W)
                d = col[n * rs_n + (c // Cg) * rs_g + ((c % Cg) * KH * KW + i * KW + j) * rs_r]
                iw0 = ow0 * sw + j * dw - pl
                for oh in range(oh0, oh1):
                    t = gx[n, c, oh * sh + i * dh - pt, iw0:]
                    s = d[oh * OW + ow0: oh * OW + ow1]
                    if sw == 1:
                        for k in range(ow1 - ow0):
                            t[k] += s[k]
                    else:
                        for k in range(ow1 - ow0):
                            t[k * sw] += s[k]


def _chunks(spec, dtype, big=False):
    """Yield (n0, n1, col, rs, geom): a column buffer for samples [n0, n1), its row strides.

    Per-sample layout col (Nc, G, R, P): y[n, g] = w[g] @ col[n, g] lands in NCHW directly.
    Big layout col (G, R, Nc, P): one GEMM per group sums grad_weight over the whole chunk.
    Shapes: R = C//G * KH * KW, P = OH * OW; col is returned as (rows, P).
    """
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    G, R, P = spec.groups, spec.C // spec.groups * spec.KH * spec.KW, spec.OH * spec.OW
    geom = (spec.KH, spec.KW, sh, sw, dh, dw, pt, pl, G, spec.OH, spec.OW)
    chunk = max(1, min(spec.N, WORKSPACE_BYTES // (G * R * P * np.dtype(dtype).itemsize)))
    for n0 in range(0, spec.N, chunk):
        Nc = min(chunk, spec.N - n0)
        col = _workspace(Nc * G * R * P, dtype).reshape(-1, P)
        yield n0, n0 + Nc, col, ((1, R * Nc, Nc) if big else (G * R, R, 1)), geom


def forward(x, w, spec):
    """y[n] = w @ im2col(x[n]) for each sample (and group) of each chunk.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW) -> y (N, O, OH, OW).
    """
    G, O, P = spec.groups, spec.O, spec.OH * spec.OW
    x, wg = np.ascontiguousarray(x), w.reshape(G, O // G, -1)
    y = np.empty((spec.N, G, O // G, P), x.dtype)
    for n0, n1, col, rs, geom in _chunks(spec, x.dtype):
        _im2col(x[n0:n1], col, geom, rs)
        np.matmul(wg, col.reshape(n1 - n0, G, -1, P), out=y[n0:n1])
    return y.reshape(spec.y_shape)


def grad_input(gy, w, spec):
    """gx = col2im(w^T @ gy): the transpose of the forward GEMM, then the scatter-add.

    Shapes: gy (N, O, OH, OW), w (O, C // groups, KH, KW) -> gx (N, C, H, W).
    """
    G, O, P = spec.groups, spec.O, spec.OH * spec.OW
    wt = w.reshape(G, O // G, -1).transpose(0, 2, 1)                    # (G, R, O//G), no copy
    gy = np.ascontiguousarray(gy).reshape(spec.N, G, O // G, P)
    # One output channel per group (depthwise) makes the GEMM an outer product: a broadcast
    # multiply is ~4x faster than the many tiny GEMMs matmul would dispatch (measured).
    product = np.multiply if O == G else np.matmul
    gx = np.empty(spec.x_shape, gy.dtype)
    for n0, n1, col, rs, geom in _chunks(spec, gy.dtype):
        product(wt, gy[n0:n1], out=col.reshape(n1 - n0, G, -1, P))
        _col2im(col, gx[n0:n1], geom, rs)
    return gx


def grad_weight(x, gy, spec):
    """gw = sum over chunks of gy @ im2col(x)^T.

    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C // groups, KH, KW).
    """
    G, O, P = spec.groups, spec.O, spec.OH * spec.OW
    x, gy = np.ascontiguousarray(x), np.ascontiguousarray(gy).reshape(spec.N, G, O // G, P)
    gw = np.zeros((G, O // G, spec.C // G * spec.KH * spec.KW), x.dtype)
    # Small images make per-sample GEMMs thin (inner size P): the big layout sums the whole
    # chunk in one GEMM per group, at the price of a transposed copy of gy (the small operand).
    big = P < BIG_GEMM_PIXELS
    for n0, n1, col, rs, geom in _chunks(spec, x.dtype, big):
        _im2col(x[n0:n1], col, geom, rs)
        Nc = n1 - n0
        if big:
            gyc = np.ascontiguousarray(gy[n0:n1].transpose(1, 2, 0, 3)).reshape(G, -1, Nc * P)
            gw += np.matmul(gyc, col.reshape(G, -1, Nc * P).transpose(0, 2, 1))
        else:
            gw += np.matmul(gy[n0:n1], col.reshape(Nc, G, -1, P).transpose(0, 1, 3, 2)).sum(0)
    return gw.reshape(spec.w_shape)
