"""PyTorch's CPU distributions on the mt19937 stream, value for value: ndarray in, filled in place.

Each fill takes an Engine (kernels/mt19937.py) and draws exactly the words PyTorch draws, in its
order, through its transform and its rounding:
  uniform   float32 (half too, rounded after): 24 low bits of one word * 2^-24; float64: 53 bits
            of a 64-bit draw * 2^-53; then x * (to - from) + from, and a value that rounds to
            `to` becomes `from`.
  normal    float32/float64, contiguous, >= 16 elements: uniforms for every element, then
            Box-Muller on blocks of 16 (first 8 give the radius, last 8 the angle); a ragged
            tail redoes the last 16 with 16 fresh uniforms. float32 does it with Cephes-style
            polynomials on x86 with AVX2 (PyTorch's avx_mathfun), with libm elsewhere; half is
            the float32 fill rounded, its first pass drawing the whole blocks only.
            Anything else: one double Box-Muller pair at a time, the second kept in the Engine.
  bernoulli u < p, u a float64 uniform (a float32 one when p is a float32 tensor).
  random_   (w % range) + from, w one word below a range of 2^28, a 64-bit draw from there on.
  randperm  n - 1 swaps, each with w % (n - i).
A serial kernel walks a non-contiguous tensor in memory order, as PyTorch's TensorIterator does.

Where a mul-add rounds once: the explicit FMAs of PyTorch's normal fills always; the a * b + c its
compiler fused (uniform, the one-at-a-time normal) only where it builds with FMA, i.e. not in
x86's baseline kernels (ATEN_CPU_CAPABILITY=default, or a CPU without AVX2 and FMA).
"""
import math
import os
import platform

import numpy as np
from llvmlite import binding, ir
from numba.core import cgutils
from numba.extending import intrinsic

from . import mt19937
from ._jit import njit, run_tasks

TWO24, TWO53 = np.float32(2.0 ** -24), 2.0 ** -53
RANGE_64 = 1 << 28                      # random_ ranges from here on take 64-bit draws
PARALLEL_MIN = 1 << 14                  # smaller fills stay on the caller's thread


def capability():
    """(CONTRACT, AVX2): how PyTorch's kernels round on this CPU; see the module docstring."""
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    if not x86:
        return True, False              # e.g. aarch64: FMA is baseline, no avx_mathfun
    features = binding.get_host_cpu_features()
    fast = features.get("avx2", False) and features.get("fma", False)
    fast = fast and os.environ.get("ATEN_CPU_CAPABILITY", "").lower() != "default"
    return fast, fast


CONTRACT, AVX2 = capability()


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma), in a's float type."""
    def codegen(context, builder, sig, args):
        t = args[0].type
        name = "llvm.fma.f32" if t == ir.FloatType() else "llvm.fma.f64"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(t, [t] * 3), name)
        return builder.call(fn, args)
    return a(a, b, c), codegen


@njit
def _madd(a, b, c, fused):
    return fma(a, b, c) if fused else a * b + c


# ----- raw words turned into uniforms

@njit
def _u24(w):
    return np.float32(w & np.uint64(0xFFFFFF)) * TWO24


@njit
def _u53(w):
    return np.float64(w & np.uint64(0x1FFFFFFFFFFFFF)) * TWO53


@njit
def _pair(words, i):
    """The 64-bit draw made of 32-bit words 2i (high half) and 2i + 1."""
    return (np.uint64(words[2 * i]) << np.uint64(32)) | np.uint64(words[2 * i + 1])


@njit
def _uniform32(words, out, a, b, fused):
    """float32 uniforms; a value that rounds up to b becomes a (PyTorch keeps [a, b) open)."""
    d = b - a
    for i in range(out.size):
        x = _madd(_u24(np.uint64(words[i])), d, a, fused)
        out[i] = a if x == b else x


@njit
def _uniform64(words, out, a, b, fused):
    """float64 uniforms from pairs of words. Shapes: words (2n,) -> out (n,)."""
    d = b - a
    for i in range(out.size):
        x = _madd(_u53(_pair(words, i)), d, a, fused)
        out[i] = a if x == b else x


def uniform_(e, out, a, b):
    """out ~ U[a, b) in out's float dtype. Shapes: out any.

    Half computes in float32 (24 bits) and rounds; a value that rounds to b then becomes a."""
    def fill(flat):
        wide = flat.dtype == np.float64
        words = np.empty(flat.size * (2 if wide else 1), np.uint32)
        mt19937.fill32(e.mt, e.pos, words)
        if wide:
            _uniform64(words, flat, np.float64(a), np.float64(b), CONTRACT)
            return
        tmp = flat if flat.dtype == np.float32 else np.empty(flat.size, np.float32)
        _uniform32(words, tmp, np.float32(a), np.float32(b), CONTRACT)
        if tmp is not flat:
            flat[:] = tmp
            top, bottom = (_cast(v, flat.dtype) for v in (b, a))
            flat[flat == top] = bottom
    return serial(out, fill)


def _cast(v, dtype):
    """A Python float as PyTorch casts a double to dtype (half goes through float32)."""
    return np.float64(v) if dtype == np.float64 else dtype.type(np.float32(v))


def serial(out, fill):
    """fill(flat) over out's elements in memory order (PyTorch's order for a strided tensor);
    returns out."""
    if out.size == 0:
        return out
    if out.flags.c_contiguous:
        fill(out.reshape(-1))
        return out
    order = sorted(range(out.ndim), key=lambda k: -abs(out.strides[k]))
    view = out.transpose(order)
    tmp = np.empty(view.size, out.dtype)
    fill(tmp)
    view[...] = tmp.reshape(view.shape)
    return out


# ----- normal

@njit
def _normal_pairs(mt, pos, cache, out, mean, std, fused):
    """One double Box-Muller pair per two elements; the second waits in cache = [valid, z]."""
    left, nxt = pos[0], pos[1]
    for i in range(out.size):
        if cache[0] != 0.0:
            z = cache[1]
            cache[0] = 0.0
        else:
            w1, left, nxt = mt19937.draw64(mt, left, nxt)
            w2, left, nxt = mt19937.draw64(mt, left, nxt)
            u1, u2 = _u53(w1), _u53(w2)
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            cache[0], cache[1] = 1.0, r * math.sin(theta)
            z = r * math.cos(theta)
        out[i] = _madd(z, std, mean, fused)
    pos[0], pos[1] = left, nxt


@njit
def _box_muller64(b0, b1, d, mean, std):
    """Blocks [b0, b1) of 16 uniforms in place: 8 radii from the first half, 8 angles from the
    second (run_tasks' slices: plain threads, so a forked DataLoader worker can run it)."""
    for blk in range(b0, b1):
        b = blk * 16
        for j in range(8):
            radius = math.sqrt(-2.0 * math.log(1.0 - d[b + j]))
            theta = 2.0 * math.pi * d[b + j + 8]
            d[b + j] = fma(radius * math.cos(theta), std, mean)
            d[b + j + 8] = fma(radius * math.sin(theta), std, mean)


@njit
def _box_muller32(b0, b1, d, mean, std):
    """float32 blocks of 16 with libm (PyTorch's kernel where AVX2 is absent)."""
    one, two = np.float32(1.0), np.float32(-2.0)
    for blk in range(b0, b1):
        b = blk * 16
        for j in range(8):
            radius = np.sqrt(two * np.log(one - d[b + j]))
            theta = np.float32(2.0 * math.pi * np.float64(d[b + j + 8]))
            d[b + j] = fma(radius * np.cos(theta), std, mean)
            d[b + j + 8] = fma(radius * np.sin(theta), std, mean)


# Cephes' single-precision log and sincos, written for 8 AVX lanes (Pommier's sse_mathfun and
# Garberoglio's AVX port, zlib licence), as PyTorch's normal fill uses them. PyTorch's compiler
# fuses each multiply that feeds an add into one FMA; the fused pairs below are those it fuses.
F = np.float32
ONE, HALF, SQRTHF = F(1.0), F(0.5), F(0.707106781186547524)
LOG_P = (F(7.0376836292E-2), F(-1.1514610310E-1), F(1.1676998740E-1), F(-1.2420140846E-1),
         F(1.4249322787E-1), F(-1.6668057665E-1), F(2.0000714765E-1), F(-2.4999993993E-1),
         F(3.3333331174E-1))
LOG_Q1, LOG_Q2 = F(-2.12194440e-4), F(0.693359375)
DP1, DP2, DP3 = F(-0.78515625), F(-2.4187564849853515625e-4), F(-3.77489497744594108e-8)
SIN_P = (F(-1.9515295891E-4), F(8.3321608736E-3), F(-1.6666654611E-1))
COS_P = (F(2.443315711809948E-005), F(-1.388731625493765E-003), F(4.166664568298827E-002))
FOPI, TWO_PI = F(1.27323954473516), F(2.0 * math.pi)


@njit
def _log_ps(x):
    """ln x for 0 < x <= 1 (x here is never 0 or denormal): x = m 2^e, a polynomial in m - 1."""
    m64, ex = math.frexp(np.float64(x))         # m in [0.5, 1), exact
    m, e = np.float32(m64), np.float32(ex)
    low = m < SQRTHF                            # take m in [sqrt(1/2), sqrt(2)) around 1
    x = (m - ONE) + (m if low else np.float32(0.0))
    e = e - (ONE if low else np.float32(0.0))
    z = x * x
    y = LOG_P[0]
    for k in range(1, 9):
        y = fma(y, x, LOG_P[k])
    y = y * x
    y = fma(y, z, e * LOG_Q1)
    y = y - z * HALF
    return fma(e, LOG_Q2, x + y)


@njit
def _sincos_ps(x):
    """(sin x, cos x) for x >= 0: reduce by pi/4 in three parts, then one of two polynomials."""
    j = np.int32(x * FOPI)
    j = (j + np.int32(1)) & np.int32(-2)        # the even octant at or above x / (pi/4)
    y = np.float32(j)
    x = fma(y, DP3, fma(y, DP2, fma(y, DP1, x)))
    z = x * x
    c = fma(fma(COS_P[0], z, COS_P[1]), z, COS_P[2]) * z
    c = fma(c, z, -(z * HALF)) + ONE
    s = fma(fma(SIN_P[0], z, SIN_P[1]), z, SIN_P[2]) * z
    s = fma(s, x, x)
    if j & np.int32(2):
        s, c = c, s
    if j & np.int32(4):
        s = -s
    if (j - np.int32(2)) & np.int32(4) == 0:
        c = -c
    return s, c


@njit
def _box_muller_avx(b0, b1, d, mean, std):
    """float32 blocks of 16, as PyTorch's AVX2 kernel computes them."""
    two = np.float32(-2.0)
    for blk in range(b0, b1):
        b = blk * 16
        for j in range(8):
            radius = np.sqrt(two * _log_ps(ONE - d[b + j]))
            s, c = _sincos_ps(TWO_PI * d[b + j + 8])
            d[b + j] = fma(radius * c, std, mean)
            d[b + j + 8] = fma(radius * s, std, mean)


def _normal_fill(e, d, mean, std, whole_blocks=False):
    """PyTorch's fill for >= 16 contiguous elements. Shapes: d (n,) float32 or float64.

    The first pass draws a uniform for every element, or (whole_blocks, PyTorch's half kernel)
    only for the whole blocks of 16."""
    n = d.size
    head = d[:n - n % 16] if whole_blocks else d
    uniform_(e, head, 0.0, 1.0)
    if d.dtype == np.float64:
        transform, mean, std = _box_muller64, np.float64(mean), np.float64(std)
    else:
        transform = _box_muller_avx if AVX2 else _box_muller32
        mean, std = np.float32(mean), np.float32(std)
    run_tasks(transform, head.size // 16, head, mean, std, parallel=head.size >= PARALLEL_MIN)
    if n % 16:
        tail = d[n - 16:]                       # overwrites the last blocks' values
        uniform_(e, tail, 0.0, 1.0)
        transform(0, 1, tail, mean, std)


def normal_(e, out, mean, std):
    """out ~ N(mean, std^2) in out's float dtype. Shapes: out any.

    Half fills a float32 buffer and rounds it, as PyTorch's half kernel does."""
    if out.size >= 16 and out.flags.c_contiguous:
        flat = out.reshape(-1)
        if out.dtype == np.float16:
            tmp = np.empty(out.size, np.float32)
            _normal_fill(e, tmp, mean, std, whole_blocks=True)
            flat[:] = tmp
        else:
            _normal_fill(e, flat, mean, std)
        return out

    def fill(flat):
        z = np.empty(flat.size, np.float64)
        _normal_pairs(e.mt, e.pos, e.normal, z, float(mean), float(std), CONTRACT)
        flat[:] = z if flat.dtype != np.float16 else z.astype(np.float32)
    return serial(out, fill)


# ----- discrete and other draws

@njit
def _below64(words, p, out):
    """out[i] = u[i] < p[i] (p[0] when p has one value), u from pairs of words."""
    step = 1 if p.size > 1 else 0
    for i in range(out.size):
        out[i] = _u53(_pair(words, i)) < p[i * step]


@njit
def _below32(words, p, out):
    step = 1 if p.size > 1 else 0
    for i in range(out.size):
        out[i] = _u24(np.uint64(words[i])) < p[i * step]


def bernoulli_(e, out, p):
    """out = 1 with probability p (a float, or an array broadcast to out), else 0.

    A float p, or a float64 array, is compared with float64 uniforms; a float32 array with
    float32 ones."""
    p = np.asarray(p, np.float64 if np.ndim(p) == 0 else None)
    wide = p.dtype == np.float64
    p = p if wide else p.astype(np.float32, copy=False)

    def fill(flat):
        words = np.empty(flat.size * (2 if wide else 1), np.uint32)
        mt19937.fill32(e.mt, e.pos, words)
        probs = p.reshape(1) if p.ndim == 0 else _in_memory_order(p, out)
        tmp = flat if flat.dtype != np.float16 else np.empty(flat.size, np.uint8)
        (_below64 if wide else _below32)(words, probs, tmp)
        if tmp is not flat:
            flat[:] = tmp
    return serial(out, fill)


def _in_memory_order(p, out):
    """p broadcast to out's shape, flattened in the order serial() walks out."""
    p = np.broadcast_to(p, out.shape)
    if not out.flags.c_contiguous:
        p = p.transpose(sorted(range(out.ndim), key=lambda k: -abs(out.strides[k])))
    return np.ascontiguousarray(p).reshape(-1)


@njit
def _from_to(words, out, span, base, wide):
    """out[i] = (w % span) + base, w a word or (wide) a pair of words."""
    if wide:
        for i in range(out.size):
            out[i] = np.int64(_pair(words, i) % span) + base
    elif span <= np.uint64(0xFFFFFFFF):     # a 32-bit division is the cheaper one
        s32 = np.uint32(span)
        for i in range(out.size):
            out[i] = np.int64(np.uint32(words[i]) % s32) + base
    else:
        for i in range(out.size):
            out[i] = np.int64(np.uint64(words[i]) % span) + base


def _integers(e, out, span, base, wide):
    def fill(flat):
        words = np.empty(flat.size * (2 if wide else 1), np.uint32)
        mt19937.fill32(e.mt, e.pos, words)
        v = flat if flat.dtype == np.int64 else np.empty(flat.size, np.int64)
        _from_to(words, v, np.uint64(span), np.int64(base), wide)
        if v is not flat:
            flat[:] = v
    return serial(out, fill)


def random_(e, out, low, high):
    """Integers in [low, high) as out's dtype (int64 arithmetic, then a cast)."""
    return _integers(e, out, high - low, low, high - low >= RANGE_64)


# random_() with no bounds: each dtype's own modulus, and a 64-bit draw for int64 and float64
FULL_RANGE = {np.dtype(np.bool_): 2, np.dtype(np.uint8): 1 << 8, np.dtype(np.int8): 1 << 7,
              np.dtype(np.int16): 1 << 15, np.dtype(np.int32): 1 << 31,
              np.dtype(np.int64): 1 << 63, np.dtype(np.float16): (1 << 11) + 1,
              np.dtype(np.float32): (1 << 24) + 1, np.dtype(np.float64): (1 << 53) + 1}


def random_full_(e, out):
    """PyTorch's random_() without bounds: [0, 2^digits] for floats, [0, max] for integers."""
    return _integers(e, out, FULL_RANGE[out.dtype], 0, out.dtype in (np.int64, np.float64))


@njit
def _exponential(i0, i1, words, out, lambd):
    for i in range(i0, i1):
        out[i] = -1.0 / lambd * math.log1p(-_u53(_pair(words, i)))


def exponential_(e, out, lambd):
    """out ~ Exp(lambd), computed in float64 from float64 uniforms."""
    def fill(flat):
        words = np.empty(2 * flat.size, np.uint32)
        mt19937.fill32(e.mt, e.pos, words)
        z = flat if flat.dtype == np.float64 else np.empty(flat.size, np.float64)
        run_tasks(_exponential, z.size, words, z, float(lambd), parallel=z.size >= PARALLEL_MIN)
        if z is not flat:
            flat[:] = z if flat.dtype != np.float16 else z.astype(np.float32)
    return serial(out, fill)


@njit
def _swaps(mt, pos, out):
    """Fisher-Yates from the front: place i swaps with i + (w % (n - i))."""
    n = out.size
    for i in range(n):
        out[i] = i
    left, nxt = pos[0], pos[1]
    for i in range(n - 1):
        w, left, nxt = mt19937.draw(mt, left, nxt)
        z = i + np.int64(w % np.uint64(n - i))
        out[i], out[z] = out[z], out[i]
    pos[0], pos[1] = left, nxt


@njit
def _inside_out(mt, pos, out):
    """The inside-out shuffle PyTorch uses from n = 2^32 / 20 on: 64-bit w % (i + 1)."""
    left, nxt = pos[0], pos[1]
    for i in range(out.size):
        w, left, nxt = mt19937.draw64(mt, left, nxt)
        z = np.int64(w % np.uint64(i + 1))
        out[i] = out[z]
        out[z] = i
    pos[0], pos[1] = left, nxt


def randperm(e, n):
    """A random permutation of range(n) as int64. Shapes: -> (n,)."""
    out = np.empty(n, np.int64)
    (_swaps if n < (2 ** 32 - 1) // 20 else _inside_out)(e.mt, e.pos, out)
    return out
