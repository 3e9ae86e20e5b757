"""Inference convs with their epilogue fused: y = act(conv(x, w) + bias + residual), the weights
copied once into pack() and used by every forward after.

The plain path is a conv, then a pass over y per addend and one for the activation; here the
bias, the residual and the activation are applied while the conv's output is still in cache.
Results equal the plain path's (kernels.select(spec).forward, + bias, + residual, the
activation as PyTorch defines it) to rounding: a kernel that starts its sums from the bias
rounds once less.
"""
import math

import numpy as np

from . import blocked, depthwise, im2col, select
from ._finite import finite
from ._jit import njit, run_tasks
from ._scratch import scratch
from ._simd import fwd_tile, tile_rows, tile_vecs
from .spec import ConvSpec

# The activations, as PyTorch's functional forms; codes for the compiled loops.
ACTS = {None: 0, "relu": 1, "relu6": 2, "silu": 3, "hardswish": 4, "sigmoid": 5, "gelu": 6}

# Elements below which the epilogue pass runs on one thread (as elementwise.PARALLEL_MIN).
PARALLEL_MIN = 1 << 16


def supports_act(name) -> bool:
    """Whether forward's act= takes name (None: no activation)."""
    return name in ACTS


class Packed:
    """One conv's weights (and bias) copied for forward, and what forward makes of them once
    per kernel and spec. Opaque: build with pack()."""

    __slots__ = ("w", "bias", "finite", "dtype", "_forms")

    def __init__(self, w, bias, dtype):
        self.w = np.array(w, dtype, order="C", copy=True)
        self.bias = None if bias is None else np.array(bias, dtype, order="C", copy=True)
        self.finite = finite(self.w)
        self.dtype = np.dtype(dtype)
        self._forms = {}

    def form(self, name, spec, make):
        """make(self, spec): the weights as kernel `name` wants them, made once (they depend on
        the weights and the geometry only, not on the batch size)."""
        got = self._forms.get(name)
        if got is None:
            got = self._forms[name] = make(self, spec)
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
def _finish(d, s, b, hb, r, hr, act, k, same):
    """d = act(s + b + r), the addends where hb, hr say so; same: d is s. Shapes: d, s, r (n,)."""
    n = d.size
    if hb and hr:
        for i in range(n):
            d[i] = (s[i] + b) + r[i]
    elif hb:
        for i in range(n):
            d[i] = s[i] + b
    elif hr:
        for i in range(n):
            d[i] = s[i] + r[i]
    elif not same:
        for i in range(n):
            d[i] = s[i]
    _act(d, act, k)


@njit
def _epilogue_run(t0, t1, y, b, hb, r, hr, act, k):
    """Planes t0 <= t < t1 of y (N, O, P): y = act(y + b[o] + r), in place."""
    O = y.shape[1]
    for t in range(t0, t1):
        n, o = t // O, t % O
        _finish(y[n, o], y[n, o], b[o] if hb else b[0], hb, r[n, o] if hr else y[n, o], hr,
                act, k, True)


def _epilogue(y, bias, residual, act):
    """y = act(y + bias + residual) in place, one pass on all threads. Shapes: y (N, O, P)."""
    code = ACTS[act]
    hb, hr = bias is not None, residual is not None
    if not (hb or hr or code):
        return y
    b = bias if hb else np.zeros(1, y.dtype)
    r = residual.reshape(y.shape) if hr else y
    run_tasks(_epilogue_run, y.shape[0] * y.shape[1], y, b, hb, r, hr, code, _consts(y.dtype),
              parallel=y.size >= PARALLEL_MIN)
    return y


def _check(x, packed, spec, act, residual):
    if act not in ACTS:
        raise ValueError(f"unknown activation {act!r}; known: {', '.join(map(str, ACTS))}")
    if tuple(x.shape) != spec.x_shape:
        raise ValueError(f"input of shape {tuple(x.shape)} does not fit {spec}")
    if residual is not None and (tuple(residual.shape) != spec.y_shape
                                 or residual.dtype != x.dtype):
        raise ValueError(f"residual of shape {tuple(residual.shape)} and dtype "
                         f"{residual.dtype} does not fit {spec}")


@njit
def _popcount(m):
    c = 0
    while m:
        m &= m - 1
        c += 1
    return c


@njit
def _blocked_run(t0, t1, tile, xp, offs, wp, bp, y, n0, n, G, V, OBn, nb, PL, Wq, L, r, hr,
                 act, k):
    """blocked._fwd_run's tasks, each tile's outputs then finished (+ residual, act) while
    they are in L1: the valid pixels of a tile's vectors are one run of y's packed pixels."""
    RW, PV = tile_rows(tile), tile_vecs(tile)
    R = offs.shape[0]
    _, O, OH, OW = y.shape
    Og, P = O // G, OH * OW
    yf, rf = y.reshape(-1), r.reshape(-1)
    dm = np.empty(2 * PV, np.int64)
    last, p0, cnt = -1, 0, 0
    for t in range(t0, t1):
        ob, kk = t % OBn, t // OBn
        blk, kk = kk % nb, kk // nb
        g, s = kk % G, kk // G
        q = blk * PV * L
        if q != last:
            p0, cnt = -1, 0
            for v in range(PV):
                d, m = blocked._lanes(q + v * L, L, Wq, OW, OH)
                dm[2 * v], dm[2 * v + 1] = d, m
                if m != 0:
                    p0 = d if p0 < 0 else p0
                    cnt += _popcount(m)
            last = q
        rows = min(RW, Og - ob * RW)
        yi = ((n0 + s) * O + g * Og + ob * RW) * P
        fwd_tile(tile, xp, (g * V * n + s) * PL + q, offs, wp, (g * OBn + ob) * R * RW, bp,
                 (g * OBn + ob) * RW, y, yi, P, rows, dm)
        if cnt > 0 and (hr or act):
            for j in range(rows):
                a = yi + j * P + p0
                seg = yf[a:a + cnt]
                _finish(seg, seg, seg[0], False, rf[a:a + cnt] if hr else seg, hr, act, k, True)


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


def _blocked(x, packed, spec, act, residual):
    wp, bp = packed.form("blocked", spec, _blocked_form)
    geo = blocked._geometry(x.shape, spec.w_shape, spec.padding, spec.stride, spec.dilation,
                            spec.groups, x.dtype, blocked.TILE, False, blocked.WORKSPACE_BYTES,
                            blocked.PARALLEL_MIN)
    y = np.empty(spec.y_shape, x.dtype)
    hr = residual is not None
    r = residual if hr else y
    for n0, n1 in geo.chunks(spec.N):
        n = n1 - n0
        run_tasks(_blocked_run, n * spec.groups * geo.nb * geo.OBn, geo.tile.token,
                  geo.padded(x, n0, n1), geo.offsets(n), wp, bp, y, n0, n, spec.groups, geo.V,
                  geo.OBn, geo.nb, geo.PL, geo.Wq, geo.L, r, hr, ACTS[act], _consts(x.dtype),
                  parallel=geo.par)
    return y


@njit
def _transpose_run(t0, t1, yc, y, n0, b, hb, r, hr, act, k):
    """Planes t = s * O + o of y[n0 + s, o] = act(yc[o, s*P : (s+1)*P] + b[o] + r[...]):
    the GEMM's (O, Nc * P) output moved to NCHW and finished in one pass. Shapes: y (N, O, P)."""
    O, P = y.shape[1], y.shape[2]
    for t in range(t0, t1):
        s, o = t // O, t % O
        d = y[n0 + s, o]
        _finish(d, yc[o, s * P:(s + 1) * P], b[o] if hb else b[0], hb,
                r[n0 + s, o] if hr else d, hr, act, k, False)


def _im2col_form(packed, spec):
    G = spec.groups
    return (np.ascontiguousarray(packed.w.reshape(G, spec.O // G, -1)),)


def _im2col(x, packed, spec, act, residual):
    """im2col's forward, each chunk's GEMM output finished (bias, residual, act) as it is moved
    into y (or in place, one sample a chunk); a plain 1x1 conv of one sample skips the copy."""
    (wg,) = packed.form("im2col", spec, _im2col_form)
    G, O, P, N = spec.groups, spec.O, spec.OH * spec.OW, spec.N
    plain1x1 = (spec.KH == spec.KW == 1 and spec.stride == (1, 1) and not any(spec.padding))
    y = np.empty((N, O, P), x.dtype)
    hb, hr, code, k = packed.bias is not None, residual is not None, ACTS[act], _consts(x.dtype)
    b = packed.bias if hb else np.zeros(1, x.dtype)
    r = residual.reshape(y.shape) if hr else y
    for n0, n1, col, rs, geom in im2col._chunks(spec, x.dtype):
        nc = n1 - n0
        if plain1x1 and nc == 1:
            cg = x[n0].reshape(G, -1, P)
        else:
            im2col._im2col(x[n0:n1], col, geom, rs)
            cg = col.reshape(G, -1, nc * P)
        if nc == 1:
            np.matmul(wg, cg, out=y[n0].reshape(G, O // G, P))
            if hb or hr or code:
                run_tasks(_epilogue_run, O, y[n0:n1], b, hb, r[n0:n1], hr, code, k,
                          parallel=O * P >= PARALLEL_MIN)
        else:
            yc = scratch("fused_gemm", (G, O // G, nc * P), x.dtype)
            np.matmul(wg, cg, out=yc)
            run_tasks(_transpose_run, nc * O, yc.reshape(O, nc * P), y, n0, b, hb, r, hr,
                      code, k, parallel=nc * O * P >= PARALLEL_MIN)
    return y.reshape(spec.y_shape)


@njit
def _dw_run(b0, b1, x, w, y, g, bias, hb, r, hr, act, k):
    """depthwise._fwd_run with each plane's sums started from its bias and the plane finished
    (residual, act) as it is written. Shapes: x (N, C, H, W), w (O, 1, KH, KW) -> y."""
    KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, m, N, C = g
    H, W = x.shape[2], x.shape[3]
    Hp, Wp = depthwise._padded(g, H, W)
    buf, wide = np.zeros((Hp, Wp), x.dtype), np.zeros((OH, Wp), x.dtype)
    bf, yw, M = buf.ravel(), wide.ravel(), OH * Wp
    B = depthwise.BLOCKS
    zero = k[0]
    for nc in range(b0 * N * C // B, b1 * N * C // B):
        n, c = nc // C, nc % C
        depthwise._fill(buf, x[n, c], pt, pl)
        for o in range(c * m, c * m + m):
            start = bias[o] if hb else zero
            yo = y[n, o]
            if sh == 1 and sw == 1:
                yw[:] = start
                for i in range(KH):
                    for j in range(KW):
                        src, wij = bf[i * dh * Wp + j * dw:], w[o, 0, i, j]
                        for q in range(M):
                            yw[q] += wij * src[q]
                depthwise._copy(yo, wide[:, :OW])
            else:
                yo[:] = start
                for i in range(KH):
                    for j in range(KW):
                        for oh in range(OH):
                            depthwise._rows_madd(yo[oh], buf[oh * sh + i * dh, j * dw:],
                                                 w[o, 0, i, j], sw, OW)
            if hr or act:
                plane = yo.reshape(-1)
                _finish(plane, plane, zero, False, r[n, o].reshape(-1) if hr else plane, hr,
                        act, k, True)


def _depthwise(x, packed, spec, act, residual):
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    g = (spec.KH, spec.KW, sh, sw, dh, dw, pt, pl, spec.OH, spec.OW, spec.O // spec.C,
         spec.N, spec.C)
    y = np.empty(spec.y_shape, x.dtype)
    hb, hr = packed.bias is not None, residual is not None
    run_tasks(_dw_run, depthwise.BLOCKS, x, packed.w, y, g,
              packed.bias if hb else np.zeros(1, x.dtype), hb, residual if hr else y, hr,
              ACTS[act], _consts(x.dtype), parallel=spec.macs >= depthwise.PARALLEL_MIN)
    return y


# The kernels with a fused driver here; the others run as the plain path plus one epilogue pass.
# Each driver is exact only for finite weights (as its kernel checks on every call; pack()
# checks once).
DRIVERS = {blocked: _blocked, im2col: _im2col, depthwise: _depthwise}


def forward(x, packed: Packed, spec: ConvSpec, act=None, residual=None):
    """act(conv(x, w) + bias + residual), act one of ACTS, residual None or like y.

    Shapes: x (N, C, H, W), residual (N, O, OH, OW) -> y (N, O, OH, OW).
    """
    _check(x, packed, spec, act, residual)
    x = np.ascontiguousarray(x, packed.dtype)
    if residual is not None:
        residual = np.ascontiguousarray(residual)
    kernel = select(spec)
    driver = DRIVERS.get(kernel) if packed.finite else None
    if driver is not None:
        return driver(x, packed, spec, act, residual)
    bias = packed.bias
    if bias is not None and getattr(kernel, "FUSES_BIAS", False):
        y, bias = kernel.forward(x, packed.w, spec, bias=bias), None
    else:
        y = kernel.forward(x, packed.w, spec)
    if not (y.flags.c_contiguous and y.flags.writeable) or np.may_share_memory(y, x):
        y = np.array(y, order="C")
    y = y.reshape(spec.N, spec.O, -1)
    if residual is not None:
        residual = residual.reshape(y.shape)
    return _epilogue(y, bias, residual, act).reshape(spec.y_shape)


__all__ = ["ACTS", "Packed", "forward", "pack", "supports_act"]
