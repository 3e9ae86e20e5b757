"""nn.functional's activations: PyTorch's signatures and checks over ops/activation.py.

Split from functional.py to keep each file readable; `nn.functional` re-exports every name.
"""
import numpy as np

from .. import dtypes
from ..ops import activation as A
from ..tensor import Tensor, _dim
from ._losses import _tensor, softmax

NEG_SLOPE_INPLACE = (
    "In-place leakyReLu backward calculation is triggered with a negative slope which is not "
    "supported. This is caused by calling in-place forward function with a negative slope, "
    "please call out-of-place version instead. File an issue at "
    "https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu "
    "backward calculation with negative slope")


def _floating(fn, kernel, x):
    """PyTorch's refusals: a non-tensor by the Python name, an integer input by the kernel."""
    _tensor(fn, "input", 1, x)
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{x.dtype.torch_name}'")


def _run(x, fn, params, inplace=False):
    """The activation out of place, or written into x (x's node then becomes the result's)."""
    if not inplace:
        return A.Activation.apply(x, fn=fn, params=params)
    x._check_inplace()
    return x._assign(A.Activation.apply(x._alias(), fn=fn, params=params, inplace=True))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, negative_slope * x otherwise."""
    _floating("leaky_relu", "leaky_relu_cpu", input)
    if inplace and negative_slope < 0 and input.requires_grad:
        raise RuntimeError(NEG_SLOPE_INPLACE)              # PyTorch refuses it in backward
    return _run(input, "leaky_relu", {"slope": negative_slope}, inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]; integer inputs stay integers, as PyTorch's."""
    _tensor("hardtanh", "input", 1, input)
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.dtype == dtypes.bool:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if not input.dtype.is_floating_point:                   # no gradient: plain arrays
        out = Tensor._make(np.clip(input.array, min_val, max_val).astype(input.array.dtype))
        return input.copy_(out) if inplace else out
    return _run(input, "hardtanh", {"lo": min_val, "hi": max_val}, inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(0, x), 6): hardtanh(0, 6), and PyTorch's graph names it so."""
    _tensor("relu6", "input", 1, input)
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    _floating("elu", "elu_cpu", input)
    return _run(input, "elu", dict(alpha=alpha, scale=1.0, input_scale=1.0), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants (Klambauer et al., 2017)."""
    _floating("selu", "elu_cpu", input)
    return _run(input, "elu", A.SELU, inplace)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha * (exp(x / alpha) - 1) otherwise."""
    _floating("celu", "elu_cpu", input)
    return _run(input, "celu", dict(alpha=alpha, scale=1.0, input_scale=1.0 / alpha), inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF; 'tanh' uses Hendrycks & Gimpel's tanh form."""
    _floating("gelu", "GeluKernelImpl", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _run(input, "gelu", {"approximate": approximate})


def silu(input, inplace=False):
    """x * sigmoid(x) (swish)."""
    _floating("silu", "silu_cpu", input)
    return _run(input, "silu", {}, inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (MobileNetV3)."""
    _floating("hardswish", "hardswish_cpu", input)
    return _run(input, "hardswish", {}, inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    _floating("hardsigmoid", "hardsigmoid_cpu", input)
    return _run(input, "hardsigmoid", {}, inplace)


def softplus(input, beta=1, threshold=20):
    """log(1 + exp(beta * x)) / beta; x itself where beta * x > threshold."""
    _floating("softplus", "softplus_cpu", input)
    return _run(input, "softplus", {"beta": beta, "threshold": threshold})


def mish(input, inplace=False):
    """x * tanh(softplus(x)) (Misra, 2019)."""
    _floating("mish", "mish_cpu", input)
    return _run(input, "mish", {}, inplace)


def logsigmoid(input):
    """log(sigmoid(x)), computed without overflow."""
    _floating("log_sigmoid", "log_sigmoid_cpu", input)
    return _run(input, "logsigmoid", {})


def threshold(input, threshold, value, inplace=False):
    """value where x <= threshold, else x."""
    _tensor("threshold", "input", 1, input)
    if not input.dtype.is_floating_point:            # no gradient to keep: plain arrays
        out = np.where(input.array <= threshold, np.asarray(value).astype(input.array.dtype),
                       input.array)
        return input.copy_(Tensor._make(out)) if inplace else Tensor._make(out)
    return _run(input, "threshold", {"threshold": threshold, "value": value}, inplace)


def threshold_(input, threshold_value, value):
    return threshold(input, threshold_value, value, inplace=True)


def hardshrink(input, lambd=0.5):
    _floating("hardshrink", "hardshrink_cpu", input)
    return _run(input, "hardshrink", {"lambd": lambd})


def softshrink(input, lambd=0.5):
    _floating("softshrink", "softshrink_check", input)
    return _run(input, "softshrink", {"lambd": lambd})


def softsign(input):
    return input / (input.abs() + 1)


def tanhshrink(input):
    return input - input.tanh()


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    _tensor("softmin", "input", 1, input)
    return softmax(-input, dim, dtype=dtype)


def prelu(input, weight):
    """x for x > 0, weight * x otherwise; weight per channel (dim 1) or one for all.

    Shapes: input (N, C, *) or any with a one-element weight, weight (C,) or (1,) -> input's.
    """
    _tensor("prelu", "input", 1, input)
    _tensor("prelu", "weight", 2, weight)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"prelu_cpu\" not implemented for '{input.dtype.torch_name}'")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {weight.numel()} and channel size = {channels}.")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {input.dtype.torch_name} "
                           f"and {weight.dtype.torch_name}")
    return A.Prelu.apply(input, weight)


def glu(input, dim=-1):
    """a * sigmoid(b), a and b the two halves of input along dim."""
    _tensor("glu", "input", 1, input)
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = _dim(dim, input.ndim)
    if input.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size "
                           f"{input.shape[axis]}")
    return A.Glu.apply(input, axis=axis)
