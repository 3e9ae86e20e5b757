"""Module-level forms of Tensor methods: tatamikomi.relu(x), tatamikomi.max(x, 1), ..."""
from . import ops
from ._parse import int_tuple
from .dtypes import invalid_arguments, type_name
from .ops.matmul import check as _check_matmul
from .tensor import Tensor

# Functions with several signatures: PyTorch's parser reports a non-tensor input among further
# arguments as an invalid combination instead of naming the argument.
_OVERLOADED = {"max", "min", "mean", "squeeze", "sum"}


def _tensor(fn, name, pos, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type_name(x)}")


def _method(name):
    def fn(input, *args, **kwargs):  # PyTorch's argument name
        if not isinstance(input, Tensor):
            if name == "clamp" or (name in _OVERLOADED and (args or kwargs)):
                raise invalid_arguments(name, (input,) + args, kwargs)
            _tensor(name, "input", 1, input)
        return getattr(input, name)(*args, **kwargs)
    fn.__name__, fn.__doc__ = name, f"tatamikomi.{name}(input, ...) is input.{name}(...)."
    return fn


argmax, argmin, clamp, exp, flatten, log = (_method(n) for n in (
    "argmax", "argmin", "clamp", "exp", "flatten", "log"))
max, min, mean, numel, permute, relu = (_method(n) for n in (
    "max", "min", "mean", "numel", "permute", "relu"))
sigmoid, squeeze, sum, tanh, transpose, unsqueeze = (_method(n) for n in (
    "sigmoid", "squeeze", "sum", "tanh", "transpose", "unsqueeze"))


def reshape(input, shape):
    _tensor("reshape", "input", 1, input)
    return ops.reshape(input, int_tuple("reshape", "shape", 2, shape))


def matmul(input, other):
    _tensor("matmul", "input", 1, input)
    _tensor("matmul", "other", 2, other)
    _check_matmul(input.shape, other.shape)
    return ops.matmul(input, other)


def maximum(input, other):
    _tensor("maximum", "input", 1, input)
    _tensor("maximum", "other", 2, other)
    return ops.maximum(input, other)


def minimum(input, other):
    _tensor("minimum", "input", 1, input)
    _tensor("minimum", "other", 2, other)
    return ops.minimum(input, other)


def where(condition, input, other):
    """input where condition holds, else other; numbers stand for 0-d tensors."""
    if not isinstance(condition, Tensor) or not all(
            isinstance(x, (Tensor, int, float, bool)) for x in (input, other)):
        raise invalid_arguments("where", (condition, input, other))
    if condition.dtype.name not in ("bool", "uint8"):
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.torch_name}")
    return ops.where(condition, input, other)


def is_tensor(obj):
    return isinstance(obj, Tensor)
