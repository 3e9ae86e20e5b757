"""Factories: tensor, from_numpy, as_tensor, zeros/ones/full/empty, arange, random draws, cat."""
import numbers

import numpy as np

from . import dtypes, ops
from .random import default_generator
from .tensor import Tensor, _dim


def _finish(array, dtype, requires_grad):
    if dtype is not None:
        array = array.astype(dtype.np, copy=False)
    t = Tensor._make(array)
    if requires_grad:
        if not t.dtype.is_floating_point:                 # the factories' wording differs
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t.requires_grad_(True)
    return t


def _leaf_dtypes(data, found):
    """Collect the dtype each leaf of nested Python data implies (floats -> the default)."""
    if isinstance(data, (list, tuple)):
        for item in data:
            _leaf_dtypes(item, found)
    elif isinstance(data, Tensor):
        found.add(data.dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        found.add(dtypes.from_numpy(data.dtype))
    elif isinstance(data, (bool, np.bool_)):
        found.add(dtypes.bool)
    elif isinstance(data, numbers.Integral):
        found.add(dtypes.int64)
    elif isinstance(data, numbers.Real):
        found.add(dtypes.get_default_dtype())
    else:
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")


def _infer_array(data, dtype=None):
    """A fresh ndarray of the given dtype, or of the one PyTorch infers for data."""
    if isinstance(data, Tensor):
        return data.array.copy()
    if isinstance(data, np.ndarray):
        dtypes.from_numpy(data.dtype)                   # unsupported dtypes raise TypeError
        return data.copy()
    found = set()
    _leaf_dtypes(data, found)
    dt = dtype or dtypes.get_default_dtype()
    if found and dtype is None:
        dt = found.pop()
        for d in found:
            dt = dtypes.promote_types(dt, d)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x.detach().array if isinstance(x, Tensor) else x for x in data]
    return np.array(data, dtype=dt.np)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of data, its dtype inferred as PyTorch does."""
    return _finish(_infer_array(data, dtype), dtype, requires_grad)


def from_numpy(array):
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy(array.dtype)
    return Tensor._make(array)


def as_tensor(data, dtype=None, device=None):
    """data as a tensor, sharing memory when no copy is needed."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        return _finish(from_numpy(data).array, dtype, False)
    return tensor(data, dtype=dtype)


def _size(fn, size):
    """A shape argument checked as PyTorch's factories check it.

    f(2, 3), f((2, 3)) and f([2, 3]) alike.
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for i, s in enumerate(size):
        if isinstance(s, Tensor) and s.ndim == 0 and not s.dtype.is_floating_point:
            continue
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"{fn}(): argument 'size' failed to unpack the object at pos {i + 1} "
                            f"with error \"type must be tuple of ints,but got "
                            f"{type(s).__name__}\"")
    size = tuple(int(s) for s in size)
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
    return size


def _default(dtype):
    return dtype or dtypes.get_default_dtype()


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(np.zeros(_size("zeros", size), _default(dtype).np), None, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.ones(_size("ones", size), _default(dtype).np), None, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(np.empty(_size("empty", size), _default(dtype).np), None, requires_grad)


def _scalar_dtype(value):
    if isinstance(value, (bool, np.bool_)):
        return dtypes.bool
    if isinstance(value, numbers.Integral):
        return dtypes.int64
    return dtypes.get_default_dtype()


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    dtype = dtype or _scalar_dtype(fill_value)
    return _finish(np.full(_size("full", (size,)), fill_value, dtype.np), None, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_default(dtype).np), None, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values start, start+step, ... below end; int64 when every argument is an integer."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if all(isinstance(v, numbers.Integral) for v in (start, end, step)):
        array = np.arange(start, end, step, dtype=np.int64)
    else:
        array = np.arange(start, end, step, dtype=np.float64)   # values computed in double
        array = array.astype(_default(None).np)
    return _finish(array, dtype, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _finish(np.linspace(start, end, steps).astype(_default(dtype).np), None, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    g = (generator or default_generator).np
    d = _default(dtype).np
    return _finish(g.standard_normal(_size("randn", size), dtype=d), None, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    g = (generator or default_generator).np
    return _finish(g.random(_size("rand", size), dtype=_default(dtype).np), None, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers in [low, high); randint(high, size) as well as randint(low, high, size)."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    g = (generator or default_generator).np
    array = g.integers(low, high, tuple(size), dtype=np.int64)
    return _finish(array, dtype, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    g = (generator or default_generator).np
    return _finish(g.permutation(n).astype(np.int64), dtype, requires_grad)


def _like(fn):
    def like(t, dtype=None, device=None, requires_grad=False, memory_format=None, **kw):
        return fn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"{fn.__name__}() with the shape (and by default the dtype) of t."
    return like


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)
rand_like, randn_like = _like(rand), _like(randn)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def cat(tensors, dim=0):
    """Concatenate along an existing dim (all tensors promoted to one dtype)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    dt = dtypes.result_type(*tensors)
    axis = _dim(dim, tensors[0].ndim)
    return ops.Cat.apply(*(ops.to_dtype(t, dt) for t in tensors), axis=axis)


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = _dim(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)
