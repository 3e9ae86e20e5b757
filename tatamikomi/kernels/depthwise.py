"""Depthwise convolution (groups == C, O = k * C) as direct Numba loops over (n, c) planes.

A depthwise conv does KH*KW multiply-adds per output and no channel contraction, so a GEMM has
nothing to chew on: im2col spent its time copying a 9x column buffer (~5x PyTorch, measured).
Here each (n, c) task copies its plane once into a zero-padded buffer, so the inner loops have
no bounds checks and index with `row[ow]` (unit stride) or `row[ow * sw]`: the unit-stride loop
is a separate branch because Numba vectorises only when the index is provably non-negative and
affine with a constant step. Every tap is a row-wide multiply-add, so no floating-point
reduction sits in an inner loop (fastmath is off; those would not vectorise).
"""
import numpy as np

from . import im2col
from ._finite import finite, nan_free
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
def _task_unit(op, a, b, out, n, c, g, buf, wide):
    """One (n, c) plane of a stride-1 conv in the "wide" layout: rows Wp long, flattened.

    Output q = oh * Wp + ow reads buffer q + i*dh*Wp + j*dw, so every tap is ONE loop over
    OH * Wp elements: 56-wide rows left a 24-element scalar tail per row after 32-wide vector
    blocks, and the flat loop ran 1.9x faster per plane (1.8 vs 3.4 ms per 512 planes, timed
    in one process). Columns ow >= OW are junk in y and zero in gy, then dropped.
    Shapes: op 0 a=x, b=w, out=y; op 1 a=gy, b=w, out=gx.
    """
    KH, KW, _, _, dh, dw, pt, pl, OH, OW, k = g[:11]
    H, W = (a.shape[2], a.shape[3]) if op == 0 else (out.shape[2], out.shape[3])
    _fill(buf, a, n, c, g, H, W, op == 0)
    Wp = buf.shape[1]
    bf, M = buf.ravel(), OH * Wp
    yw = wide.ravel()                       # its junk columns stay 0 for op 1 (never written)
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
def _task(op, a, b, out, n, c, g, buf, wide):
    """One (n, c) plane, any stride: row-wise loops (ops as in _task_unit); buf, wide: scratch."""
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, k = g[:11]
    if sh == 1 and sw == 1:
        _task_unit(op, a, b, out, n, c, g, buf, wide)
        return
    H, W = (a.shape[2], a.shape[3]) if op == 0 else (out.shape[2], out.shape[3])
    _fill(buf, a, n, c, g, H, W, op == 0)
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
def _gw_task(x, gy, gw, o, g):
    """gw[o], summed over the batch; output o reads input channel o // k.

    Lane-wise partial sums acc[tap, oh, ow] += gy * x over n and rows vectorise like the forward
    (a plain dot product would not: fastmath is off); the lanes are summed once per tap at the end.
    One task per output, not per input channel: MNIST's conv1 (C = 1, k = 32) ran on one core.
    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, 1, KH, KW).
    """
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, k, N = g[:12]
    H, W, T, c = x.shape[2], x.shape[3], KH * KW, o // k
    unit = sh == 1 and sw == 1
    Hp, Wp = _padded(g, H, W)
    Wq = Wp if unit else OW
    acc = np.zeros((T, OH, Wq), x.dtype)
    wide = np.zeros((OH, Wq), x.dtype)
    yw = wide.ravel()
    buf = np.empty((Hp, Wp), x.dtype)
    for n in range(N):
        _fill(buf, x, n, c, g, H, W, True)
        bf = buf.ravel()
        wide[:, :OW] = gy[n, o]
        for t in range(T):
            i, j = t // KW, t % KW
            if unit:
                dst, src = acc[t].ravel(), bf[i * dh * Wq + j * dw:]
                for q in range(OH * Wq):
                    dst[q] += yw[q] * src[q]
            else:
                for oh in range(OH):
                    _rows_dot(acc[t, oh], wide[oh], buf[oh * sh + i * dh, j * dw:], sw, OW)
    for t in range(T):
        gw[o, 0, t // KW, t % KW] = acc[t].sum(axis=0).sum()


@njit
def _padded(g, H, W):
    """(Hp, Wp): a plane big enough for every tap, the crop back and (stride 1) the junk columns."""
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW = g[:10]
    Hp = max((OH - 1) * sh + (KH - 1) * dh + 1, pt + H) + 1     # +1: stride-1 junk overrun
    Wp = max((OW - 1) * sw + (KW - 1) * dw + 1, pl + W)
    return Hp, Wp


@njit
def _fill(buf, a, n, c, g, H, W, fill):
    """Zero buf (Hp, Wp); with fill, copy plane a[n, c] in at the padding offset."""
    pt, pl = g[6], g[7]
    buf[:] = 0
    if fill:
        buf[pt:pt + H, pl:pl + W] = a[n, c]


# One task per (n, c) plane (per output for gw, which sums over n): each writes only its own
# outputs, so no atomics are needed. The planes are dealt out in BLOCKS runs with one set of
# scratch planes each: allocating two zeroed planes per task cost about as much as the work.
BLOCKS = 16


@njit
def _planes(op, a, b, out, g, lo, hi):
    """Planes nc in [lo, hi) of a forward (op 0) or grad_input (op 1), sharing scratch."""
    C = g[12]
    H, W = (a.shape[2], a.shape[3]) if op == 0 else (out.shape[2], out.shape[3])
    Hp, Wp = _padded(g, H, W)
    buf, wide = np.empty((Hp, Wp), a.dtype), np.zeros((g[8], Wp), a.dtype)
    for nc in range(lo, hi):
        _task(op, a, b, out, nc // C, nc % C, g, buf, wide)


@njit(parallel=True)
def _run_par(op, a, b, out, g):
    N, C = g[11], g[12]
    if op == 2:
        for o in prange(C * g[10]):
            _gw_task(a, b, out, o, g)
    else:
        for blk in prange(BLOCKS):
            _planes(op, a, b, out, g, blk * N * C // BLOCKS, (blk + 1) * N * C // BLOCKS)


@njit
def _run_one(op, a, b, out, g):
    N, C = g[11], g[12]
    if op == 2:
        for o in range(C * g[10]):
            _gw_task(a, b, out, o, g)
    else:
        _planes(op, a, b, out, g, 0, N * C)


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
    if not finite(w):                       # the planes' padding zeros times inf: _finite.py
        return im2col.forward(x, w, spec)
    return _run(0, x, w, np.empty(spec.y_shape, x.dtype), spec)


def grad_input(gy, w, spec):
    """Each output scatters w * gy back onto the pixels it read; the padding is cut off.

    Shapes: gy (N, O, OH, OW), w (O, 1, KH, KW) -> gx (N, C, H, W).
    """
    if not finite(w):                       # gy's zero junk columns times inf
        return im2col.grad_input(gy, w, spec)
    return _run(1, gy, w, np.empty(spec.x_shape, gy.dtype), spec)


def grad_weight(x, gy, spec):
    """gw[o, 0, i, j] = sum over n, oh, ow of gy[n, o, oh, ow] * xpad[n, o // k, ...].

    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, 1, KH, KW).
    """
    gw = _run(2, x, gy, np.empty(spec.w_shape, x.dtype), spec)
    # NaN if gy's inf met padding's zeros, or x's inf met the zeros of gy's junk columns
    return gw if nan_free(gw) else im2col.grad_weight(x, gy, spec)
