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

from . import select
from ._finite import finite
from ._jit import njit, run_tasks
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


def forward(x, packed: Packed, spec: ConvSpec, act=None, residual=None):
    """act(conv(x, w) + bias + residual), act one of ACTS, residual None or like y.

    Shapes: x (N, C, H, W), residual (N, O, OH, OW) -> y (N, O, OH, OW).
    """
    _check(x, packed, spec, act, residual)
    x = np.ascontiguousarray(x, packed.dtype)
    kernel = select(spec)
    bias = packed.bias
    if bias is not None and getattr(kernel, "FUSES_BIAS", False):
        y, bias = kernel.forward(x, packed.w, spec, bias=bias), None
    else:
        y = kernel.forward(x, packed.w, spec)
    if not (y.flags.c_contiguous and y.flags.writeable) or np.may_share_memory(y, x):
        y = np.array(y, order="C")
    y = y.reshape(spec.N, spec.O, -1)
    if residual is not None:
        residual = np.ascontiguousarray(residual).reshape(y.shape)
    return _epilogue(y, bias, residual, act).reshape(spec.y_shape)


__all__ = ["ACTS", "Packed", "forward", "pack", "supports_act"]
