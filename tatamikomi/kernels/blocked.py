"""Register-blocked direct convolution: a tile of 8 outputs x 3 vectors of pixels stays in 24
vector registers for the whole reduction over (channel, tap); no column matrix.

The trick that makes every tap one contiguous load: each input plane is copied once, zero-padded,
into a row of length PL, and the output is computed "wide", as if it had the padded width Wp.
Output pixel q = oh * Wp + ow then reads input q + kh*dh*Wp + kw*dw for tap (kh, kw), a fixed
offset per tap, so a vector of consecutive q runs across row ends into columns that are thrown
away (Wp - OW of every Wp: 2-12 % of the work on the suite's 3x3 shapes). The tile stores its
valid lanes straight into y, packed by a compress-store where a vector straddles a row end (MNIST
conv2 forward 2.9 -> 2.55 ms against a wide buffer cropped afterwards). Each (channel, tap) step
loads 3 input vectors and 8 weights and does 24 FMAs, which keeps both FMA ports busy: 230-290
GFLOP/s on 2 cores where OpenBLAS reaches 290-330 on square GEMMs, against 140-150 for im2col's
thin GEMMs on layers with 16-64 outputs per group (a prototype's forward: 8x3 tiles beat 8x2,
6x4, 4x4 and 12x2 by 5-40 %; 12x2 spills registers).

A stride (sh, sw) first splits each padded plane into sh*sw phase planes (_Geometry), after which
every tap is again a fixed offset into one plane. grad_input of a stride-1 conv is itself a
stride-1 conv of gy with the flipped, transposed weights (padding d*(K-1) - p per side, cropping
where that is negative), so it reuses forward; with a stride, each phase of gx is such a conv
over the taps that land on it. grad_weight keeps 8 outputs x 3 taps of partial sums in registers
while streaming pixels of gy laid out wide (zeros in the junk columns), and adds the lanes at the
end. Everything is float32 or float64 as given; the vectors are 64 bytes (_simd), so float64 runs
8 lanes.
"""
import math

import numpy as np

from . import im2col
from ._finite import finite, nan_free
from ._jit import njit, prange
from ._scratch import scratch
from ._simd import lanes, registers_fit, vfma, vload, vsplat, vstore, vstore_packed
from .spec import ConvSpec

# The rules prefer this kernel only where its tiles fit the vector registers (AVX-512).
FAST = registers_fit()

# forward takes bias= and starts its sums from it: no pass over y to add it afterwards (the
# parallel add took 0.2 ms of MNIST conv1's forward, 64x32x28x28).
FUSES_BIAS = True

OB = 8              # outputs per register tile (written out below: a0..a7, b0..b7, c0..c7)
PV = 3              # vectors of pixels per tile, or taps per grad_weight tile
# grad_weight's blocking (_gw_par timed alone): chunks of 4 KiB of pixels beat 1 and 16 KiB
# (GFLOP/s 205 | 241 | 245 at 8x256x14x14 | 8x64x56x56 | 64x32x14x14, against 180 | 198 | 192
# and 194 | 224 | 227).
QC_BYTES = 4096     # grad_weight: pixels per chunk
# A grad_weight task's parked partial sums (1.5 KiB a tile) stay under PART_BYTES, and the pixel
# stream is split until there are TASKS tasks. grad_weight ms at 1 MiB and 4 tasks (one sweep of
# 256 KiB-4 MiB x 2/4/8 tasks): tutorial 5.6, MNIST conv2 3.7, 8x64x56x56 9.3, groups 4 2.9,
# 8x128x28x28 9.8; at 256 KiB 5.7 | 3.8 | 10.7 | 3.1 | 12.2, at 4 MiB 6.2 | 3.6 | 10.0 | 3.1 |
# 10.2; the task counts were within noise of each other.
PART_BYTES = 1 << 20
TASKS = 4

# The padded input and grad_weight's wide gy of this many bytes at most are made per batch chunk
# and reused (as im2col's workspace, and for the same page-fault reason); one sample always fits.
WORKSPACE_BYTES = 16 << 20

# Below this many multiply-adds a call runs serially: waking the thread pool costs tens of
# microseconds (the same trade-off as im2col.PARALLEL_MIN).
PARALLEL_MIN = 1 << 16


def supports(spec: ConvSpec) -> bool:
    """Every valid spec: stride, padding, dilation, groups."""
    return True


# ---- the register tiles ---------------------------------------------------------------------

@njit
def _lanes(q, L, Wp, OW, OH):
    """For the wide pixels q .. q + L - 1: the packed index in (OH, OW) of the first valid one,
    and the bit mask of the valid ones (column < OW, row < OH)."""
    oh = q // Wp
    ow = q - oh * Wp
    d, m = -1, 0
    for lane in range(L):
        if ow < OW and oh < OH:
            if d < 0:
                d = oh * OW + ow
            m |= 1 << lane
        ow += 1
        if ow == Wp:
            ow, oh = 0, oh + 1
    return d, m


@njit
def _put(y, i, d, m, full, v):
    """Store v's valid lanes at y.flat[i + d]: whole if all are valid, else packed."""
    if m == full:
        vstore(y, i + d, v)
    elif m != 0:
        vstore_packed(y, i + d, v, m)


@njit
def _put3(y, i, d0, m0, d1, m1, d2, m2, L, a, b, c):
    full = (1 << L) - 1
    _put(y, i, d0, m0, full, a)
    _put(y, i, d1, m1, full, b)
    _put(y, i, d2, m2, full, c)


@njit
def _fwd_tile(xp, offs, wp, bp, y, t, n0, n, G, V, OBn, nb, PL, Wq, L):
    """y for the 8 outputs of block ob at wide pixels q0 : q0 + 3L, summed over every (c, tap).

    Task t = ((s * G + g) * nb + blk) * OBn + ob: consecutive tasks share the input block.
    Shapes: xp (C*n*PL + tail,) as (C, n, PL), wp (G*OBn*R*8,) as (G, OBn, R, 8),
    bp (G*OBn*8,), y (N, O, OH, OW), offs (R,).
    """
    R = offs.shape[0]
    _, O, OH, OW = y.shape
    Og = O // G
    ob = t % OBn
    k = t // OBn
    blk = k % nb
    k //= nb
    xb = ((k % G) * V * n + k // G) * PL + blk * PV * L        # k = s * G + g
    wi = ((k % G) * OBn + ob) * R * OB
    bi = ((k % G) * OBn + ob) * OB                  # the sums start from the bias
    a0 = b0 = c0 = vsplat(y, bp[bi + 0])
    a1 = b1 = c1 = vsplat(y, bp[bi + 1])
    a2 = b2 = c2 = vsplat(y, bp[bi + 2])
    a3 = b3 = c3 = vsplat(y, bp[bi + 3])
    a4 = b4 = c4 = vsplat(y, bp[bi + 4])
    a5 = b5 = c5 = vsplat(y, bp[bi + 5])
    a6 = b6 = c6 = vsplat(y, bp[bi + 6])
    a7 = b7 = c7 = vsplat(y, bp[bi + 7])
    for r in range(R):
        i = xb + offs[r]
        x0 = vload(xp, i)
        x1 = vload(xp, i + L)
        x2 = vload(xp, i + 2 * L)
        w = vsplat(y, wp[wi])
        a0 = vfma(w, x0, a0); b0 = vfma(w, x1, b0); c0 = vfma(w, x2, c0)  # noqa: E702
        w = vsplat(y, wp[wi + 1])
        a1 = vfma(w, x0, a1); b1 = vfma(w, x1, b1); c1 = vfma(w, x2, c1)  # noqa: E702
        w = vsplat(y, wp[wi + 2])
        a2 = vfma(w, x0, a2); b2 = vfma(w, x1, b2); c2 = vfma(w, x2, c2)  # noqa: E702
        w = vsplat(y, wp[wi + 3])
        a3 = vfma(w, x0, a3); b3 = vfma(w, x1, b3); c3 = vfma(w, x2, c3)  # noqa: E702
        w = vsplat(y, wp[wi + 4])
        a4 = vfma(w, x0, a4); b4 = vfma(w, x1, b4); c4 = vfma(w, x2, c4)  # noqa: E702
        w = vsplat(y, wp[wi + 5])
        a5 = vfma(w, x0, a5); b5 = vfma(w, x1, b5); c5 = vfma(w, x2, c5)  # noqa: E702
        w = vsplat(y, wp[wi + 6])
        a6 = vfma(w, x0, a6); b6 = vfma(w, x1, b6); c6 = vfma(w, x2, c6)  # noqa: E702
        w = vsplat(y, wp[wi + 7])
        a7 = vfma(w, x0, a7); b7 = vfma(w, x1, b7); c7 = vfma(w, x2, c7)  # noqa: E702
        wi += OB
    # Into y directly: each vector's valid lanes, packed, land where its first valid pixel goes.
    s, o = k // G, (k % G) * Og + ob * OB
    q = blk * PV * L
    d0, m0 = _lanes(q, L, Wq, OW, OH)
    d1, m1 = _lanes(q + L, L, Wq, OW, OH)
    d2, m2 = _lanes(q + 2 * L, L, Wq, OW, OH)
    i = ((n0 + s) * O + o) * OH * OW
    n_out = min(OB, Og - ob * OB)               # the last block may hold padded outputs
    _put3(y, i, d0, m0, d1, m1, d2, m2, L, a0, b0, c0)
    if n_out > 1:
        _put3(y, i + 1 * OH * OW, d0, m0, d1, m1, d2, m2, L, a1, b1, c1)
    if n_out > 2:
        _put3(y, i + 2 * OH * OW, d0, m0, d1, m1, d2, m2, L, a2, b2, c2)
    if n_out > 3:
        _put3(y, i + 3 * OH * OW, d0, m0, d1, m1, d2, m2, L, a3, b3, c3)
    if n_out > 4:
        _put3(y, i + 4 * OH * OW, d0, m0, d1, m1, d2, m2, L, a4, b4, c4)
    if n_out > 5:
        _put3(y, i + 5 * OH * OW, d0, m0, d1, m1, d2, m2, L, a5, b5, c5)
    if n_out > 6:
        _put3(y, i + 6 * OH * OW, d0, m0, d1, m1, d2, m2, L, a6, b6, c6)
    if n_out > 7:
        _put3(y, i + 7 * OH * OW, d0, m0, d1, m1, d2, m2, L, a7, b7, c7)


@njit
def _gw_tile(xp, gyw, part, p, xb, o0, o1, o2, i, q0, q1, RL, L):
    """part[p : p + 24L] += lane-wise sums over q in [q0, q1) of gy rows x shifted input rows.

    The 24 partial-sum vectors are (output j, tap t) at p + (3j + t) * L; gy's 8 rows start at
    i, the three taps read xp at xb + o0/o1/o2. Shapes: xp, gyw and part flat.
    """
    a0 = vload(part, p + 0 * L); b0 = vload(part, p + 1 * L); c0 = vload(part, p + 2 * L)  # noqa: E501,E702
    a1 = vload(part, p + 3 * L); b1 = vload(part, p + 4 * L); c1 = vload(part, p + 5 * L)  # noqa: E501,E702
    a2 = vload(part, p + 6 * L); b2 = vload(part, p + 7 * L); c2 = vload(part, p + 8 * L)  # noqa: E501,E702
    a3 = vload(part, p + 9 * L); b3 = vload(part, p + 10 * L); c3 = vload(part, p + 11 * L)  # noqa: E501,E702
    a4 = vload(part, p + 12 * L); b4 = vload(part, p + 13 * L); c4 = vload(part, p + 14 * L)  # noqa: E501,E702
    a5 = vload(part, p + 15 * L); b5 = vload(part, p + 16 * L); c5 = vload(part, p + 17 * L)  # noqa: E501,E702
    a6 = vload(part, p + 18 * L); b6 = vload(part, p + 19 * L); c6 = vload(part, p + 20 * L)  # noqa: E501,E702
    a7 = vload(part, p + 21 * L); b7 = vload(part, p + 22 * L); c7 = vload(part, p + 23 * L)  # noqa: E501,E702
    for q in range(q0, q1, L):
        x0 = vload(xp, xb + o0 + q)
        x1 = vload(xp, xb + o1 + q)
        x2 = vload(xp, xb + o2 + q)
        y = vload(gyw, i + 0 * RL + q)
        a0 = vfma(y, x0, a0); b0 = vfma(y, x1, b0); c0 = vfma(y, x2, c0)  # noqa: E702
        y = vload(gyw, i + 1 * RL + q)
        a1 = vfma(y, x0, a1); b1 = vfma(y, x1, b1); c1 = vfma(y, x2, c1)  # noqa: E702
        y = vload(gyw, i + 2 * RL + q)
        a2 = vfma(y, x0, a2); b2 = vfma(y, x1, b2); c2 = vfma(y, x2, c2)  # noqa: E702
        y = vload(gyw, i + 3 * RL + q)
        a3 = vfma(y, x0, a3); b3 = vfma(y, x1, b3); c3 = vfma(y, x2, c3)  # noqa: E702
        y = vload(gyw, i + 4 * RL + q)
        a4 = vfma(y, x0, a4); b4 = vfma(y, x1, b4); c4 = vfma(y, x2, c4)  # noqa: E702
        y = vload(gyw, i + 5 * RL + q)
        a5 = vfma(y, x0, a5); b5 = vfma(y, x1, b5); c5 = vfma(y, x2, c5)  # noqa: E702
        y = vload(gyw, i + 6 * RL + q)
        a6 = vfma(y, x0, a6); b6 = vfma(y, x1, b6); c6 = vfma(y, x2, c6)  # noqa: E702
        y = vload(gyw, i + 7 * RL + q)
        a7 = vfma(y, x0, a7); b7 = vfma(y, x1, b7); c7 = vfma(y, x2, c7)  # noqa: E702
    vstore(part, p + 0 * L, a0); vstore(part, p + 1 * L, b0); vstore(part, p + 2 * L, c0)  # noqa: E501,E702
    vstore(part, p + 3 * L, a1); vstore(part, p + 4 * L, b1); vstore(part, p + 5 * L, c1)  # noqa: E501,E702
    vstore(part, p + 6 * L, a2); vstore(part, p + 7 * L, b2); vstore(part, p + 8 * L, c2)  # noqa: E501,E702
    vstore(part, p + 9 * L, a3); vstore(part, p + 10 * L, b3); vstore(part, p + 11 * L, c3)  # noqa: E501,E702
    vstore(part, p + 12 * L, a4); vstore(part, p + 13 * L, b4); vstore(part, p + 14 * L, c4)  # noqa: E501,E702
    vstore(part, p + 15 * L, a5); vstore(part, p + 16 * L, b5); vstore(part, p + 17 * L, c5)  # noqa: E501,E702
    vstore(part, p + 18 * L, a6); vstore(part, p + 19 * L, b6); vstore(part, p + 20 * L, c6)  # noqa: E501,E702
    vstore(part, p + 21 * L, a7); vstore(part, p + 22 * L, b7); vstore(part, p + 23 * L, c7)  # noqa: E501,E702


@njit
def _gw_task(xp, offs, gyw, gwp, t, n, G, V, OBn, PL, L, QC, OBG, RBG, NP):
    """gwp[p, rows of the blocks in group og, taps of the tiles in group rg] = the sums of gy * x
    over part p of the pixel stream; task t = ((p * G + g) * NOG + og) * NRG + rg.

    A gy row holds all n samples, each in wide rows padded to PL with zeros like the junk
    columns, so one stream runs through every sample and the junk pixels add nothing. The stream
    goes in chunks of QC pixels, and every tile of the task runs over a chunk while its gy rows
    and input planes sit in cache, the tiles' partial sums parked in `part` between chunks: with
    a task per tile group instead, each group re-read all of gy from memory (the tutorial's
    20x16x50x100 -> 32 ran at 56 GFLOP/s). Parts of the stream keep both cores busy when there
    are few groups. Shapes: xp (C*n*PL + tail,), gyw (G*OBn*8, RL), gwp (NP, G*OBn*8, R).
    """
    R = offs.shape[0]
    RL = gyw.shape[1]
    RB = (R + PV - 1) // PV                     # tiles of 3 taps
    NOG, NRG = (OBn + OBG - 1) // OBG, (RB + RBG - 1) // RBG
    rg, k = t % NRG, t // NRG
    og, k = k % NOG, k // NOG
    g, p = k % G, k // G
    ob0, ob1 = og * OBG, min(OBn, (og + 1) * OBG)
    rb0, rb1 = rg * RBG, min(RB, (rg + 1) * RBG)
    nq = (RL + QC - 1) // QC                    # this part's chunks
    q_lo, q_hi = nq * p // NP * QC, min(RL, nq * (p + 1) // NP * QC)
    part = np.zeros((ob1 - ob0) * (rb1 - rb0) * OB * PV * L, gwp.dtype)
    xb, flat_gy = g * V * n * PL, gyw.ravel()
    for q0 in range(q_lo, q_hi, QC):
        q1 = min(q_hi, q0 + QC)
        for ob in range(ob0, ob1):
            i = (g * OBn + ob) * OB * RL
            for rb in range(rb0, rb1):
                r0 = rb * PV
                _gw_tile(xp, flat_gy, part, ((ob - ob0) * (rb1 - rb0) + rb - rb0) * OB * PV * L,
                         xb, offs[r0], offs[min(r0 + 1, R - 1)], offs[min(r0 + 2, R - 1)], i,
                         q0, q1, RL, L)
    for ob in range(ob0, ob1):                  # add the lanes, in lane order
        for rb in range(rb0, rb1):
            base = ((ob - ob0) * (rb1 - rb0) + rb - rb0) * OB * PV
            for j in range(OB):
                for u in range(PV):
                    r = rb * PV + u
                    if r < R:
                        v = part[(base + j * PV + u) * L:][:L]
                        acc = v[0]
                        for m in range(1, L):
                            acc += v[m]
                        gwp[p, (g * OBn + ob) * OB + j, r] = acc


# ---- layout copies: planes in, wide rows out ------------------------------------------------

@njit
def _pad_plane(x, xp, t, n0, Hq, Wq, pt, pl, sh, sw):
    """xp[t, i * Wq + j] = x[n0 + s, c, i*sh + a - pt, j*sw + b - pl] for t = (c*sh*sw + a*sw + b)
    * n + s: each channel's zero-padded plane split into sh*sw phase planes, so that a strided
    tap reads one phase plane at stride 1. 0 outside x and past Hq*Wq; pt, pl may be negative
    (grad_input crops gy there). Shapes: x (N, C, H, W), xp (C*sh*sw*n, PL).
    """
    _, C, H, W = x.shape
    n = xp.shape[0] // (C * sh * sw)
    v, s = t // n, t % n
    c, a, b = v // (sh * sw), v % (sh * sw) // sw, v % sw
    d, src = xp[t], x[n0 + s, c].ravel()
    lo = max(0, -((b - pl) // sw))                     # the columns j that come from x
    hi = max(lo, min(Wq, -((b - pl - W) // sw)))
    # Index loops, not row slices: a slice costs tens of ns to make, rows are often 16 long
    # (3 slices a row made this copy 0.6 ms for MNIST's 64x32x14x14, 4x the loops' time).
    for i in range(Hq):
        h, e = i * sh + a - pt, i * Wq
        if 0 <= h < H:
            for j in range(lo):
                d[e + j] = 0
            if sw == 1:         # unsigned indices: no wraparound test, so the copy vectorises
                base = h * W + b - pl                   # (8x64x56x56: 0.69 -> 0.37 ms)
                for j in range(lo, hi):
                    d[np.uint64(e + j)] = src[np.uint64(base + j)]
            else:
                for j in range(lo, hi):
                    d[e + j] = src[h * W + j * sw + b - pl]
            for j in range(hi, Wq):
                d[e + j] = 0
        else:
            for j in range(Wq):
                d[e + j] = 0
    for j in range(Hq * Wq, d.shape[0]):
        d[j] = 0


@njit
def _widen_plane(gy, gyw, t, n0, n, G, OBn, Wp, PL):
    """gyw[t] = output row t = g * OBn * 8 + j of gy for n samples, each in wide rows of Wp
    padded to PL, zero in the cropped columns, between samples, at the end, and for the padded
    outputs of the last block.

    Shapes: gy (N, O, OH, OW), gyw (G*OBn*8, RL).
    """
    _, O, OH, OW = gy.shape
    Og = O // G
    g, j = t // (OBn * OB), t % (OBn * OB)
    d = gyw[t]
    if j >= Og:
        d[:] = 0
        return
    for s in range(n):                          # index loops, as in _pad_plane
        src, b = gy[n0 + s, g * Og + j], s * PL
        for oh in range(OH):
            for ow in range(OW):                # unsigned: see _pad_plane
                d[np.uint64(b + ow)] = src[oh, ow]
            for ow in range(OW, Wp):
                d[b + ow] = 0
            b += Wp
        for q in range(b, (s + 1) * PL):
            d[q] = 0
    for q in range(n * PL, d.shape[0]):
        d[q] = 0


# Each step as a parallel and a serial loop over its tasks (see PARALLEL_MIN).
@njit(parallel=True)
def _pad_par(x, xp, n0, Hq, Wq, pt, pl, sh, sw):
    for t in prange(xp.shape[0]):
        _pad_plane(x, xp, t, n0, Hq, Wq, pt, pl, sh, sw)


@njit
def _pad_one(x, xp, n0, Hq, Wq, pt, pl, sh, sw):
    for t in range(xp.shape[0]):
        _pad_plane(x, xp, t, n0, Hq, Wq, pt, pl, sh, sw)


@njit(parallel=True)
def _widen_par(gy, gyw, n0, n, G, OBn, Wp, PL):
    for t in prange(gyw.shape[0]):
        _widen_plane(gy, gyw, t, n0, n, G, OBn, Wp, PL)


@njit
def _widen_one(gy, gyw, n0, n, G, OBn, Wp, PL):
    for t in range(gyw.shape[0]):
        _widen_plane(gy, gyw, t, n0, n, G, OBn, Wp, PL)


@njit(parallel=True)
def _fwd_par(xp, offs, wp, bp, y, tasks, n0, n, G, V, OBn, nb, PL, Wq, L):
    for t in prange(tasks):
        _fwd_tile(xp, offs, wp, bp, y, t, n0, n, G, V, OBn, nb, PL, Wq, L)


@njit
def _fwd_one(xp, offs, wp, bp, y, tasks, n0, n, G, V, OBn, nb, PL, Wq, L):
    for t in range(tasks):
        _fwd_tile(xp, offs, wp, bp, y, t, n0, n, G, V, OBn, nb, PL, Wq, L)


@njit(parallel=True)
def _gw_par(xp, offs, gyw, gwp, tasks, n, G, V, OBn, PL, L, QC, OBG, RBG, NP):
    for t in prange(tasks):
        _gw_task(xp, offs, gyw, gwp, t, n, G, V, OBn, PL, L, QC, OBG, RBG, NP)


@njit
def _gw_one(xp, offs, gyw, gwp, tasks, n, G, V, OBn, PL, L, QC, OBG, RBG, NP):
    for t in range(tasks):
        _gw_task(xp, offs, gyw, gwp, t, n, G, V, OBn, PL, L, QC, OBG, RBG, NP)


# ---- drivers ----------------------------------------------------------------------------------

class _Geometry:
    """Padded, phase-split, wide and tiled sizes of the conv of x (N, C, H, W) by w.

    A stride (sh, sw) splits each padded plane into sh*sw phase planes of Hq x Wq; tap (kh, kw)
    then reads phase ((kh*dh) % sh, (kw*dw) % sw) at row and column offset ((kh*dh) // sh,
    (kw*dw) // sw), so every conv is a stride-1 sum of taps over planes. At stride 1 there is
    one phase, the padded plane itself. stream: for grad_weight, whose stream of pixels runs
    through all samples' planes.
    """

    def __init__(self, x_shape, w_shape, pads, stride, dilation, groups, dtype, stream=False):
        N, C, H, W = x_shape
        O, Cg, KH, KW = w_shape
        pt, pb, pl, pr = pads
        (sh, sw), (dh, dw) = stride, dilation
        self.dtype, self.C, self.G, self.P = np.dtype(dtype), C, groups, sh * sw
        self.Cg, self.V = Cg, Cg * sh * sw                    # planes per group
        self.pt, self.pl, self.kernel = pt, pl, (KH, KW)
        self.stride, self.dilation = stride, dilation
        Hp, Wp = H + pt + pb, W + pl + pr
        self.Hq, self.Wq = -(-Hp // sh), -(-Wp // sw)
        if stream and (sh, sw) == (1, 1):
            # grad_weight's planes share their zero padding with their neighbours: a row's right
            # pad is the next row's left pad, a plane's bottom rows the next plane's top rows
            # (wrapped reads land on those zeros; the tail zeros the last). MNIST conv2 streams
            # 15x15 = 225 pixels a sample instead of 16x16 = 256 (gw 3.6 -> 3.3 ms).
            self.Wq -= max(0, min(pl, pr, (KW - 1) * dw))
            self.Hq -= max(0, min(pt, pb, (KH - 1) * dh))
        self.OH = (Hp - dh * (KH - 1) - 1) // sh + 1
        self.OW = (Wp - dw * (KW - 1) - 1) // sw + 1
        self.L = lanes(self.dtype)
        self.nb = -(-(self.OH * self.Wq) // (PV * self.L))       # pixel blocks per plane
        self.YL = self.nb * PV * self.L                           # wide output row length
        reach = self.reach = (KH - 1) * dh // sh * self.Wq + (KW - 1) * dw // sw
        # Forward's last block reads up to YL + reach; grad_weight's stream reads past the plane
        # only at junk pixels, whose zeros in gy make them add nothing, so its planes are packed
        # (MNIST conv2: 274 pixels a sample for forward, 225 for grad_weight with the sharing).
        HW = self.Hq * self.Wq
        self.PL = HW if stream else max(HW, self.YL + reach)
        self.OBn = -(-(O // groups) // OB)
        per_sample = (C * self.P + groups * self.OBn * OB) * self.PL * self.dtype.itemsize
        self.step = max(1, WORKSPACE_BYTES // per_sample)        # samples per chunk
        self.par = N * O * self.OH * self.OW * Cg * KH * KW >= PARALLEL_MIN

    def chunks(self, N):
        """(n0, n1) batch chunks whose buffers fit WORKSPACE_BYTES (one sample at least)."""
        return [(n0, min(N, n0 + self.step)) for n0 in range(0, N, self.step)]

    def offsets(self, n):
        """The flat offset of every (c, kh, kw) tap from a pixel, planes laid out (C, P, n, PL)."""
        (KH, KW), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        kh, kw = np.arange(KH) * dh, np.arange(KW) * dw
        plane = (np.arange(self.Cg)[:, None, None] * self.P + (kh % sh)[None, :, None] * sw
                 + (kw % sw)[None, None, :])
        return (plane * (n * self.PL) + (kh // sh)[None, :, None] * self.Wq
                + (kw // sw)[None, None, :]).ravel().astype(np.int64)

    def padded(self, x, n0, n1):
        """x[n0:n1] as zero-padded phase planes (C, P, n, PL) in the reused buffer "blocked_x",
        flat. A zero tail of max(PL, reach) + L lets grad_weight's stream over the last plane
        read past its end (a packed plane of a tiny image can be shorter than the reach).
        Shapes: -> (C*P*n*PL + max(PL, reach) + L,).
        """
        rows = (n1 - n0) * self.C * self.P
        tail = max(self.PL, self.reach) + self.L
        flat = scratch("blocked_x", (rows * self.PL + tail,), self.dtype)
        xp = flat[:rows * self.PL].reshape(rows, self.PL)
        (_pad_par if self.par else _pad_one)(x, xp, n0, self.Hq, self.Wq, self.pt, self.pl,
                                             *self.stride)
        flat[rows * self.PL:] = 0
        return flat

    def rows(self, length):
        """The reused buffer "blocked_y": one row of `length` per (padded) output channel."""
        return scratch("blocked_y", (self.G * self.OBn * OB, length), self.dtype)


def _conv(x, w, pads, stride, dilation, groups, bias=None):
    """The conv of x by w with per-side padding pads (negative crops), plus bias if given.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW), bias (O,) -> (N, O, OH, OW).
    """
    N, O = x.shape[0], w.shape[0]
    geo = _Geometry(x.shape, w.shape, pads, stride, dilation, groups, x.dtype)
    G, OBn = groups, geo.OBn
    wt = np.zeros((G, OBn * OB, w[0].size), x.dtype)       # outputs past O // G weigh 0
    wt[:, :O // G] = w.reshape(G, O // G, -1)
    wp = np.ascontiguousarray(wt.reshape(G, OBn, OB, -1).transpose(0, 1, 3, 2)).ravel()
    bp = np.zeros(G * OBn * OB, x.dtype)
    if bias is not None:
        bp.reshape(G, OBn * OB)[:, :O // G] = bias.reshape(G, O // G)
    y = np.empty((N, O, geo.OH, geo.OW), x.dtype)
    for n0, n1 in geo.chunks(N):
        n = n1 - n0
        (_fwd_par if geo.par else _fwd_one)(geo.padded(x, n0, n1), geo.offsets(n), wp, bp, y,
                                            n * G * geo.nb * OBn, n0, n, G, geo.V, OBn, geo.nb,
                                            geo.PL, geo.Wq, geo.L)
    return y


def forward(x, w, spec, bias=None):
    """Shapes: x (N, C, H, W), w (O, C // G, KH, KW), bias (O,) -> y (N, O, OH, OW)."""
    if not finite(w):                       # padding's zeros times inf (see _finite.py)
        y = im2col.forward(x, w, spec)
        return y if bias is None else y + bias.reshape(-1, 1, 1)
    return _conv(x, w, spec.padding, spec.stride, spec.dilation, spec.groups, bias)


def _phase(n_in, pad, K, d, s, a):
    """One axis of one phase a of the stride s: the taps k whose input lands there (k*d % s ==
    a, every step-th tap from the first), and the stride-1 conv over gy that gives gx at those
    inputs. Returns (taps as a slice, their dilation in gy, padding before, first gx index, gx
    count), or None where no tap lands or no input of x lies; gx index a + i*s - pad for i in
    [i0, i1) is what lies inside x.
    """
    k0 = next((k for k in range(K) if k * d % s == a), None)
    i0, i1 = -((a - pad) // s), -((a - pad - n_in) // s)
    if k0 is None or i1 <= i0:
        return None
    step = s // math.gcd(d, s)                      # the taps landing on a recur every step
    count = len(range(k0, K, step))
    dd = step * d // s
    # gx_phase[i] = sum over m of gy[i - k0*d//s - m*dd] * w[k0 + m*step]: a conv of gy with
    # the flipped taps, padded so that its output row 0 is phase row i0.
    before = k0 * d // s + (count - 1) * dd - i0
    return slice(k0, None, step), dd, before, a + i0 * s - pad, i1 - i0


def grad_input(gy, w, spec):
    """gx as stride-1 convs of gy with each group's weights transposed and flipped, one per
    phase of the stride (one conv at stride 1): the inputs of phase (a, b) are reached by the
    taps that land there, which sit at a constant spacing in gy.

    Shapes: gy (N, O, OH, OW), w (O, C // G, KH, KW) -> gx (N, C, H, W).
    """
    N, C, H, W = spec.x_shape
    if C == 0:                                      # no input channels: nothing to compute
        return np.empty(spec.x_shape, gy.dtype)
    if not finite(w):                               # gy's padding zeros times inf
        return im2col.grad_input(gy, w, spec)
    G, (O, Cg, KH, KW) = spec.groups, w.shape
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    OH, OW = gy.shape[2:]
    gx = np.zeros(spec.x_shape, gy.dtype) if (sh, sw) != (1, 1) else None
    for a in range(sh):
        rows = _phase(H, pt, KH, dh, sh, a)
        for b in range(sw):
            cols = _phase(W, pl, KW, dw, sw, b)
            if rows is None or cols is None:
                continue                    # no tap lands here, or no input of x: zeros
            (kh, ddh, top, h0, nh), (kw, ddw, left, w0, nw) = rows, cols
            sub = w[:, :, kh, kw]                   # views: slices, not lists (a list index
            ph, pw = sub.shape[2:]                  # copied w twice: 3.5 ms at 256 -> 256)
            wf = sub.reshape(G, O // G, Cg, ph, pw)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
            wf = wf.reshape(G * Cg, O // G, ph, pw)
            # padding after: whatever makes the output nh x nw (negative crops gy)
            bottom = nh - OH - top + (ph - 1) * ddh
            right = nw - OW - left + (pw - 1) * ddw
            part = _conv(gy, wf, (top, bottom, left, right), (1, 1), (ddh, ddw), G)
            if gx is None:
                return part
            gx[:, :, h0::sh, w0::sw][:, :, :nh, :nw] = part
    return gx


def _gw_split(OBn, R, G, stream, itemsize, L):
    """grad_weight's tasks: (output blocks per task, tap tiles per task, parts of the stream,
    tasks), the tiles' partial sums held under PART_BYTES a task, at least TASKS tasks where the
    stream has the chunks for it."""
    RB = -(-R // PV)
    OBG, RBG = OBn, RB
    while OBG * RBG * OB * PV * L * itemsize > PART_BYTES and RBG > 1:
        RBG = -(-RBG // 2)
    while OBG * RBG * OB * PV * L * itemsize > PART_BYTES and OBG > 1:
        OBG = -(-OBG // 2)
    groups = G * -(-OBn // OBG) * -(-RB // RBG)
    chunks = -(-stream // (QC_BYTES // itemsize))
    NP = max(1, min(-(-TASKS // groups), chunks))
    return OBG, RBG, NP, NP * groups


def grad_weight(x, gy, spec):
    """Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C // G, KH, KW)."""
    N, O, G = spec.N, spec.O, spec.groups
    if spec.C == 0:                                 # no input channels: gw has no elements
        return np.empty(spec.w_shape, x.dtype)
    geo = _Geometry(x.shape, spec.w_shape, spec.padding, spec.stride, spec.dilation, G, x.dtype,
                    stream=True)
    R = spec.w_shape[1] * spec.KH * spec.KW
    gw = np.zeros((G * geo.OBn * OB, R), x.dtype)
    for n0, n1 in geo.chunks(N):
        n = n1 - n0
        RL = -(-n * geo.PL // geo.L) * geo.L
        xp, gyw = geo.padded(x, n0, n1), geo.rows(RL)
        (_widen_par if geo.par else _widen_one)(gy, gyw, n0, n, G, geo.OBn, geo.Wq, geo.PL)
        OBG, RBG, NP, tasks = _gw_split(geo.OBn, R, G, RL, x.itemsize, geo.L)
        gwp = np.empty((NP,) + gw.shape, x.dtype)
        (_gw_par if geo.par else _gw_one)(xp, geo.offsets(n), gyw, gwp, tasks, n, G, geo.V,
                                          geo.OBn, geo.PL, geo.L, QC_BYTES // x.itemsize, OBG,
                                          RBG, NP)
        gw += gwp.sum(axis=0) if NP > 1 else gwp[0]
    gw = np.ascontiguousarray(gw.reshape(G, geo.OBn * OB, -1)[:, :O // G]).reshape(spec.w_shape)
    # NaN if gy's inf met padding's zeros, or x's inf met the zeros of gy's junk columns
    return gw if nan_free(gw) else im2col.grad_weight(x, gy, spec)
