"""Register-blocked direct convolution: a tile of outputs x vectors of pixels stays in vector
registers for the whole reduction over (channel, tap); no column matrix.

The trick that makes every tap one contiguous load: each input plane is copied once, zero-padded,
into a row of length PL, and the output is computed "wide", as if it had the padded width Wp.
Output pixel q = oh * Wp + ow then reads input q + kh*dh*Wp + kw*dw for tap (kh, kw), a fixed
offset per tap, so a vector of consecutive q runs across row ends into columns that are thrown
away (Wp - OW of every Wp: 2-12 % of the work on the suite's 3x3 shapes). The tile stores its
valid lanes straight into y, packed by a compress-store where a vector straddles a row end (MNIST
conv2 forward 2.9 -> 2.55 ms against a wide buffer cropped afterwards). Each (channel, tap) step
loads `vecs` input vectors and `rows` weights and does rows * vecs FMAs. The tile's shape is the
ISA's (_simd.Tile, TILES below): on AVX-512, 8 x 3 vectors of 16 float32 keep both FMA ports busy,
230-290 GFLOP/s on 2 cores where OpenBLAS reaches 290-330 on square GEMMs, against 140-150 for
im2col's thin GEMMs on layers with 16-64 outputs per group (a prototype's forward: 8x3 tiles beat
8x2, 6x4, 4x4 and 12x2 by 5-40 %; 12x2 spills registers).

A stride (sh, sw) first splits each padded plane into sh*sw phase planes (_Geometry), after which
every tap is again a fixed offset into one plane. grad_input of a stride-1 conv is itself a
stride-1 conv of gy with the flipped, transposed weights (padding d*(K-1) - p per side, cropping
where that is negative), so it reuses forward; with a stride, each phase of gx is such a conv
over the taps that land on it. grad_weight keeps `rows` outputs x `vecs` taps of partial sums in
registers while streaming pixels of gy laid out wide (zeros in the junk columns), and adds the
lanes at the end. Everything is float32 or float64 as given; a float64 vector holds half the
lanes.
"""
import functools
import math

import numpy as np

from . import im2col
from ._finite import finite, nan_free
from ._jit import njit, run_tasks
from ._scratch import scratch
from ._simd import Tile, fwd_tile, gw_tile, isa, tile_rows, tile_vecs
from .spec import ConvSpec

# The tile per ISA (rows, vecs, vector bytes): rows * vecs accumulators + vecs inputs + one
# broadcast fill the register file (_simd.Tile.registers). benchmarks/RULES.md has the timings.
TILES = {
    "avx512": Tile(8, 3, 64),       # 28 of 32 registers (the 8x3 of the docstring)
    "avx2": Tile(4, 3, 32),         # 16 of 16
    "neon": Tile(8, 3, 16),         # 28 of 32; exact on this machine's tests, speed unmeasured
}
ISA = isa()
# Without a known vector ISA (SSE2 alone, no FMA) the tiles stay exact but slow: llvm.fma
# becomes a call. 16-byte vectors and 4 x 2 accumulators fit SSE2's 16 registers.
TILE = TILES.get(ISA, Tile(4, 2, 16))
GW_TILE = TILE          # grad_weight's tile: rows outputs x vecs taps

# The rules prefer this kernel only where its tiles fit an ISA with FMA and they were measured
# to win (see kernels.RULES).
FAST = ISA in ("avx512", "avx2")

# forward takes bias= and starts its sums from it: no pass over y to add it afterwards (the
# parallel add took 0.2 ms of MNIST conv1's forward, 64x32x28x28).
FUSES_BIAS = True

# grad_weight's blocking (_gw_task timed alone): chunks of 4 KiB of pixels beat 1 and 16 KiB
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

# Below this many multiply-adds a call runs on one thread: waking another costs about 10 us on
# an idle machine, and hundreds where other jobs hold the cores; 1M multiply-adds take about
# 40 us on one core. (The chapter's SimpleCNN at batch 1, eval: 1.31 ms a forward with 64K
# here, 1.13 with every conv on one thread, at load average 5.)
PARALLEL_MIN = 1 << 20


def supports(spec: ConvSpec) -> bool:
    """Every valid spec: stride, padding, dilation, groups."""
    return True


# ---- the tasks ------------------------------------------------------------------------------

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
def _fwd_run(t0, t1, tile, xp, offs, wp, bp, y, n0, n, G, V, OBn, nb, PL, Wq, L):
    """Tasks t0 <= t < t1 of the forward, each the `rows` outputs of block ob at wide pixels
    q : q + vecs*L, summed over every (c, tap), straight into y: each vector's valid lanes,
    packed, land where its first valid pixel goes. Task t = ((s * G + g) * nb + blk) * OBn + ob:
    consecutive tasks share the input block, and the lane masks of its vectors (MNIST conv1's
    tiles 0.93 -> 0.45 ms, serial, when they are made once per block, not per tile).
    Shapes: xp (C*n*PL + tail,) as (C, n, PL), wp (G*OBn*R*rows,) as (G, OBn, R, rows),
    bp (G*OBn*rows,), y (N, O, OH, OW), offs (R,).
    """
    RW, PV = tile_rows(tile), tile_vecs(tile)
    R = offs.shape[0]
    _, O, OH, OW = y.shape
    Og = O // G
    dm = np.empty(2 * PV, np.int64)             # per vector: first valid pixel, lane mask
    last = -1
    for t in range(t0, t1):
        ob, k = t % OBn, t // OBn
        blk, k = k % nb, k // nb
        g, s = k % G, k // G
        q = blk * PV * L
        if q != last:
            for v in range(PV):
                dm[2 * v], dm[2 * v + 1] = _lanes(q + v * L, L, Wq, OW, OH)
            last = q
        fwd_tile(tile, xp, (g * V * n + s) * PL + q, offs, wp, (g * OBn + ob) * R * RW, bp,
                 (g * OBn + ob) * RW, y, ((n0 + s) * O + g * Og + ob * RW) * OH * OW, OH * OW,
                 min(RW, Og - ob * RW), dm)     # the last block may hold padded outputs


@njit
def _gw_task(tile, xp, offs, gyw, gwp, t, n, G, V, OBn, PL, L, QC, OBG, RBG, NP):
    """gwp[p, rows of the blocks in group og, taps of the tiles in group rg] = the sums of gy * x
    over part p of the pixel stream; task t = ((p * G + g) * NOG + og) * NRG + rg.

    A gy row holds all n samples, each in wide rows padded to PL with zeros like the junk
    columns, so one stream runs through every sample and the junk pixels add nothing. The stream
    goes in chunks of QC pixels, and every tile of the task runs over a chunk while its gy rows
    and input planes sit in cache, the tiles' partial sums parked in `part` between chunks: with
    a task per tile group instead, each group re-read all of gy from memory (the tutorial's
    20x16x50x100 -> 32 ran at 56 GFLOP/s). Parts of the stream keep both cores busy when there
    are few groups. Shapes: xp (C*n*PL + tail,), gyw (G*OBn*rows, RL), gwp (NP, G*OBn*rows, R).
    """
    RW, PV = tile_rows(tile), tile_vecs(tile)
    R = offs.shape[0]
    RL = gyw.shape[1]
    RB = (R + PV - 1) // PV                     # tiles of `vecs` taps
    NOG, NRG = (OBn + OBG - 1) // OBG, (RB + RBG - 1) // RBG
    rg, k = t % NRG, t // NRG
    og, k = k % NOG, k // NOG
    g, p = k % G, k // G
    ob0, ob1 = og * OBG, min(OBn, (og + 1) * OBG)
    rb0, rb1 = rg * RBG, min(RB, (rg + 1) * RBG)
    nq = (RL + QC - 1) // QC                    # this part's chunks
    q_lo, q_hi = nq * p // NP * QC, min(RL, nq * (p + 1) // NP * QC)
    part = np.zeros((ob1 - ob0) * (rb1 - rb0) * RW * PV * L, gwp.dtype)
    xb = g * V * n * PL
    for q0 in range(q_lo, q_hi, QC):
        q1 = min(q_hi, q0 + QC)
        for ob in range(ob0, ob1):
            for rb in range(rb0, rb1):
                gw_tile(tile, xp, xb, offs, rb * PV, gyw, (g * OBn + ob) * RW * RL, RL, q0, q1,
                        part, ((ob - ob0) * (rb1 - rb0) + rb - rb0) * RW * PV * L)
    for ob in range(ob0, ob1):                  # add the lanes, in lane order
        for rb in range(rb0, rb1):
            base = ((ob - ob0) * (rb1 - rb0) + rb - rb0) * RW * PV
            for j in range(RW):
                for u in range(PV):
                    r = rb * PV + u
                    if r < R:
                        v = part[(base + j * PV + u) * L:][:L]
                        acc = v[0]
                        for m in range(1, L):
                            acc += v[m]
                        gwp[p, (g * OBn + ob) * RW + j, r] = acc


@njit
def _gw_run(t0, t1, tile, xp, offs, gyw, gwp, n, G, V, OBn, PL, L, QC, OBG, RBG, NP):
    for t in range(t0, t1):
        _gw_task(tile, xp, offs, gyw, gwp, t, n, G, V, OBn, PL, L, QC, OBG, RBG, NP)


# ---- layout copies: planes in, wide rows out ------------------------------------------------

# Each copy is one function over its tasks t0 <= t < t1 (for run_tasks), the task's body
# inside the loop: a per-task function is optimised again inside its caller (the input copy's
# cold compile went 0.95-1.3 -> 0.85-1.1 s).
@njit
def _pad_run(t0, t1, x, xp, n0, Hq, Wq, pt, pl, sh, sw):
    """xp[t, i * Wq + j] = x[n0 + s, c, i*sh + a - pt, j*sw + b - pl] for t = (c*sh*sw + a*sw + b)
    * n + s: each channel's zero-padded plane split into sh*sw phase planes, so that a strided
    tap reads one phase plane at stride 1. 0 outside x and past Hq*Wq; pt, pl may be negative
    (grad_input crops gy there). Shapes: x (N, C, H, W), xp (C*sh*sw*n, PL).
    """
    _, C, H, W = x.shape
    n = xp.shape[0] // (C * sh * sw)
    for t in range(t0, t1):
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
                if sw == 1:     # unsigned indices: no wraparound test, so the copy vectorises
                    base = h * W + b - pl               # (8x64x56x56: 0.69 -> 0.37 ms)
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
def _widen_run(t0, t1, gy, gyw, n0, n, G, OBn, RW, Wp, PL):
    """gyw[t] = output row t = g * OBn * RW + j of gy for n samples, each in wide rows of Wp
    padded to PL, zero in the cropped columns, between samples, at the end, and for the padded
    outputs of the last block.

    Shapes: gy (N, O, OH, OW), gyw (G*OBn*RW, RL).
    """
    _, O, OH, OW = gy.shape
    Og = O // G
    for t in range(t0, t1):
        g, j = t // (OBn * RW), t % (OBn * RW)
        d = gyw[t]
        if j >= Og:
            d[:] = 0
            continue
        for s in range(n):                      # index loops, as in _pad_run
            src, b = gy[n0 + s, g * Og + j], s * PL
            for oh in range(OH):
                for ow in range(OW):            # unsigned: see _pad_run
                    d[np.uint64(b + ow)] = src[oh, ow]
                for ow in range(OW, Wp):
                    d[b + ow] = 0
                b += Wp
            for q in range(b, (s + 1) * PL):
                d[q] = 0
        for q in range(n * PL, d.shape[0]):
            d[q] = 0


# ---- drivers ----------------------------------------------------------------------------------

class _Geometry:
    """Padded, phase-split, wide and tiled sizes of the conv of x (N, C, H, W) by w.

    A stride (sh, sw) splits each padded plane into sh*sw phase planes of Hq x Wq; tap (kh, kw)
    then reads phase ((kh*dh) % sh, (kw*dw) % sw) at row and column offset ((kh*dh) // sh,
    (kw*dw) // sw), so every conv is a stride-1 sum of taps over planes. At stride 1 there is
    one phase, the padded plane itself. stream: for grad_weight, whose stream of pixels runs
    through all samples' planes. tile: the register tile's shape (rows outputs x vecs vectors).
    """

    def __init__(self, x_shape, w_shape, pads, stride, dilation, groups, dtype, tile, stream,
                 workspace, parallel_min):
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
        self.tile, self.RW, self.L = tile, tile.rows, tile.lanes(self.dtype)
        self.nb = -(-(self.OH * self.Wq) // (tile.vecs * self.L))     # pixel blocks per plane
        self.YL = self.nb * tile.vecs * self.L                        # wide output row length
        reach = self.reach = (KH - 1) * dh // sh * self.Wq + (KW - 1) * dw // sw
        # Forward's last block reads up to YL + reach; grad_weight's stream reads past the plane
        # only at junk pixels, whose zeros in gy make them add nothing, so its planes are packed
        # (MNIST conv2: 274 pixels a sample for forward, 225 for grad_weight with the sharing).
        HW = self.Hq * self.Wq
        self.PL = HW if stream else max(HW, self.YL + reach)
        self.OBn = -(-(O // groups) // self.RW)
        per_sample = (C * self.P + groups * self.OBn * self.RW) * self.PL * self.dtype.itemsize
        self.step = max(1, workspace // per_sample)              # samples per chunk
        self.par = N * O * self.OH * self.OW * Cg * KH * KW >= parallel_min
        # A copy of fewer elements than parallel_min runs on one thread, whatever the conv's
        # work (MNIST conv2 at batch 1: 8K elements, 2 us, against tens to wake a thread).
        self.copy_par = min(N, self.step) * C * self.P * self.PL >= parallel_min
        self._offsets = {}

    def chunks(self, N):
        """(n0, n1) batch chunks whose buffers fit WORKSPACE_BYTES (one sample at least)."""
        return [(n0, min(N, n0 + self.step)) for n0 in range(0, N, self.step)]

    def offsets(self, n):
        """The flat offset of every (c, kh, kw) tap from a pixel, planes laid out (C, P, n, PL),
        made once per n (18 us a call of MNIST conv2 at batch 1 when made every call)."""
        if n not in self._offsets:
            self._offsets[n] = self._make_offsets(n)
        return self._offsets[n]

    def _make_offsets(self, n):
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
        run_tasks(_pad_run, rows, x, xp, n0, self.Hq, self.Wq, self.pt, self.pl, *self.stride,
                  parallel=self.copy_par)
        flat[rows * self.PL:] = 0
        return flat

    def rows(self, length):
        """The reused buffer "blocked_y": one row of `length` per (padded) output channel."""
        return scratch("blocked_y", (self.G * self.OBn * self.RW, length), self.dtype)


# Geometries are read-only once made, and a network asks for the same few again and again.
_geometry = functools.lru_cache(maxsize=512)(_Geometry)


def _conv(x, w, pads, stride, dilation, groups, bias=None):
    """The conv of x by w with per-side padding pads (negative crops), plus bias if given.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW), bias (O,) -> (N, O, OH, OW).
    """
    N, O = x.shape[0], w.shape[0]
    geo = _geometry(x.shape, w.shape, pads, stride, dilation, groups, x.dtype, TILE, False,
                    WORKSPACE_BYTES, PARALLEL_MIN)
    G, OBn, RW = groups, geo.OBn, geo.RW
    wt = w.reshape(G, O // G, -1)
    if O // G != OBn * RW:                                  # outputs past O // G weigh 0
        wt = np.zeros((G, OBn * RW, w[0].size), x.dtype)
        wt[:, :O // G] = w.reshape(G, O // G, -1)
    wp = np.ascontiguousarray(wt.reshape(G, OBn, RW, -1).transpose(0, 1, 3, 2), x.dtype).ravel()
    bp = np.zeros(G * OBn * RW, x.dtype)
    if bias is not None:
        bp.reshape(G, OBn * RW)[:, :O // G] = bias.reshape(G, O // G)
    y = np.empty((N, O, geo.OH, geo.OW), x.dtype)
    for n0, n1 in geo.chunks(N):
        n = n1 - n0
        run_tasks(_fwd_run, n * G * geo.nb * OBn, geo.tile.token, geo.padded(x, n0, n1),
                  geo.offsets(n), wp, bp, y, n0, n, G, geo.V, OBn, geo.nb, geo.PL, geo.Wq,
                  geo.L, parallel=geo.par)
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


def _gw_split(OBn, R, G, stream, itemsize, L, tile):
    """grad_weight's tasks: (output blocks per task, tap tiles per task, parts of the stream,
    tasks), the tiles' partial sums held under PART_BYTES a task, at least TASKS tasks where the
    stream has the chunks for it."""
    RB = -(-R // tile.vecs)
    OBG, RBG = OBn, RB
    size = tile.rows * tile.vecs * L * itemsize                  # one tile's partial sums
    while OBG * RBG * size > PART_BYTES and RBG > 1:
        RBG = -(-RBG // 2)
    while OBG * RBG * size > PART_BYTES and OBG > 1:
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
    geo = _geometry(x.shape, spec.w_shape, spec.padding, spec.stride, spec.dilation, G, x.dtype,
                    GW_TILE, True, WORKSPACE_BYTES, PARALLEL_MIN)
    R, RW = spec.w_shape[1] * spec.KH * spec.KW, geo.RW
    gw = np.zeros((G * geo.OBn * RW, R), x.dtype)
    for n0, n1 in geo.chunks(N):
        n = n1 - n0
        RL = -(-n * geo.PL // geo.L) * geo.L
        xp, gyw = geo.padded(x, n0, n1), geo.rows(RL)
        run_tasks(_widen_run, gyw.shape[0], gy, gyw, n0, n, G, geo.OBn, RW, geo.Wq, geo.PL,
                  parallel=gyw.size >= PARALLEL_MIN)
        OBG, RBG, NP, tasks = _gw_split(geo.OBn, R, G, RL, x.itemsize, geo.L, geo.tile)
        gwp = np.empty((NP,) + gw.shape, x.dtype)
        run_tasks(_gw_run, tasks, geo.tile.token, xp, geo.offsets(n), gyw, gwp, n, G, geo.V,
                  geo.OBn, geo.PL, geo.L, QC_BYTES // x.itemsize, OBG, RBG, NP,
                  parallel=geo.par)
        gw += gwp.sum(axis=0) if NP > 1 else gwp[0]
    gw = np.ascontiguousarray(gw.reshape(G, geo.OBn * RW, -1)[:, :O // G]).reshape(spec.w_shape)
    # NaN if gy's inf met padding's zeros, or x's inf met the zeros of gy's junk columns
    return gw if nan_free(gw) else im2col.grad_weight(x, gy, spec)
