"""Numba loops for the activations CNNs run on big maps: one pass each way instead of NumPy's
several temporaries (np.where, then a multiply, then a cast...).

Each loop is the same formula as its row in ops/activation.py (the reference: the tests hold
both to PyTorch). Scalars arrive in x's dtype, so float32 inputs are computed in float32 as
PyTorch's kernels compute them. A loop runs serially below PARALLEL_MIN elements, where
starting Numba's threads costs more than it saves (kernels/elementwise.py measures it).
"""
import math

import numpy as np

from ..kernels._jit import njit, prange, split_flat
from ..kernels.elementwise import PARALLEL_MIN


def _leaky(x, y, slope):
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else v * slope


def _leaky_grad(x, gy, gx, slope):
    for i in prange(x.size):
        gx[i] = gy[i] if x[i] > 0 else gy[i] * slope


def _hardtanh(x, y, lo, hi):
    for i in prange(x.size):
        v = x[i]
        y[i] = lo if v < lo else (hi if v > hi else v)


def _hardtanh_grad(x, gy, gx, lo, hi):
    for i in prange(x.size):
        v = x[i]
        gx[i] = 0 if (v <= lo or v >= hi) else gy[i]


def _hardswish(x, y, three, six, zero):
    for i in prange(x.size):
        v = x[i]
        y[i] = v * min(max(v + three, zero), six) / six


def _hardswish_grad(x, gy, gx, three, half):
    for i in prange(x.size):
        v = x[i]
        gx[i] = 0 if v <= -three else (gy[i] * (v / three + half) if v < three else gy[i])


def _silu(x, y, one):
    for i in prange(x.size):
        v = x[i]
        y[i] = v * (one / (one + math.exp(-v)))


def _silu_grad(x, gy, gx, one):
    for i in prange(x.size):
        v = x[i]
        s = one / (one + math.exp(-v))
        gx[i] = gy[i] * s * (one + v * (one - s))


def _gelu(x, y, half, sqrt1_2):
    for i in prange(x.size):
        v = x[i]
        y[i] = v * half * (1 + math.erf(v * sqrt1_2))


def _gelu_grad(x, gy, gx, half, sqrt1_2, inv_sqrt_2pi):
    for i in prange(x.size):
        v = x[i]
        cdf = half * (1 + math.erf(v * sqrt1_2))
        gx[i] = gy[i] * (cdf + v * math.exp(-half * v * v) * inv_sqrt_2pi)


def _gelu_tanh(x, y, half, beta, kappa):
    for i in prange(x.size):
        v = x[i]
        y[i] = half * v * (1 + math.tanh(beta * (v + kappa * v * v * v)))


def _gelu_tanh_grad(x, gy, gx, half, beta, kappa, kappa3):
    for i in prange(x.size):
        v = x[i]
        t = math.tanh(beta * (v + kappa * v * v * v))
        inner = beta * (1 + kappa3 * v * v)
        gx[i] = gy[i] * (half * (1 + t) + half * v * (1 - t * t) * inner)


def _elu(x, y, neg, scale, input_scale):
    for i in prange(x.size):
        v = x[i]
        y[i] = neg * math.expm1(v * input_scale) if v <= 0 else v * scale


def _elu_grad(x, gy, gx, negcoef, scale, input_scale):
    for i in prange(x.size):
        v = x[i]
        gx[i] = gy[i] * negcoef * math.exp(v * input_scale) if v <= 0 else gy[i] * scale


def _compiled(fn):
    serial = njit(fn)               # its prange is a range; split_flat runs it on all threads
    return serial, split_flat(serial)


def _scalars(fn, p):
    """The loop's scalar arguments for the row's parameters, forward and backward."""
    if fn == "leaky_relu":
        return (p["slope"],), (p["slope"],)
    if fn == "hardtanh":
        return (p["lo"], p["hi"]), (p["lo"], p["hi"])
    if fn == "hardswish":
        return (3.0, 6.0, 0.0), (3.0, 0.5)
    if fn == "silu":
        return (1.0,), (1.0,)
    if fn == "gelu" and p["approximate"] == "tanh":
        beta, kappa = math.sqrt(2 / math.pi), 0.044715
        return (0.5, beta, kappa), (0.5, beta, kappa, 3 * kappa)
    if fn == "gelu":
        return (0.5, math.sqrt(0.5)), (0.5, math.sqrt(0.5), 1 / math.sqrt(2 * math.pi))
    a, s, i = p["alpha"], p["scale"], p["input_scale"]           # elu, selu, celu
    return (a * s, s, i), (i * a * s, s, i)


LOOPS = {name: (_compiled(f), _compiled(g)) for name, f, g in [
    ("leaky_relu", _leaky, _leaky_grad), ("hardtanh", _hardtanh, _hardtanh_grad),
    ("hardswish", _hardswish, _hardswish_grad), ("silu", _silu, _silu_grad),
    ("gelu", _gelu, _gelu_grad), ("gelu_tanh", _gelu_tanh, _gelu_tanh_grad),
    ("elu", _elu, _elu_grad), ("celu", _elu, _elu_grad)]}
MIN_SIZE = 1 << 12            # below this NumPy's passes are already cheap


def usable(fn, *arrays):
    """True when fn has a loop and the arrays are big, contiguous float32/float64 of one dtype."""
    a = arrays[0]
    return (fn in LOOPS and a.size >= MIN_SIZE and a.dtype in (np.float32, np.float64) and
            all(b.dtype == a.dtype and b.flags.c_contiguous for b in arrays))


def _key(fn, p):
    return "gelu_tanh" if fn == "gelu" and p["approximate"] == "tanh" else fn


def forward(fn, x, p):
    """y = fn(x). Shapes: x (*) -> y (*)."""
    (serial, parallel), _ = LOOPS[_key(fn, p)]
    y = np.empty_like(x)
    loop = parallel if x.size >= PARALLEL_MIN else serial
    loop(x.reshape(-1), y.reshape(-1), *(x.dtype.type(v) for v in _scalars(fn, p)[0]))
    return y


def backward(fn, x, gy, p):
    """gx of fn at x. Shapes: x (*), gy (*) -> gx (*)."""
    _, (serial, parallel) = LOOPS[_key(fn, p)]
    gx = np.empty_like(gy)
    loop = parallel if x.size >= PARALLEL_MIN else serial
    loop(x.reshape(-1), gy.reshape(-1), gx.reshape(-1),
         *(x.dtype.type(v) for v in _scalars(fn, p)[1]))
    return gx
