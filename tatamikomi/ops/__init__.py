"""Differentiable primitives and the Tensor-level glue around them (promotion, dims, checks)."""
import numbers
import re

import numpy as np

from .. import dtypes
from .._parse import is_int
from ..autograd import is_grad_enabled
from ..tensor import Tensor, _dim
from . import math
from .elementwise import (
    Add,
    Cast,
    Clamp,
    Div,
    Extremum,
    Mul,
    Pow,
    Relu,
    Sub,
    Where,
    broadcast_shapes,
    unbroadcast,
)
from .inplace import CopySlices
from .matmul import MatMul
from .matmul import check as check_matmul
from .movement import Cat, Contiguous, Expand, GetItem, Pad, Permute, Reshape, SetItem
from .reduce import Extreme, Mean, Sum, TakeAlong

__all__ = ["Add", "Cast", "Cat", "Clamp", "Contiguous", "CopySlices", "Div", "Expand", "Extreme",
           "Extremum", "GetItem", "MatMul", "Mean", "Mul", "Pad", "Permute", "Pow", "Relu",
           "Reshape", "SetItem", "Sub", "Sum", "TakeAlong", "Where", "broadcast_shapes", "math",
           "unbroadcast"]


def to_dtype(t, dt):
    """t converted to dtype dt; differentiable when t is recorded."""
    if t.dtype == dt:
        return t
    if t.requires_grad and is_grad_enabled():
        return Cast.apply(t, dtype=dt.np)
    return Tensor._make(t.array.astype(dt.np))


def operands(a, b, floating=False):
    """Both operands as tensors of PyTorch's promoted dtype, their shapes checked to broadcast."""
    dt = dtypes.result_type(a, b)
    if floating and not dt.is_floating_point:
        dt = dtypes.get_default_dtype()               # int / int is true division in PyTorch
    a = to_dtype(a, dt) if isinstance(a, Tensor) else Tensor._make(np.asarray(a, dt.np))
    b = to_dtype(b, dt) if isinstance(b, Tensor) else Tensor._make(np.asarray(b, dt.np))
    if a.array.shape != b.array.shape:
        broadcast_shapes(a.array.shape, b.array.shape)
    return a, b


def _is_operand(x):
    return isinstance(x, (Tensor, numbers.Number, np.number, np.bool_))


def add(a, b):
    return Add.apply(*operands(a, b)) if _is_operand(a) and _is_operand(b) else NotImplemented


def sub(a, b):
    if not (_is_operand(a) and _is_operand(b)):
        return NotImplemented
    return Sub.apply(*operands(a, b), kind="SubBackward0" if isinstance(a, Tensor) else
                     "RsubBackward1")


def mul(a, b):
    return Mul.apply(*operands(a, b)) if _is_operand(a) and _is_operand(b) else NotImplemented


def div(a, b):
    if not (_is_operand(a) and _is_operand(b)):
        return NotImplemented
    with np.errstate(divide="ignore", invalid="ignore"):      # x / 0 is inf, as in PyTorch
        return Div.apply(*operands(a, b, floating=True))


def pow(a, b):  # PyTorch's name
    if not (_is_operand(a) and _is_operand(b)):
        return NotImplemented
    kind = "PowBackward1" if isinstance(b, Tensor) and isinstance(a, Tensor) else \
        "PowBackward0" if isinstance(a, Tensor) else "PowBackward2"
    return Pow.apply(*operands(a, b), kind=kind)


def compare(fn, a, b):
    """A comparison or logical op: no gradient, a bool (or integer for bitwise) result."""
    if not _is_operand(b) or not _is_operand(a):
        return NotImplemented
    a, b = operands(a, b)
    return Tensor._make(np.asarray(fn(a.array, b.array)))


def matmul(a, b):
    if not isinstance(b, Tensor) or not isinstance(a, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(b).__name__}")
    check_matmul(a.shape, b.shape)
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype.c_name} != {b.dtype.c_name}")
    return MatMul.apply(a, b)


def as_float(t):
    return t if t.dtype.is_floating_point else to_dtype(t, dtypes.get_default_dtype())


def clamp(t, lo, hi):
    for bound in (lo, hi):
        if not (bound is None or _is_operand(bound)):
            raise dtypes.invalid_arguments("clamp", (t,) + tuple(b for b in (lo, hi)
                                                               if b is not None))
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return Clamp.apply(t, lo=lo, hi=hi)


# ----- reductions
def _axes(dim, ndim):
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        return tuple(_dim(d, ndim) for d in dim)
    return _dim(dim, ndim)


def _is_dims(dim):
    return dim is None or is_int(dim) or (isinstance(dim, (tuple, list)) and
                                          all(is_int(d) for d in dim))


def reduce(cls, t, dim, keepdim):
    if not _is_dims(dim):
        raise dtypes.invalid_arguments("sum" if cls is Sum else "mean", (t, dim))
    return cls.apply(t, axis=_axes(dim, t.ndim), keepdim=keepdim)


def extreme(t, dim, keepdim, largest, pair):
    """max()/min(): over everything, or along dim as a (values, indices) pair."""
    if isinstance(dim, Tensor):                          # torch.max(a, b): element-wise
        return maximum(t, dim) if largest else minimum(t, dim)
    name = "max" if largest else "min"
    if dim is None:
        if t.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        return Extreme.apply(t, largest=largest)
    axis = _dim(dim, t.ndim)
    _nonempty(name, t, axis)
    a = t.array if t.ndim else t.array.reshape(1)
    idx = (np.argmax if largest else np.argmin)(a, axis=axis, keepdims=True)
    values = TakeAlong.apply(t if t.ndim else t.reshape(1), indices=idx, axis=axis,
                             keepdim=keepdim or t.ndim == 0,
                             kind="MaxBackward0" if largest else "MinBackward0")
    idx = idx if keepdim else np.squeeze(idx, axis)
    if t.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    return pair(values, Tensor._make(idx.astype(np.int64)))


def _nonempty(name, t, axis):
    if t.ndim and t.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


def arg_extreme(t, dim, keepdim, largest):
    fn, name = (np.argmax, "argmax") if largest else (np.argmin, "argmin")
    if dim is None and t.numel() == 0:
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                         "== 0.")
    if dim is not None:
        _nonempty(name, t, _dim(dim, t.ndim))
    if dim is None:
        out = np.asarray(fn(t.array))
        return Tensor._make(out.reshape((1,) * t.ndim if keepdim else ()).astype(np.int64))
    return Tensor._make(np.asarray(fn(t.array, axis=_dim(dim, t.ndim), keepdims=keepdim),
                                   dtype=np.int64))


def maximum(a, b):
    return Extremum.apply(*operands(a, b), largest=True)


def minimum(a, b):
    return Extremum.apply(*operands(a, b), largest=False)


def where(cond, a, b):
    """Element-wise choice by a (non-differentiable) condition."""
    cond = cond.array if isinstance(cond, Tensor) else np.asarray(cond)
    return Where.apply(*operands(a, b), cond=cond.astype(bool))


# ----- movement
def _check_index(t, index):
    """PyTorch's refusals of an index, before NumPy sees it."""
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, slice) and i.step == 0:
            raise ValueError("slice step cannot be zero")
        if isinstance(i, slice) and i.step is not None and i.step < 0:
            raise ValueError("step must be greater than zero")
        if isinstance(i, float):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices (got float)")
        if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if t.ndim == 0 and any(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                           for i in items):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")


def getitem(t, index):
    """t[index] with PyTorch's messages for bad indices."""
    _check_index(t, index)
    try:
        return GetItem.apply(t, index=index)
    except IndexError as e:
        raise IndexError(_index_message(str(e), t)) from None


def _index_message(msg, t):
    m = re.match(r"boolean index did not match indexed array along axis (\d+); size of axis is "
                 r"(\d+) but size of corresponding boolean axis is (\d+)", msg)
    if m:
        axis, have, mask = m.groups()
        return (f"The shape of the mask [{mask}] at index {axis} does not match the shape of "
                f"the indexed tensor [{have}] at index {axis}")
    if msg.startswith("too many indices"):
        return f"too many indices for tensor of dimension {t.ndim}"
    return msg.replace(" for axis ", " for dimension ")



def _infer(shape, n):
    """Resolve one -1 in a target shape, with PyTorch's messages for impossible shapes."""
    for i, s in enumerate(shape):
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape "
                               f"{list(shape)}")
    if list(shape).count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} "
                               "because the unspecified dimension size -1 can be any value and "
                               "is ambiguous")
        if n % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        return tuple(n // known if s == -1 else s for s in shape)
    if known != n:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return tuple(shape)


def reshape(t, shape, copy=True, kind="ViewBackward0"):
    shape = _infer(shape, t.numel())
    try:
        return Reshape.apply(t, shape=shape, copy=copy, kind=kind)
    except ValueError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.") from None


def flatten(t, start, end):
    if t.ndim == 0:
        return reshape(t, (1,))
    s, e = _dim(start, t.ndim), _dim(end, t.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = t.shape
    return reshape(t, shape[:s] + (int(np.prod(shape[s:e + 1], dtype=np.int64)),) + shape[e + 1:])


def permute(t, dims):
    if len(dims) != t.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {t.ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(_dim(d, t.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(t, dims=dims)


def transpose(t, d0, d1, kind="TransposeBackward0"):
    if t.ndim == 0:
        return t
    perm = list(range(t.ndim))
    d0, d1 = _dim(d0, t.ndim), _dim(d1, t.ndim)
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return Permute.apply(t, dims=tuple(perm), kind=kind)


def squeeze(t, dim):
    if dim is None:
        dims = [i for i, n in enumerate(t.shape) if n == 1]
    else:
        dims = [_dim(d, t.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        dims = [d for d in dims if t.ndim and t.shape[d] == 1]
    return reshape(t, tuple(n for i, n in enumerate(t.shape) if i not in dims),
                   kind="SqueezeBackward0" if dim is None else "SqueezeBackward1")


def unsqueeze(t, dim):
    d = _dim(dim, t.ndim + 1)
    return reshape(t, t.shape[:d] + (1,) + t.shape[d:], kind="UnsqueezeBackward0")


def expand(t, shape):
    lead = len(shape) - t.ndim
    if lead < 0:
        raise RuntimeError(f"expand({t.type()}{{{list(t.shape)}}}, size="
                           f"{list(shape)}): the number of sizes provided ({len(shape)}) must "
                           f"be greater or equal to the number of dimensions in the tensor "
                           f"({t.ndim})")
    out = []
    for i, s in enumerate(shape):
        have = t.shape[i - lead] if i >= lead else None
        if s == -1 and have is None:
            raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a "
                               f"leading, non-existing dimension {i}")
        if s == -1:
            s = have
        elif have is not None and have != 1 and have != s:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({have}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(shape)}.  Tensor sizes: {list(t.shape)}")
        out.append(s)
    return t if tuple(out) == t.shape else Expand.apply(t, shape=tuple(out))


def setitem(t, index, value):
    """t[index] = value, recorded when t or value takes part in a graph."""
    if t.is_leaf and t.requires_grad and is_grad_enabled():    # PyTorch writes through a view
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    t._check_inplace()
    _check_index(t, index)
    if isinstance(value, str):
        raise TypeError(f"can't assign a str to a {t.type()}")
    if not isinstance(value, Tensor):
        value = Tensor._make(np.asarray(value, t.array.dtype))
    try:
        region = t.array[index].shape
    except IndexError as e:
        raise IndexError(_index_message(str(e), t)) from None
    if value.shape != region:                     # PyTorch's error when value cannot fill it
        shape = tuple(value.shape)
        while len(shape) > len(region) and shape[0] == 1:     # leading ones are dropped
            shape = shape[1:]
        expand(Tensor._make(np.broadcast_to(np.zeros((), value.array.dtype), shape)), region)
    if is_grad_enabled() and (t.requires_grad or value.requires_grad):
        return t._assign(SetItem.apply(t._alias(), to_dtype(value, t.dtype), index=index))
    t.array[index] = value.array
    t._bump()
