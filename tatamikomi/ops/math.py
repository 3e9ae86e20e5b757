"""Element-wise math, one row each: the function, its derivative, PyTorch's node name.

The derivative rows read (x, y, gy) -> gx, with y the forward's result, so each row is the
textbook rule (tinygrad keeps its gradients in one table for the same reason: one place to
check them all).
"""
import math

import numpy as np

from ..autograd import Function
from ..kernels._jit import njit

LN2, LN10 = math.log(2.0), math.log(10.0)


@njit
def _erf(x, y):
    for i in range(x.size):
        y.flat[i] = math.erf(x.flat[i])


@njit
def _erfc(x, y):                # not 1 - erf(x): that cancels to 0 for x past about 4
    for i in range(x.size):
        y.flat[i] = math.erfc(x.flat[i])


@njit
def _erfinv(x, y):
    # Newton's method on erf(y) = x from a rational first guess (Giles, 2012): three steps reach
    # float64 rounding; the ends map to +-inf as PyTorch's do.
    for i in range(x.size):
        v = x.flat[i]
        if v <= -1.0 or v >= 1.0:
            y.flat[i] = math.copysign(math.inf, v) if abs(v) == 1.0 else math.nan
            continue
        w = -math.log((1.0 - v) * (1.0 + v))
        if w < 5.0:
            w -= 2.5
            p = 2.81022636e-08
            for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                      -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
                p = c + p * w
        else:
            w = math.sqrt(w) - 3.0
            p = -0.000200214257
            for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                      -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
                p = c + p * w
        r = p * v
        for _ in range(3):
            r -= (math.erf(r) - v) / (2.0 / math.sqrt(math.pi) * math.exp(-r * r))
        y.flat[i] = r


def _numba(kernel):
    def run(x):
        x = np.ascontiguousarray(x)
        y = np.empty_like(x)
        kernel(x, y)
        return y
    return run


def _zero(x, y, gy):
    return np.zeros_like(gy)


# name: (forward, derivative (x, y, gy) -> gx, PyTorch's node, integers: True kept integral,
# False made float, None refused (as PyTorch's CPU build has no integer kernel), what
# the derivative reads and so what is saved: "x" the input, "y" the result; as PyTorch saves)
UNARY = {
    "abs": (np.abs, lambda x, y, gy: gy * np.sign(x), "AbsBackward0", True, "x"),
    "neg": (np.negative, lambda x, y, gy: -gy, "NegBackward0", True, ""),
    "sign": (lambda x: np.where(np.isnan(x), 0, np.sign(x)), _zero, "SignBackward0", True, ""),
    "square": (np.square, lambda x, y, gy: 2 * gy * x, "PowBackward0", True, "x"),
    "floor": (np.floor, _zero, "FloorBackward0", True, ""),
    "ceil": (np.ceil, _zero, "CeilBackward0", True, ""),
    "round": (np.round, _zero, "RoundBackward0", True, ""),
    "trunc": (np.trunc, _zero, "TruncBackward0", True, ""),
    "frac": (lambda x: x - np.trunc(x), lambda x, y, gy: gy, "FracBackward0", None, ""),
    "sqrt": (np.sqrt, lambda x, y, gy: gy / (2 * y), "SqrtBackward0", False, "y"),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda x, y, gy: -0.5 * gy * y ** 3,
              "RsqrtBackward0", False, "y"),
    "reciprocal": (lambda x: 1 / x, lambda x, y, gy: -gy * y * y, "ReciprocalBackward0", False,
                   "y"),
    "exp": (np.exp, lambda x, y, gy: gy * y, "ExpBackward0", False, "y"),
    "exp2": (np.exp2, lambda x, y, gy: gy * y * LN2, "Exp2Backward0", False, "y"),
    "expm1": (np.expm1, lambda x, y, gy: gy * (y + 1), "Expm1Backward0", False, "y"),
    "log": (np.log, lambda x, y, gy: gy / x, "LogBackward0", False, "x"),
    "log2": (np.log2, lambda x, y, gy: gy / (x * LN2), "Log2Backward0", False, "x"),
    "log10": (np.log10, lambda x, y, gy: gy / (x * LN10), "Log10Backward0", False, "x"),
    "log1p": (np.log1p, lambda x, y, gy: gy / (1 + x), "Log1PBackward0", False, "x"),
    "sin": (np.sin, lambda x, y, gy: gy * np.cos(x), "SinBackward0", False, "x"),
    "cos": (np.cos, lambda x, y, gy: -gy * np.sin(x), "CosBackward0", False, "x"),
    "tan": (np.tan, lambda x, y, gy: gy * (1 + y * y), "TanBackward0", False, "y"),
    "asin": (np.arcsin, lambda x, y, gy: gy / np.sqrt(1 - x * x), "AsinBackward0", False, "x"),
    "acos": (np.arccos, lambda x, y, gy: -gy / np.sqrt(1 - x * x), "AcosBackward0", False, "x"),
    "atan": (np.arctan, lambda x, y, gy: gy / (1 + x * x), "AtanBackward0", False, "x"),
    "sinh": (np.sinh, lambda x, y, gy: gy * np.cosh(x), "SinhBackward0", False, "x"),
    "cosh": (np.cosh, lambda x, y, gy: gy * np.sinh(x), "CoshBackward0", False, "x"),
    "tanh": (np.tanh, lambda x, y, gy: gy * (1 - y * y), "TanhBackward0", False, "y"),
    "asinh": (np.arcsinh, lambda x, y, gy: gy / np.sqrt(x * x + 1), "AsinhBackward0", False, "x"),
    "acosh": (np.arccosh, lambda x, y, gy: gy / np.sqrt(x * x - 1), "AcoshBackward0", False, "x"),
    "atanh": (np.arctanh, lambda x, y, gy: gy / (1 - x * x), "AtanhBackward0", False, "x"),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x, y, gy: gy * y * (1 - y),
                "SigmoidBackward0", False, "y"),
    "erf": (_numba(_erf), lambda x, y, gy: gy * (2 / math.sqrt(math.pi)) * np.exp(-x * x),
            "ErfBackward0", False, "x"),
    "erfc": (_numba(_erfc),
             lambda x, y, gy: -gy * (2 / math.sqrt(math.pi)) * np.exp(-x * x),
             "ErfcBackward0", False, "x"),
    "erfinv": (_numba(_erfinv), lambda x, y, gy: gy * (math.sqrt(math.pi) / 2) * np.exp(y * y),
               "ErfinvBackward0", False, "y"),
}


class Unary(Function):
    """One row of UNARY as a node; the subclasses below differ only in the row."""

    row = None

    def forward(self, a):
        fn, _, _, _, reads = self.row
        with np.errstate(all="ignore"):                 # inf and NaN quietly, as PyTorch
            y = np.asarray(fn(a)).astype(a.dtype, copy=False)
        self.save_for_backward(a if "x" in reads else None, y if "y" in reads else None)
        return y

    def backward(self, gy):
        a, y = self.saved
        with np.errstate(all="ignore"):
            return np.asarray(self.row[1](a, y, gy)).astype(gy.dtype, copy=False)

    def name(self):
        return self.row[2]


NODES = {name: type(name.capitalize(), (Unary,), {"row": row}) for name, row in UNARY.items()}
