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
from ._jit import njit, run_tasks
from .spec import ConvSpec

# Tasks below this many multiply-adds run serially: waking the threads costs tens of
# microseconds, more than a tiny conv takes (the same trade-off as im2col.PARALLEL_MIN).
PARALLEL_MIN = 1 << 16


def supports(spec: ConvSpec) -> bool:
    """Depthwise: one input channel per group, any channel multiplier, stride, padding, dilation."""
    return spec.groups == spec.C and spec.O % spec.C == 0


@njit
def _copy(dst, src):
    """dst[...] = src for 2-d arrays of one shape. Slice assignment would check the shapes, and
    its error message alone took seconds to compile (4.4 s of a cold first conv, measured)."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


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


# One task per (n, c) plane (per output for gw, which sums over n): each writes only its own
# outputs, so no atomics are needed. The planes are dealt out in BLOCKS runs with one set of
# scratch planes each: allocating two zeroed planes per task cost about as much as the work.
BLOCKS = 16


# Forward and grad_input each have their own loop over planes, two function levels deep: Numba
# re-optimises a callee inside every caller, and the earlier four levels with both ops in one
# body took 7 s to compile for a first depthwise forward (now about 2).
@njit
def _fwd_run(b0, b1, x, w, y, g):
    """Blocks b0 <= blk < b1 of the (n, c) planes of y, each from its zero-padded input plane.

    Stride 1 runs in the "wide" layout, rows Wp long, flattened: output q = oh * Wp + ow reads
    buffer q + i*dh*Wp + j*dw, so every tap is ONE loop over OH * Wp elements (56-wide rows
    left a 24-element scalar tail per row after 32-wide vector blocks, and the flat loop ran
    1.9x faster per plane: 1.8 vs 3.4 ms per 512 planes). Columns ow >= OW are junk, dropped.
    Shapes: x (N, C, H, W), w (O, 1, KH, KW) -> y (N, O, OH, OW).
    """
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, k, N, C = g
    H, W = x.shape[2], x.shape[3]
    Hp, Wp = _padded(g, H, W)
    buf, wide = np.zeros((Hp, Wp), x.dtype), np.zeros((OH, Wp), x.dtype)
    bf, yw, M = buf.ravel(), wide.ravel(), OH * Wp
    for nc in range(b0 * N * C // BLOCKS, b1 * N * C // BLOCKS):
        n, c = nc // C, nc % C
        _fill(buf, x[n, c], pt, pl)                 # its padding stays zero
        for o in range(c * k, c * k + k):
            if sh == 1 and sw == 1:
                yw[:] = 0
                for i in range(KH):
                    for j in range(KW):
                        src, wij = bf[i * dh * Wp + j * dw:], w[o, 0, i, j]
                        for q in range(M):
                            yw[q] += wij * src[q]
                _copy(y[n, o], wide[:, :OW])
            else:
                y[n, o] = 0
                for i in range(KH):
                    for j in range(KW):
                        for oh in range(OH):
                            _rows_madd(y[n, o, oh], buf[oh * sh + i * dh, j * dw:], w[o, 0, i, j],
                                       sw, OW)


@njit
def _gx_run(b0, b1, gy, w, gx, g):
    """Blocks b0 <= blk < b1 of the (n, c) planes of gx: each output of the plane's channel
    scatters w * gy back onto the padded plane it read (the wide layout at stride 1, gy's junk
    columns zero), which is then cropped.
    Shapes: gy (N, O, OH, OW), w (O, 1, KH, KW) -> gx (N, C, H, W).
    """
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, k, N, C = g
    H, W = gx.shape[2], gx.shape[3]
    Hp, Wp = _padded(g, H, W)
    buf, wide = np.empty((Hp, Wp), gy.dtype), np.zeros((OH, Wp), gy.dtype)
    bf, yw, M = buf.ravel(), wide.ravel(), OH * Wp
    for nc in range(b0 * N * C // BLOCKS, b1 * N * C // BLOCKS):
        n, c = nc // C, nc % C
        buf[:] = 0
        for o in range(c * k, c * k + k):
            if sh == 1 and sw == 1:
                _copy(wide[:, :OW], gy[n, o])       # its junk columns stay 0
                for i in range(KH):
                    for j in range(KW):
                        src, wij = bf[i * dh * Wp + j * dw:], w[o, 0, i, j]
                        for q in range(M):
                            src[q] += wij * yw[q]
            else:
                for i in range(KH):
                    for j in range(KW):
                        for oh in range(OH):
                            _rows_scatter(buf[oh * sh + i * dh, j * dw:], gy[n, o, oh],
                                          w[o, 0, i, j], sw, OW)
        _copy(gx[n, c], buf[pt:pt + H, pl:pl + W])


@njit
def _gw_task(x, gy, gw, o, g):
    """gw[o] of a strided conv, summed over the batch; output o reads input channel o // k.

    Lane-wise partial sums acc[tap, oh, ow] += gy * x over n and rows vectorise like the forward
    (a plain dot product would not: fastmath is off); the lanes are summed once per tap at the end.
    One task per output, not per input channel: MNIST's conv1 (C = 1, k = 32) ran on one core.
    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, 1, KH, KW).
    """
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, k, N = g[:12]
    H, W, T, c = x.shape[2], x.shape[3], KH * KW, o // k
    Hp, Wp = _padded(g, H, W)
    acc = np.zeros((T, OH, OW), x.dtype)
    buf = np.zeros((Hp, Wp), x.dtype)
    for n in range(N):
        _fill(buf, x[n, c], pt, pl)                 # its padding stays zero
        for t in range(T):
            i, j = t // KW, t % KW
            for oh in range(OH):
                _rows_dot(acc[t, oh], gy[n, o, oh], buf[oh * sh + i * dh, j * dw:], sw, OW)
    for t in range(T):                      # the lanes' sums, added up in float64
        lanes, total = acc[t].ravel(), 0.0
        for q in range(OH * OW):
            total += lanes[q]
        gw[o, 0, t // KW, t % KW] = total


# grad_weight at stride 1 sums over lanes of LANES partial sums (see _gw_unit).
LANES = 256


@njit
def _gw_unit(x, gy, gw, o, g, X, G, acc):
    """gw[o] of a stride-1 conv: every sample's padded plane stacked into X and its gy, laid out
    wide (Wp per row, zero in the junk columns and rows), into G, so that each tap is ONE loop
    over the whole batch, q in [0, N * Hp * Wp): gw[o, tap] = sum of G[q] * X[q + offset(tap)].
    The loop adds into LANES lane-wise partial sums, which vectorise (fastmath is off), summed
    in float64 at the end. A loop per sample and tap cost more than its work on small planes
    (MobileNetV2's 960 x 2x2 and 576 x 4x4 planes at batch 64: 33 -> 8.4 and 21 -> 6.2 ms,
    one thread).
    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, 1, KH, KW); X ((N + 1) * Hp * Wp,), G
    (N * Hp * Wp,) zero outside what this writes; acc (LANES,).
    """
    KH, KW, _, _, dh, dw, pt, pl, OH, OW, k, N = g[:12]
    H, W, c = x.shape[2], x.shape[3], o // k
    Hp, Wp = _padded(g, H, W)
    S = Hp * Wp
    for n in range(N):
        _fill(X[n * S:(n + 1) * S].reshape(Hp, Wp), x[n, c], pt, pl)
        _fill(G[n * S:(n + 1) * S].reshape(Hp, Wp), gy[n, o], 0, 0)
    M = N * S
    for i in range(KH):
        for j in range(KW):
            src = X[i * dh * Wp + j * dw:]
            acc[:] = 0
            for q0 in range(0, M, LANES):
                a, b = G[q0:q0 + LANES], src[q0:q0 + LANES]
                for q in range(min(LANES, M - q0)):
                    acc[q] += a[q] * b[q]
            total = 0.0
            for q in range(LANES):
                total += acc[q]
            gw[o, 0, i, j] = total


@njit
def _padded(g, H, W):
    """(Hp, Wp): a plane big enough for every tap, the crop back and (stride 1) the junk columns."""
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW = g[:10]
    Hp = max((OH - 1) * sh + (KH - 1) * dh + 1, pt + H) + 1     # +1: stride-1 junk overrun
    Wp = max((OW - 1) * sw + (KW - 1) * dw + 1, pl + W)
    return Hp, Wp


@njit
def _fill(buf, plane, pt, pl):
    """Copy the plane into buf at (pt, pl); the rest of buf, its padding, is left as it is
    (zero, never written: zeroing a 4x4 plane's 7x6 buffer for each sample wrote 2.6x what
    the copy writes). Shapes: buf (Hp, Wp), plane (H, W)."""
    for h in range(plane.shape[0]):
        for w in range(plane.shape[1]):
            buf[pt + h, pl + w] = plane[h, w]


@njit
def _gw_run(o0, o1, x, gy, gw, g):
    if g[2] == 1 and g[3] == 1:                 # stride 1: the whole batch in one stack
        Hp, Wp = _padded(g, x.shape[2], x.shape[3])
        S = Hp * Wp
        X, G = np.zeros((g[11] + 1) * S, x.dtype), np.zeros(g[11] * S, x.dtype)
        acc = np.empty(LANES, x.dtype)
        for o in range(o0, o1):
            _gw_unit(x, gy, gw, o, g, X, G, acc)
    else:
        for o in range(o0, o1):
            _gw_task(x, gy, gw, o, g)


def _run(op, a, b, out, spec):
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    g = (spec.KH, spec.KW, sh, sw, dh, dw, pt, pl, spec.OH, spec.OW, spec.O // spec.C,
         spec.N, spec.C)
    a, b, par = np.ascontiguousarray(a), np.ascontiguousarray(b, a.dtype), spec.macs >= PARALLEL_MIN
    if op == 2:
        run_tasks(_gw_run, spec.O, a, b, out, g, parallel=par)
    else:
        run_tasks(_gx_run if op else _fwd_run, BLOCKS, a, b, out, g, parallel=par)
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
