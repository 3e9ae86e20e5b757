"""Depthwise convolution (groups == C, O = k * C) as direct Numba loops over (n, c) planes.

A depthwise conv does KH*KW multiply-adds per output and no channel contraction, so a GEMM has
nothing to chew on: im2col spent its time copying a 9x column buffer (~5x PyTorch, measured).
Here each (n, c) task copies its plane once into a zero-padded buffer, so the inner loops have
no bounds checks and index with `row[ow]` (unit stride) or `row[ow * sw]`: the unit-stride loop
is a separate branch because Numba vectorises only when the index is provably non-negative and
affine with a constant step (PERF_NOTES trap 3). Every tap is a row-wide multiply-add, so no
floating-point reduction sits in an inner loop (fastmath is off; those would not vectorise).
"""
import numpy as np

from ._jit import njit, prange
from .spec import ConvSpec

# Tasks below this many multiply-adds run serially: waking Numba's pool costs tens of
# microseconds, more than a tiny conv takes (the same trade-off as im2col.PARALLEL_MIN).
PARALLEL_MIN = 1 << 16


def supports(spec: ConvSpec) -> bool:
    """Depthwise: one input channel per group, any channel multiplier, stride, padding, dilation."""
    return spec.groups == spec.C and spec.O % spec.C == 0


@njit
def _rows_madd(acc, row, wij, sw, n):
    """acc[ow] += wij * row[ow * sw] for ow < n; the sw == 1 branch vectorises."""
    if sw == 1:
        for ow in range(n):
            acc[ow] += wij * row[ow]
    else:
        for ow in range(n):
            acc[ow] += wij * row[ow * sw]


@njit
def _rows_scatter(dst, src, wij, sw, n):
    """dst[ow * sw] += wij * src[ow] for ow < n: the adjoint of _rows_madd."""
    if sw == 1:
        for ow in range(n):
            dst[ow] += wij * src[ow]
    else:
        for ow in range(n):
            dst[ow * sw] += wij * src[ow]


@njit
def _rows_dot(acc, g, row, sw, n):
    """acc[ow] += g[ow] * row[ow * sw]: a lane-wise partial dot product, summed later."""
    if sw == 1:
        for ow in range(n):
            acc[ow] += g[ow] * row[ow]
    else:
        for ow in range(n):
            acc[ow] += g[ow] * row[ow * sw]


@njit
def _task_unit(op, a, b, out, n, c, g):
    """One (n, c) plane of a stride-1 conv in the "wide" layout: rows Wp long, flattened.

    Output q = oh * Wp + ow reads buffer q + i*dh*Wp + j*dw, so every tap is ONE loop over
    OH * Wp elements: 56-wide rows left a 24-element scalar tail per row after 32-wide vector
    blocks, and the flat loop ran 1.9x faster per plane (1.8 vs 3.4 ms per 512 planes, timed
    in one process). Columns ow >= OW are junk in y and zero in gy, then dropped.
    Shapes: op 0 a=x, b=w, out=y; op 1 a=gy, b=w, out=gx.
    """
    KH, KW, _, _, dh, dw, pt, pl, OH, OW, k = g[:11]
    H, W = (a.shape[2], a.shape[3]) if op == 0 else (out.shape[2], out.shape[3])
    buf = _buffer(a, n, c, g, H, W, op == 0)
    Wp = buf.shape[1]
    bf, M = buf.ravel(), OH * Wp
    wide = np.zeros((OH, Wp), a.dtype)
    yw = wide.ravel()
    for o in range(c * k, c * k + k):
        if op == 0:
            yw[:] = 0
        else:
            wide[:, :OW] = a[n, o]
        for i in range(KH):
            for j in range(KW):
                src = bf[i * dh * Wp + j * dw:]
                wij = b[o, 0, i, j]
                if op == 0:
                    for q in range(M):
                        yw[q] += wij * src[q]
                else:
                    for q in range(M):
                        src[q] += wij * yw[q]
        if op == 0:
            out[n, o] = wide[:, :OW]
    if op == 1:
        out[n, c] = buf[pt:pt + H, pl:pl + W]


@njit
def _task(op, a, b, out, n, c, g):
    """One (n, c) plane, any stride: row-wise loops (ops as in _task_unit)."""
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, k = g[:11]
    if sh == 1 and sw == 1:
        _task_unit(op, a, b, out, n, c, g)
        return
    H, W = (a.shape[2], a.shape[3]) if op == 0 else (out.shape[2], out.shape[3])
    buf = _buffer(a, n, c, g, H, W, op == 0)
    for o in range(c * k, c * k + k):
        if op == 0:
            out[n, o] = 0
        for i in range(KH):
            for j in range(KW):
                for oh in range(OH):
                    row = buf[oh * sh + i * dh, j * dw:]
                    if op == 0:
                        _rows_madd(out[n, o, oh], row, b[o, 0, i, j], sw, OW)
                    else:
                        _rows_scatter(row, a[n, o, oh], b[o, 0, i, j], sw, OW)
    if op == 1:
        out[n, c] = buf[pt:pt + H, pl:pl + W]


@njit
def _gw_task(x, gy, gw, c, g):
    """gw[o] for the k outputs of channel c, summed over the batch.

    Lane-wise partial sums acc[tap, oh, ow] += gy * x over n and rows vectorise like the forward
    (a plain dot product would not: fastmath is off); the lanes are summed once per tap at the end.
    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, 1, KH, KW).
    """
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, k, N = g[:12]
    H, W, T = x.shape[2], x.shape[3], KH * KW
    unit = sh == 1 and sw == 1
    Wq = _buffer(x, 0, c, g, H, W, False).shape[1] if unit else OW
    acc = np.zeros((k * T, OH, Wq), x.dtype)
    wide = np.zeros((OH, Wq), x.dtype)
    yw = wide.ravel()
    for n in range(N):
        buf = _buffer(x, n, c, g, H, W, True)
        bf = buf.ravel()
        for m in range(k):
            wide[:, :OW] = gy[n, c * k + m]
            for t in range(T):
                i, j = t // KW, t % KW
                if unit:
                    dst, src = acc[m * T + t].ravel(), bf[i * dh * Wq + j * dw:]
                    for q in range(OH * Wq):
                        dst[q] += yw[q] * src[q]
                else:
                    for oh in range(OH):
                        _rows_dot(acc[m * T + t, oh], wide[oh], buf[oh * sh + i * dh, j * dw:],
                                  sw, OW)
    for r in range(k * T):
        gw[c * k + r // T, 0, (r % T) // KW, r % KW] = acc[r].sum(axis=0).sum()


@njit
def _buffer(a, n, c, g, H, W, fill):
    """A zeroed plane big enough for every tap, the crop back and (stride 1) the junk columns.

    With fill, plane a[n, c] is copied in at the padding offset.
    """
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW = g[:10]
    Hp = max((OH - 1) * sh + (KH - 1) * dh + 1, pt + H) + 1     # +1: stride-1 junk overrun
    Wp = max((OW - 1) * sw + (KW - 1) * dw + 1, pl + W)
    buf = np.zeros((Hp, Wp), a.dtype)
    if fill:
        buf[pt:pt + H, pl:pl + W] = a[n, c]
    return buf


# One task per (n, c) plane (per c for gw, which sums over n): each writes only its own
# outputs, so no atomics are needed.
@njit(parallel=True)
def _run_par(op, a, b, out, g):
    N, C = g[11], g[12]
    if op == 2:
        for c in prange(C):
            _gw_task(a, b, out, c, g)
    else:
        for nc in prange(N * C):
            _task(op, a, b, out, nc // C, nc % C, g)


@njit
def _run_one(op, a, b, out, g):
    N, C = g[11], g[12]
    if op == 2:
        for c in range(C):
            _gw_task(a, b, out, c, g)
    else:
        for nc in range(N * C):
            _task(op, a, b, out, nc // C, nc % C, g)


def _run(op, a, b, out, spec):
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    g = (spec.KH, spec.KW, sh, sw, dh, dw, pt, pl, spec.OH, spec.OW, spec.O // spec.C,
         spec.N, spec.C)
    run = _run_par if spec.macs >= PARALLEL_MIN else _run_one
    run(op, np.ascontiguousarray(a), np.ascontiguousarray(b, a.dtype), out, g)
    return out


def forward(x, w, spec):
    """y[n, o] = sum over taps of w[o, 0, i, j] * xpad[n, o // k, oh*sh + i*dh, ow*sw + j*dw].

    Shapes: x (N, C, H, W), w (O, 1, KH, KW) -> y (N, O, OH, OW).
    """
    return _run(0, x, w, np.empty(spec.y_shape, x.dtype), spec)


def grad_input(gy, w, spec):
    """Each output scatters w * gy back onto the pixels it read; the padding is cut off.

    Shapes: gy (N, O, OH, OW), w (O, 1, KH, KW) -> gx (N, C, H, W).
    """
    return _run(1, gy, w, np.empty(spec.x_shape, gy.dtype), spec)


def grad_weight(x, gy, spec):
    """gw[o, 0, i, j] = sum over n, oh, ow of gy[n, o, oh, ow] * xpad[n, o // k, ...].

    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, 1, KH, KW).
    """
    return _run(2, x, gy, np.empty(spec.w_shape, x.dtype), spec)
