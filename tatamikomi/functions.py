"""Module-level forms of Tensor methods: tatamikomi.relu(x), tatamikomi.max(x, 1), ..."""
from . import ops
from .tensor import Tensor


def _method(name):
    def fn(input, *args, **kwargs):  # noqa: A002 - PyTorch's argument name
        return getattr(input, name)(*args, **kwargs)
    fn.__name__, fn.__doc__ = name, f"tatamikomi.{name}(input, ...) is input.{name}(...)."
    return fn


argmax, argmin, clamp, exp, flatten, log = (_method(n) for n in (
    "argmax", "argmin", "clamp", "exp", "flatten", "log"))
max, min, mean, numel, permute, relu = (_method(n) for n in (  # noqa: A001
    "max", "min", "mean", "numel", "permute", "relu"))
reshape, sigmoid, squeeze, sum, tanh, transpose, unsqueeze = (_method(n) for n in (  # noqa: A001
    "reshape", "sigmoid", "squeeze", "sum", "tanh", "transpose", "unsqueeze"))


def matmul(input, other):  # noqa: A002
    return ops.matmul(input, other)


def maximum(input, other):  # noqa: A002
    return ops.maximum(input, other)


def minimum(input, other):  # noqa: A002
    return ops.minimum(input, other)


def where(condition, input, other):  # noqa: A002
    return ops.where(condition, input, other)


def is_tensor(obj):
    return isinstance(obj, Tensor)
