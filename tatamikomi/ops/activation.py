"""Activation functions, one row each: forward, derivative and PyTorch's node name.

As in ops/math.py, a derivative row reads (x, y, gy, p) -> gx, with y the forward's result and
p the activation's parameters. The comparisons at the kinks are PyTorch's, so a gradient at
exactly 0, 6 or +-3 is the one-sided value PyTorch picks (each row says which), and NaN takes
whichever branch PyTorch's comparison sends it to.
"""
import math

import numpy as np

from ..autograd import Function
from . import _activation_loops as loops
from .math import UNARY

SQRT1_2, SQRT_2PI = math.sqrt(0.5), math.sqrt(2 * math.pi)
GELU_BETA, GELU_KAPPA = math.sqrt(2 / math.pi), 0.044715
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = UNARY["erf"][0]


def _c(v, x):
    """A Python number as a 0-d array of x's dtype: float32 stays float32 in NumPy's rules."""
    return np.asarray(v, x.dtype)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x, beta, threshold):
    # above the threshold log1p(exp(bx)) / b is x to working precision (and exp would overflow)
    bx = x * _c(beta, x)
    return np.where(bx > threshold, x, np.log1p(np.exp(bx)) / _c(beta, x))


# ----- the rows: forward(x, p), derivative(x, y, gy, p)

def _leaky(x, p):
    return np.where(x > 0, x, x * _c(p["slope"], x))


def _leaky_grad(x, y, gy, p):                        # x <= 0 (and NaN) take the slope
    return np.where(x > 0, gy, gy * _c(p["slope"], gy))


def _hardtanh(x, p):
    return np.where(x < p["lo"], _c(p["lo"], x), np.where(x > p["hi"], _c(p["hi"], x), x))


def _hardtanh_grad(x, y, gy, p):                     # 0 at both ends, NaN passes gy
    return np.where((x <= p["lo"]) | (x >= p["hi"]), _c(0, gy), gy)


def _elu(x, p):
    neg = _c(p["alpha"] * p["scale"], x) * np.expm1(x * _c(p["input_scale"], x))
    return np.where(x <= 0, neg, x * _c(p["scale"], x))


def _elu_grad(x, y, gy, p):                          # x == 0 takes the exponential branch
    a, s, i = (_c(p[k], gy) for k in ("alpha", "scale", "input_scale"))
    return np.where(x <= 0, gy * i * a * s * np.exp(x * i), gy * s)


def _gelu(x, p):
    if p["approximate"] == "tanh":
        inner = _c(GELU_BETA, x) * (x + _c(GELU_KAPPA, x) * x * x * x)
        return _c(0.5, x) * x * (1 + np.tanh(inner))
    return x * _c(0.5, x) * (1 + _erf(x * _c(SQRT1_2, x)))


def _gelu_grad(x, y, gy, p):
    if p["approximate"] == "tanh":
        t = np.tanh(_c(GELU_BETA, x) * (x + _c(GELU_KAPPA, x) * x * x * x))
        inner = _c(GELU_BETA, x) * (1 + _c(3 * GELU_KAPPA, x) * x * x)
        return gy * (_c(0.5, x) * (1 + t) + _c(0.5, x) * x * (1 - t * t) * inner)
    cdf = _c(0.5, x) * (1 + _erf(x * _c(SQRT1_2, x)))
    pdf = np.exp(_c(-0.5, x) * x * x) / _c(SQRT_2PI, x)
    return gy * (cdf + x * pdf)


def _silu_grad(x, y, gy, p):
    s = _sigmoid(x)
    return gy * s * (1 + x * (1 - s))


def _hardswish(x, p):
    return x * np.clip(x + _c(3, x), 0, 6) / _c(6, x)


def _hardswish_grad(x, y, gy, p):                    # 0 at -3, 1 at +3
    mid = gy * (x / _c(3, x) + _c(0.5, x))
    return np.where(x <= -3, _c(0, gy), np.where(x < 3, mid, gy))


def _hardsigmoid_grad(x, y, gy, p):                  # 0 at both ends
    # PyTorch multiplies by 1/6 rounded to float32, in float64 too
    return np.where((x > -3) & (x < 3), gy * _c(np.float32(1 / 6), gy), _c(0, gy))


def _softplus_grad(x, y, gy, p):
    z = np.exp(x * _c(p["beta"], x))
    return np.where(x * _c(p["beta"], x) > p["threshold"], gy, gy * z / (z + 1))


def _mish(x, p):
    return x * np.tanh(_softplus(x, 1, 20))


def _mish_grad(x, y, gy, p):
    t = np.tanh(_softplus(x, 1, 20))
    return gy * (t + x * _sigmoid(x) * (1 - t * t))


def _logsigmoid(x, p):                               # -softplus(-x), stable both ways
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def _logsigmoid_grad(x, y, gy, p):
    return gy * _sigmoid(-x)


def _threshold(x, p):
    return np.where(x <= p["threshold"], _c(p["value"], x), x)


def _threshold_grad(x, y, gy, p):
    return np.where(x <= p["threshold"], _c(0, gy), gy)


def _shrink_mask(x, p):
    return (x >= -p["lambd"]) & (x <= p["lambd"])


def _hardshrink(x, p):
    return np.where(_shrink_mask(x, p), _c(0, x), x)


def _softshrink(x, p):
    lam = _c(p["lambd"], x)
    return np.where(x > lam, x - lam, np.where(x < -lam, x + lam, x * 0))     # NaN stays


def _shrink_grad(x, y, gy, p):
    return np.where(_shrink_mask(x, p), _c(0, gy), gy)


ROWS = {
    "leaky_relu": (_leaky, _leaky_grad, "LeakyReluBackward"),
    "hardtanh": (_hardtanh, _hardtanh_grad, "HardtanhBackward"),
    "elu": (_elu, _elu_grad, "EluBackward"),
    "celu": (_elu, _elu_grad, "CeluBackward"),
    "gelu": (_gelu, _gelu_grad, "GeluBackward"),
    "silu": (lambda x, p: x * _sigmoid(x), _silu_grad, "SiluBackward"),
    "hardswish": (_hardswish, _hardswish_grad, "HardswishBackward"),
    "hardsigmoid": (lambda x, p: np.clip(x + _c(3, x), 0, 6) / _c(6, x), _hardsigmoid_grad,
                    "HardsigmoidBackward"),
    "softplus": (lambda x, p: _softplus(x, p["beta"], p["threshold"]), _softplus_grad,
                 "SoftplusBackward"),
    "mish": (_mish, _mish_grad, "MishBackward"),
    "logsigmoid": (_logsigmoid, _logsigmoid_grad, "LogSigmoidBackward"),
    "threshold": (_threshold, _threshold_grad, "ThresholdBackward"),
    "hardshrink": (_hardshrink, _shrink_grad, "HardshrinkBackward"),
    "softshrink": (_softshrink, _shrink_grad, "SoftshrinkBackward"),
}
# PyTorch's in-place leaky_relu_, elu_, celu_ and threshold_ get a second node kind ("...1",
# backward from the result); ours still reads the saved input (copied before the write).
INPLACE_KIND = {"leaky_relu", "elu", "celu", "threshold"}


class Activation(Function):
    """One row of ROWS as a node. Shapes: x (*) -> y (*)."""

    def forward(self, x, *, fn, params, inplace=False):
        self.fn, self.row, self.params = fn, ROWS[fn], params
        self.kind = self.row[2] + ("1" if inplace and fn in INPLACE_KIND else "0")
        self.save_for_backward(x)
        if loops.usable(fn, x):                           # one Numba pass on big maps
            return loops.forward(fn, x, params)
        with np.errstate(all="ignore"):                   # inf and NaN quietly, as PyTorch
            return np.asarray(self.row[0](x, params), x.dtype)

    def backward(self, gy):
        x = self.saved[0]
        if loops.usable(self.fn, x, gy):
            return loops.backward(self.fn, x, gy, self.params)
        with np.errstate(all="ignore"):
            return np.asarray(self.row[1](x, None, gy, self.params), gy.dtype)

    def name(self):
        return self.kind


class Prelu(Function):
    """max(0, x) + w * min(0, x), one w per channel (axis 1) or one for all.

    Shapes: x (N, C, *) or (*), w (C,) or (1,) or () -> y like x.
    """

    def forward(self, x, w):
        self.save_for_backward(x, w)
        self.wshape = (1, -1) + (1,) * (x.ndim - 2) if w.size > 1 else ()
        return np.where(x > 0, x, x * w.reshape(self.wshape))

    def backward(self, gy):
        x, w = self.saved
        need_x, need_w = self.needs_input_grad
        pos = x > 0
        gx = np.where(pos, gy, gy * w.reshape(self.wshape)) if need_x else None
        gw = None
        if need_w:
            g = np.where(pos, 0, x * gy)
            axes = tuple(i for i in range(x.ndim) if i != 1) if w.size > 1 else None
            gw = g.sum(axis=axes).reshape(w.shape).astype(w.dtype)
        return gx, gw

    def name(self):
        return "PreluKernelBackward0"


class Glu(Function):
    """a * sigmoid(b), a and b the halves of x along axis. Shapes: (.., 2K, ..) -> (.., K, ..)."""

    def forward(self, x, *, axis):
        a, b = np.split(x, 2, axis=axis)
        s = _sigmoid(b)
        self.save_for_backward(a, s)
        self.axis = axis
        return a * s

    def backward(self, gy):
        a, s = self.saved
        return np.concatenate([gy * s, gy * a * s * (1 - s)], axis=self.axis)

    def name(self):
        return "GluBackward0"


SELU = dict(alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0)
