"""Inference convs with their epilogue fused: y = act(conv(x, w) + bias + residual), the weights
copied once into pack() and used by every forward after.

The plain path is a conv, then a pass over y per addend and one for the activation; here the
bias, the residual and the activation are applied while the conv's output is still in cache.
Results equal the plain path's (kernels.select(spec).forward, + bias, + residual, the
activation as PyTorch defines it) to rounding: a kernel that starts its sums from the bias
rounds once less.
"""
import math
import os
import sys

import numba
import numpy as np

from . import _forced, blocked, depthwise, im2col, rule, select
from ._finite import finite
from ._jit import njit, run_tasks
from ._scratch import scratch
from ._simd import fwd_tile, tile_rows, tile_vecs
from .spec import ConvSpec

# The activations, as PyTorch's functional forms; codes for the compiled loops.
ACTS = {None: 0, "relu": 1, "relu6": 2, "silu": 3, "hardswish": 4, "sigmoid": 5, "gelu": 6}

# Elements below which the epilogue pass runs on one thread (as elementwise.PARALLEL_MIN).
PARALLEL_MIN = 1 << 16

# Elements of y that the residual add and the activation take at a time: 16 KiB of float32,
# which stays in L1 from the conv's store (or the bias add) to them.
FLUSH = 4096

# blocked: a unit of work is up to UNIT_BLOCKS pixel blocks (of 48 pixels on AVX-512) for every
# output channel, and there are at least UNITS_PER_THREAD units a thread where the conv allows.
UNIT_BLOCKS = 4
UNITS_PER_THREAD = 8

# From this batch size on, blocked runs the forward of 3x3-like convs of any width (_wide_ok).
BATCH_MIN = 8

_ZERO = {"f": np.zeros(1, np.float32), "d": np.zeros(1, np.float64)}


def supports_act(name) -> bool:
    """Whether forward's act= takes name (None: no activation)."""
    return name in ACTS


class Packed:
    """One conv's weights (and bias) copied for forward, and what forward makes of them once
    per kernel and spec. Opaque: build with pack()."""

    __slots__ = ("w", "bias", "finite", "dtype", "_forms", "kernels")

    def __init__(self, w, bias, dtype):
        self.w = np.array(w, dtype, order="C", copy=True)
        self.bias = None if bias is None else np.array(bias, dtype, order="C", copy=True)
        self.finite = finite(self.w)
        self.dtype = np.dtype(dtype)
        self._forms = {}
        self.kernels = {}                       # spec -> choose(spec) where nothing is forced

    def form(self, key, spec, make):
        """make(self, spec): the weights in the layout of a kernel (and its tile: the key), made
        once (they depend on the weights and the geometry only, not on the batch size)."""
        got = self._forms.get(key)
        if got is None:
            got = self._forms[key] = make(self, spec)
        return got


def pack(w, spec: ConvSpec, bias=None) -> Packed:
    """The weights of spec's conv (any batch size), and its bias or None, copied.

    Shapes: w (O, C // groups, KH, KW), bias (O,).
    """
    if tuple(w.shape) != spec.w_shape:
        raise ValueError(f"weight of shape {tuple(w.shape)} does not fit {spec}")
    if bias is not None and tuple(bias.shape) != (spec.O,):
        raise ValueError(f"bias of shape {tuple(bias.shape)} does not fit {spec}")
    return Packed(w, bias, spec.dtype)


def _consts(dtype):
    """The activations' constants in the array's dtype, so that float32 stays float32."""
    return np.array([0, 3, 6, 1, 0.5, np.sqrt(0.5)], dtype)


@njit
def _act(a, act, k):
    """a = act(a) in place, as PyTorch's functional forms (NaN stays NaN where they keep it)."""
    zero, three, six, one, half, rsqrt2 = k[0], k[1], k[2], k[3], k[4], k[5]
    n = a.size
    if act == 1:                                # relu
        for i in range(n):
            v = a[i]
            a[i] = zero if v < zero else v
    elif act == 2:                              # relu6 = min(max(x, 0), 6)
        for i in range(n):
            v = a[i]
            v = zero if v < zero else v
            a[i] = six if v > six else v
    elif act == 3:                              # silu = x * sigmoid(x)
        for i in range(n):
            v = a[i]
            a[i] = v * (one / (one + np.exp(-v)))
    elif act == 4:                              # hardswish = x * relu6(x + 3) / 6
        for i in range(n):
            v = a[i]
            t = v + three
            t = zero if t < zero else t
            t = six if t > six else t
            a[i] = v * t / six
    elif act == 5:                              # sigmoid
        for i in range(n):
            a[i] = one / (one + np.exp(-a[i]))
    elif act == 6:                              # gelu (erf form, PyTorch's default)
        for i in range(n):
            v = a[i]
            a[i] = v * half * (one + math.erf(v * rsqrt2))


@njit
def _tail(yf, a, e, rf, hr, act, k):
    """yf[a:e] = act(yf[a:e] + rf[a:e]) in place, rf where hr: flat runs long enough that
    the loops vectorise (a loop per plane of 7x7 ran its 49 elements scalar, 1.2 ns each)."""
    d = yf[a:e]
    if hr:
        r = rf[a:e]
        for i in range(d.size):
            d[i] += r[i]
    _act(d, act, k)


@njit
def _planes_run(t0, t1, y, n0, S, tr, same, b, hb, r, hr, act, k):
    """Planes t0 <= t < t1 of y[n0:], t = s * O + o: y[n0 + s, o] = act(src + b[o] + r[n0 + s,
    o]), src the plane S[o, s] (tr) or S[s, o], or y's own (same). The residual and the
    activation go over runs of FLUSH elements, while the run is in cache.
    Shapes: y, r (N, O, P); S (O, Ns, P) or (Ns, O, P).
    """
    O, P = y.shape[1], y.shape[2]
    yf, rf = y.reshape(-1), r.reshape(-1)
    start = t0
    for t in range(t0, t1):
        s, o = t // O, t % O
        d = y[n0 + s, o]
        if not same:
            src = S[o, s] if tr else S[s, o]
            if hb:
                bo = b[o]
                for i in range(P):
                    d[i] = src[i] + bo
            else:
                for i in range(P):
                    d[i] = src[i]
        elif hb:
            bo = b[o]
            for i in range(P):
                d[i] += bo
        if (hr or act) and ((t + 1 - start) * P >= FLUSH or t + 1 == t1):
            _tail(yf, (n0 * O + start) * P, (n0 * O + t + 1) * P, rf, hr, act, k)
            start = t + 1


def _finish_planes(y, n0, nc, S, tr, bias, residual, act):
    """y[n0:n0 + nc] = act(S + bias + residual) on all threads (_planes_run); S None: in place.
    Shapes: y (N, O, P), S (O, nc, P) (tr) or (nc, O, P), residual like y or None."""
    code, hb, hr = ACTS[act], bias is not None, residual is not None
    if S is None and not (hb or hr or code):
        return
    O, P = y.shape[1], y.shape[2]
    run_tasks(_planes_run, nc * O, y, n0, y if S is None else S, tr, S is None,
              bias if hb else _ZERO[y.dtype.char], hb, residual if hr else y, hr, code,
              _consts(y.dtype), parallel=nc * O * P >= PARALLEL_MIN)


def _check(x, packed, spec, act, residual, out):
    if act not in ACTS:
        raise ValueError(f"unknown activation {act!r}; known: {', '.join(map(str, ACTS))}")
    if tuple(x.shape) != spec.x_shape:
        raise ValueError(f"input of shape {tuple(x.shape)} does not fit {spec}")
    if residual is not None and (tuple(residual.shape) != spec.y_shape
                                 or residual.dtype != packed.dtype):
        raise ValueError(f"residual of shape {tuple(residual.shape)} and dtype "
                         f"{residual.dtype} does not fit {spec}")
    if out is not None:
        if (tuple(out.shape) != spec.y_shape or out.dtype != packed.dtype
                or not out.flags.c_contiguous or not out.flags.writeable):
            raise ValueError(f"out of shape {tuple(out.shape)} and dtype {out.dtype} does not "
                             f"fit {spec} (C-contiguous, writeable)")
        if np.may_share_memory(out, x) or (residual is not None
                                           and np.may_share_memory(out, residual)):
            raise ValueError("out must not overlap x or residual")


@njit
def _packed_at(q, Wq, OW, OH):
    """The packed index in (OH, OW) of the first valid pixel at or after wide pixel q."""
    oh, ow = q // Wq, q % Wq
    return min(OH * OW, oh * OW + min(ow, OW))


@njit
def _blocked_run(u0, u1, tile, xp, offs, wp, bp, y, n0, n, G, V, OBn, nb, PL, Wq, L, B, r, hr,
                 act, k):
    """blocked._fwd_run's tiles in units u0 <= u < u1, u = (s * G + g) * NB + bg: pixel blocks
    bg*B .. bg*B + B - 1 of sample s, group g, for every output block, then the residual and
    the activation over the units' outputs while they are in cache (the tiles start from the
    bias). A unit's outputs are one run of packed pixels per channel: per tile, runs of 48 or
    fewer pixels made the epilogue cost 30 % of a 64x56x56 conv (1.0 -> 1.33 ms).
    Shapes: as blocked._fwd_run; r like y.
    """
    RW, PV = tile_rows(tile), tile_vecs(tile)
    R = offs.shape[0]
    _, O, OH, OW = y.shape
    Og, P, NB = O // G, OH * OW, (nb + B - 1) // B
    yf, rf = y.reshape(-1), r.reshape(-1)
    dm = np.empty(2 * PV, np.int64)
    for u in range(u0, u1):
        bg, kk = u % NB, u // NB
        g, s = kk % G, kk // G
        b0, b1 = bg * B, min(nb, bg * B + B)
        for blk in range(b0, b1):
            q = blk * PV * L
            for v in range(PV):
                dm[2 * v], dm[2 * v + 1] = blocked._lanes(q + v * L, L, Wq, OW, OH)
            for ob in range(OBn):
                fwd_tile(tile, xp, (g * V * n + s) * PL + q, offs, wp, (g * OBn + ob) * R * RW,
                         bp, (g * OBn + ob) * RW, y, ((n0 + s) * O + g * Og + ob * RW) * P, P,
                         min(RW, Og - ob * RW), dm)
        if hr or act:
            p0 = _packed_at(b0 * PV * L, Wq, OW, OH)
            p1 = _packed_at(b1 * PV * L, Wq, OW, OH)
            if p1 > p0:
                for o in range(g * Og, g * Og + Og):
                    a = ((n0 + s) * O + o) * P
                    _tail(yf, a + p0, a + p1, rf, hr, act, k)


def _blocked_form(packed, spec):
    """blocked's weights and bias in its tile layout (as its _conv makes them every call)."""
    G, O, dt = spec.groups, spec.O, packed.dtype
    RW = blocked.TILE.rows
    OBn = -(-(O // G) // RW)
    wt = np.zeros((G, OBn * RW, packed.w[0].size), dt)
    wt[:, :O // G] = packed.w.reshape(G, O // G, -1)
    wp = np.ascontiguousarray(wt.reshape(G, OBn, RW, -1).transpose(0, 1, 3, 2)).ravel()
    bp = np.zeros(G * OBn * RW, dt)
    if packed.bias is not None:
        bp.reshape(G, OBn * RW)[:, :O // G] = packed.bias.reshape(G, O // G)
    return wp, bp


def _blocked(x, packed, spec, act, residual, y):
    wp, bp = packed.form(("blocked", blocked.TILE), spec, _blocked_form)
    geo = blocked._geometry(x.shape, spec.w_shape, spec.padding, spec.stride, spec.dilation,
                            spec.groups, x.dtype, blocked.TILE, False, blocked.WORKSPACE_BYTES,
                            blocked.PARALLEL_MIN)
    hr = residual is not None
    r = residual if hr else y
    threads = numba.get_num_threads() if geo.par else 1
    for n0, n1 in geo.chunks(spec.N):
        n = n1 - n0
        # pixel blocks per unit: up to UNIT_BLOCKS, while there are UNITS_PER_THREAD units a
        # thread (fewer, bigger units would leave a thread idle at the end)
        B = max(1, min(UNIT_BLOCKS, n * spec.groups * geo.nb // (UNITS_PER_THREAD * threads)))
        units = n * spec.groups * -(-geo.nb // B)
        run_tasks(_blocked_run, units, geo.tile.token, geo.padded(x, n0, n1), geo.offsets(n),
                  wp, bp, y, n0, n, spec.groups, geo.V, geo.OBn, geo.nb, geo.PL, geo.Wq, geo.L,
                  B, r, hr, ACTS[act], _consts(x.dtype), parallel=geo.par)
    return y


def _im2col_form(packed, spec):
    G = spec.groups
    return (np.ascontiguousarray(packed.w.reshape(G, spec.O // G, -1)),)


def _im2col(x, packed, spec, act, residual, y):
    """im2col's forward, each chunk's GEMM output finished (bias, residual, act) as it is moved
    into y (or in place, one sample a chunk); a plain 1x1 conv of one sample skips the copy."""
    (wg,) = packed.form("im2col", spec, _im2col_form)
    G, O, P, N = spec.groups, spec.O, spec.OH * spec.OW, spec.N
    plain1x1 = (spec.KH == spec.KW == 1 and spec.stride == (1, 1) and not any(spec.padding))
    y = y.reshape(N, O, P)
    r = None if residual is None else residual.reshape(y.shape)
    for n0, n1, col, rs, geom in im2col._chunks(spec, x.dtype):
        nc = n1 - n0
        if plain1x1 and nc == 1:
            cg = x[n0].reshape(G, -1, P)
        else:
            im2col._im2col(x[n0:n1], col, geom, rs)
            cg = col.reshape(G, -1, nc * P)
        if nc == 1:
            np.matmul(wg, cg, out=y[n0].reshape(G, O // G, P))
            _finish_planes(y, n0, 1, None, False, packed.bias, r, act)
        else:
            yc = scratch("fused_gemm", (G, O // G, nc * P), x.dtype)
            np.matmul(wg, cg, out=yc)
            _finish_planes(y, n0, nc, yc.reshape(O, nc, P), True, packed.bias, r, act)
    return y.reshape(spec.y_shape)


@njit
def _dw_phases(ph, plane, pt, pl, sh, sw):
    """Copy the plane into its padded image split into sh*sw phase planes: ph[a*sw + b, i, j] =
    xpad[i*sh + a, j*sw + b]. The rest of ph, its padding, is left as it is (zero).
    Shapes: ph (sh*sw, Hq, Wq), plane (H, W)."""
    H, W = plane.shape
    for h in range(H):
        a, i = (h + pt) % sh, (h + pt) // sh
        for b in range(sw):                     # the columns w of phase b, every sw-th
            w0 = (b - pl) % sw
            row = ph[a * sw + b, i, (w0 + pl) // sw:]
            src = plane[h, w0:]
            for j in range((W - w0 + sw - 1) // sw):
                row[j] = src[j * sw]


@njit
def _dw_run(b0, b1, x, w, y, g, Hq, Wq, bias, hb, r, hr, act, k):
    """Blocks b0 <= blk < b1 of the (n, c) planes, as depthwise._fwd_run, at any stride: the
    padded plane split into phase planes (as blocked does) makes every tap one unit-stride
    loop over the wide rows of Wq, oh * Wq + ow reading its phase plane at a fixed offset
    (stride 2 ran row by row, strided: MobileNetV2's 96x112x112 /2 took 2.9 ms, 4.5x
    PyTorch's). Sums start from the bias; the residual and act go over runs of FLUSH.
    Shapes: x (N, C, H, W), w (O, 1, KH, KW) -> y (N, O, OH, OW).
    """
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, m, N, C = g
    ph, wide = np.zeros((sh * sw, Hq, Wq), x.dtype), np.zeros((OH, Wq), x.dtype)
    pf, yw, M, S = ph.reshape(-1), wide.reshape(-1), OH * Wq, Hq * Wq
    B, O = depthwise.BLOCKS, y.shape[1]
    yf, rf, P = y.reshape(-1), r.reshape(-1), OH * OW
    nc0, nc1 = b0 * N * C // B, b1 * N * C // B
    start = nc0 * m * P                         # the planes written and not yet finished
    offs = np.empty(KH * KW, np.int64)          # each tap's phase plane and offset in it
    for i in range(KH):
        for j in range(KW):
            offs[i * KW + j] = (((i * dh) % sh * sw + (j * dw) % sw) * S
                                + (i * dh) // sh * Wq + (j * dw) // sw)
    for nc in range(nc0, nc1):
        n, c = nc // C, nc % C
        if sh == 1 and sw == 1:
            depthwise._fill(ph[0], x[n, c], pt, pl)
        else:
            _dw_phases(ph, x[n, c], pt, pl, sh, sw)
        for o in range(c * m, c * m + m):
            yw[:] = bias[o] if hb else k[0]
            for i in range(KH):
                for j in range(KW):
                    src, wij = pf[offs[i * KW + j]:], w[o, 0, i, j]
                    for q in range(M):
                        yw[q] += wij * src[q]
            depthwise._copy(y[n, o], wide[:, :OW])
            end = (n * O + o + 1) * P
            if (hr or act) and (end - start >= FLUSH or nc == nc1 - 1 and o == c * m + m - 1):
                _tail(yf, start, end, rf, hr, act, k)
                start = end


def _depthwise(x, packed, spec, act, residual, y):
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    g = (spec.KH, spec.KW, sh, sw, dh, dw, pt, pl, spec.OH, spec.OW, spec.O // spec.C,
         spec.N, spec.C)
    # phase planes tall and wide enough for the image, every tap's reach, and the wide rows'
    # overrun into the next row (one more row)
    Hq = max(-(-(pt + spec.H) // sh), spec.OH + (spec.KH - 1) * dh // sh) + 1
    Wq = max(-(-(pl + spec.W) // sw), spec.OW + (spec.KW - 1) * dw // sw)
    hb, hr = packed.bias is not None, residual is not None
    run_tasks(_dw_run, depthwise.BLOCKS, x, packed.w, y, g, Hq, Wq,
              packed.bias if hb else np.zeros(1, x.dtype), hb, residual if hr else y, hr,
              ACTS[act], _consts(x.dtype), parallel=spec.macs >= depthwise.PARALLEL_MIN)
    return y


# The kernels with a fused driver here; the others run as the plain path plus one epilogue pass.
# Each driver is exact only for finite weights (as its kernel checks on every call; pack()
# checks once).
DRIVERS = {blocked: _blocked, im2col: _im2col, depthwise: _depthwise}


def _stem(s):
    return (blocked.FAST and s.groups == 1 and s.C < 8 and s.KH * s.KW > 1 and s.O <= 128
            and s.dilation == (1, 1))


def _wide_ok(s):
    """A batch of 3x3-like convs whose wide rows waste at most a quarter more pixels than
    they keep (14x14 outputs and up at pad 1; not 7x7: 96 computed for 49)."""
    if not (blocked.FAST and s.N >= BATCH_MIN and s.groups == 1 and s.KH * s.KW > 1):
        return False
    _, _, pl, pr = s.padding
    Wq = -(-(s.W + pl + pr) // s.stride[1])
    block = blocked.TILE.vecs * blocked.TILE.lanes(s.dtype)
    return -(-(s.OH * Wq) // block) * block <= 1.25 * s.OH * s.OW


def choose(spec, cache=None):
    """The kernel for spec's forward: a forced one (kernels.use, TATAMIKOMI_CONV, the
    autotuner) as select() says, else blocked for a stem (fewer than 8 input channels, up to
    128 outputs: the rules send these to im2col, whose column copy dominates; forward only,
    1x3x224x224 7x7/2 -> 64: 1.8 against 3.1+ ms, 8x3x224x224 3x3/2 -> 32: 3.6 against
    12.6 ms), and for batches of 8+ (_wide_ok: RULES.md's forward column, 8x256x14x14
    3x3: 7.8 against 8.5 ms; 8x64x56x56 3x3/2: 2.6 against 2.9), else the rules' choice.
    Every kernel gives the plain path's results to rounding.
    cache: a dict that keeps the unforced choice per spec (the rules took 2-3 us a call).
    """
    stack = getattr(_forced, "stack", None)
    tuning = sys.modules.get("tatamikomi.backends.conv")
    if (stack or os.environ.get("TATAMIKOMI_CONV")
            or (tuning is not None and tuning.benchmark)):
        return select(spec)
    kernel = cache.get(spec) if cache is not None else None
    if kernel is None:
        kernel = blocked if _stem(spec) or _wide_ok(spec) else rule(spec).kernel
        if cache is not None:
            cache[spec] = kernel
    return kernel


def forward(x, packed: Packed, spec: ConvSpec, act=None, residual=None, out=None):
    """act(conv(x, w) + bias + residual), act one of ACTS, residual None or like y; written
    into out if given (C-contiguous, y's shape and dtype, overlapping neither x nor residual:
    a buffer reused from call to call), else into a new array.

    Shapes: x (N, C, H, W), residual (N, O, OH, OW) -> y (N, O, OH, OW).
    """
    _check(x, packed, spec, act, residual, out)
    x = np.ascontiguousarray(x, packed.dtype)
    if residual is not None:
        residual = np.ascontiguousarray(residual)
    kernel = choose(spec, packed.kernels)
    driver = DRIVERS.get(kernel) if packed.finite else None
    y = np.empty(spec.y_shape, packed.dtype) if out is None else out
    if driver is not None:
        return driver(x, packed, spec, act, residual, y)
    bias = packed.bias
    if bias is not None and getattr(kernel, "FUSES_BIAS", False):
        z, bias = kernel.forward(x, packed.w, spec, bias=bias), None
    else:
        z = kernel.forward(x, packed.w, spec)
    y = y.reshape(spec.N, spec.O, -1)
    _finish_planes(y, 0, spec.N, z.reshape(y.shape), False, bias,
                   None if residual is None else residual.reshape(y.shape), act)
    return y.reshape(spec.y_shape)


__all__ = ["ACTS", "Packed", "forward", "pack", "supports_act"]
