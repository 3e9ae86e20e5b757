"""Factories: tensor, from_numpy, as_tensor, zeros/ones/full/empty, arange, random draws, cat.

Arguments are checked as PyTorch's argument parser and allocator check them, so bad input gets
PyTorch's exception type and message (tests/test_errors_tensor.py runs each case in both).
"""
import math
import numbers

import numpy as np

from . import dtypes, ops
from ._parse import INT64, OVERFLOW, int_tuple
from ._parse import is_int as _is_int
from ._parse import unpack as _unpack
from .device import check as _device
from .dtypes import invalid_arguments, type_name
from .kernels import sampling
from .random import Generator, default_generator
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


# ----- sizes and allocation

def _size(fn, size, many=None):
    """A shape from f(2, 3), f((2, 3)) or f([2, 3]), with PyTorch's argument errors.

    many: the error for several positional arguments that are not a shape (it differs by
    function); the default is the invalid-combination TypeError.
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return int_tuple(fn, "size", 1, size[0])
    if size and not _is_int(size[0]):
        if len(size) > 1:
            raise many or invalid_arguments(fn, size)
        raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type_name(size[0])}")
    return _unpack(fn, "size", size)


def _no_negative(shape):
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _new(shape, dtype, make):
    """make() an array of shape and dtype, failing as PyTorch's allocator fails.

    A byte count past int64 is refused before allocating; a count no machine can hold
    raises a RuntimeError (as PyTorch's) instead of NumPy's MemoryError.
    """
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > INT64[1]:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    try:
        return make()
    except MemoryError:
        raise RuntimeError(f"[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: "
                           f"can't allocate memory: you tried to allocate {nbytes} bytes. Error "
                           "code 12 (Cannot allocate memory)") from None


def _options(fn, dtype, device, default=None):
    """Check a factory's dtype and device arguments; the dtype to build (or default)."""
    dtype = dtypes.check(fn, dtype)
    _device(fn, device)
    return dtype or default or dtypes.get_default_dtype()


def _fill(fn, size, value, dtype, device, requires_grad, many=None):
    dt = _options(fn, dtype, device)
    shape = _no_negative(_size(fn, size, many))
    return _finish(_new(shape, dt, lambda: np.full(shape, value, dt.np)), None, requires_grad)


def _positional(fn, n):
    return TypeError(f"{fn}() takes 1 positional argument but {n} were given")


def _keyword_size(fn, shape, size, kwargs):
    """The shape a factory was given, as f(2, 3), f((2, 3)) or f(size=(2, 3))."""
    if size is None:
        return shape
    if shape:
        raise invalid_arguments(fn, shape, dict(kwargs, size=size))
    return (size,)


def zeros(*shape, size=None, dtype=None, device=None, requires_grad=False, out=None):
    size = _keyword_size("zeros", shape, size, {})
    dt = _options("zeros", dtype, device)
    shape = _size("zeros", size, _positional("zeros", len(size)))
    if any(s < 0 for s in shape):
        raise RuntimeError("zeros: Dimension size must be non-negative.")
    return _finish(_new(shape, dt, lambda: np.zeros(shape, dt.np)), None, requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad=False):
    size = _keyword_size("ones", shape, size, {})
    return _fill("ones", size, 1, dtype, device, requires_grad, _positional("ones", len(size)))


def empty(*shape, size=None, dtype=None, device=None, requires_grad=False, memory_format=None):
    size = _keyword_size("empty", shape, size, {})
    dt = _options("empty", dtype, device)
    shape = _no_negative(_size("empty", size, _positional("empty", len(size))))
    return _finish(_new(shape, dt, lambda: np.empty(shape, dt.np)), None, requires_grad)


def _number(fn, name, pos, value):
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    if not isinstance(value, (numbers.Number, np.number, np.bool_)):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Number, not "
                        f"{type_name(value)}")
    return value


def _scalar_dtype(value):
    if isinstance(value, (bool, np.bool_)):
        return dtypes.bool
    if isinstance(value, numbers.Integral):
        return dtypes.int64
    return dtypes.get_default_dtype()


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type_name(size)}")
    fill_value = _number("full", "fill_value", 2, fill_value)
    if isinstance(fill_value, numbers.Integral) and not INT64[0] <= fill_value <= INT64[1]:
        raise OverflowError("int too big to convert")
    dt = dtypes.check("full", dtype) or _scalar_dtype(fill_value)
    _check_value(fill_value, dt, "_t")
    return _fill("full", (size,), fill_value, dt, device, requires_grad)


def _check_value(v, dt, suffix=""):
    """PyTorch's overflow check when a Python number is stored as an integer dtype."""
    if dt.is_floating_point or dt == dtypes.bool:
        return
    info = np.iinfo(dt.np)
    if isinstance(v, numbers.Integral):
        bad = v > info.max or (info.min < 0 and v < info.min)   # unsigned types wrap negatives
    else:
        bad = not math.isfinite(v) or not INT64[0] <= v <= info.max or \
            (info.min < 0 and v < info.min)
    if bad:
        raise RuntimeError(f"value cannot be converted to type {dt.name}{suffix} without "
                           "overflow")


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    if not _is_int(n):
        raise TypeError(f"eye(): argument 'n' (position 1) must be int, not {type_name(n)}")
    if m is not None and not _is_int(m):
        raise invalid_arguments("eye", (n, m))
    dt = _options("eye", dtype, device)
    n, m = int(n), int(n if m is None else m)
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    return _finish(_new((n, m), dt, lambda: np.eye(n, m, dtype=dt.np)), None, requires_grad)


# ----- ranges

def _c_number(v):
    """A number as PyTorch's C++ messages print it (1.0 -> 1, 1e20 -> 1e+20)."""
    return str(v) if isinstance(v, numbers.Integral) else f"{v:g}"


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values start, start+step, ... below end; int64 when every argument is an integer."""
    args = (start,) if end is None else (start, end) if step == 1 else (start, end, step)
    try:
        dt = dtypes.check("arange", dtype)
    except TypeError:
        raise invalid_arguments("arange", args, {"dtype": dtype}) from None
    _device("arange", device)
    if end is None:
        start, end = 0, _number("arange", "end", 1, start)
    values = []
    for v in (start, end, step):
        if isinstance(v, Tensor) and v.numel() == 1:
            v = v.item()
        if not isinstance(v, (numbers.Real, np.number)):
            raise invalid_arguments("arange", args)
        if isinstance(v, numbers.Integral) and not INT64[0] <= v <= INT64[1]:
            raise OverflowError("int too big to convert")
        values.append(v)
    start, end, step = values
    integral = all(isinstance(v, numbers.Integral) for v in values)
    if step == 0 or step != step:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {_c_number(start)} -> {_c_number(end)}")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = -(-(end - start) // step) if integral else math.ceil((end - start) / step)
    if n > INT64[1]:
        raise RuntimeError("invalid size, possible overflow?")
    dt = dt or (dtypes.int64 if integral else dtypes.get_default_dtype())
    if dt == dtypes.bool:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    work = np.int64 if integral else np.float64                   # values computed in double
    array = _new((n,), dt, lambda: start + np.arange(n, dtype=work) * work(step))
    return _finish(array.astype(dt.np, copy=False), None, requires_grad)


def linspace(start, end, steps=None, dtype=None, device=None, requires_grad=False):
    args = (start, end) if steps is None else (start, end, steps)
    start, end = (v.item() if isinstance(v, Tensor) and v.numel() == 1 else v
                  for v in (start, end))
    if not all(isinstance(v, (numbers.Real, np.number)) for v in (start, end)) or \
            not _is_int(steps):
        raise invalid_arguments("linspace", args)
    dt = _options("linspace", dtype, device)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    array = _new((int(steps),), dt, lambda: np.linspace(start, end, int(steps)))
    if not dt.is_floating_point:
        array = np.trunc(array)                            # PyTorch truncates, as a C cast
    return _finish(array.astype(dt.np), None, requires_grad)


# ----- random draws

def _generator(fn, generator, args, kwargs):
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise invalid_arguments(fn, args, dict(kwargs, generator=generator))
    return generator


def _draw(fn, size, generator, dtype, device, requires_grad, kernel, sample):
    g = _generator(fn, generator, size, {})
    dt = _options(fn, dtype, device)
    shape = _no_negative(_size(fn, size))
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt.torch_name}'")
    array = _new(shape, dt, lambda: sample(g._engine, np.empty(shape, dt.np)))
    return _finish(array.astype(dt.np, copy=False), None, requires_grad)


def randn(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    size = _keyword_size("randn", shape, size, {})
    return _draw("randn", size, generator, dtype, device, requires_grad, "normal_kernel_cpu",
                 lambda e, out: sampling.normal_(e, out, 0.0, 1.0))


def rand(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    size = _keyword_size("rand", shape, size, {})
    return _draw("rand", size, generator, dtype, device, requires_grad, "check_uniform_bounds",
                 lambda e, out: sampling.uniform_(e, out, 0.0, 1.0))


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers in [low, high); randint(high, size) as well as randint(low, high, size)."""
    args = tuple(a for a in (low, high, size) if a is not None)
    if size is None:
        low, high, size = 0, low, high
    if high is None or not isinstance(size, (tuple, list)) or not _is_int(low) or \
            not _is_int(high) or not all(_is_int(s) for s in size):
        raise invalid_arguments("randint", args)
    g = _generator("randint", generator, args, {})
    dt = _options("randint", dtype, device, dtypes.int64)
    low, high = int(low), int(high)
    if not (INT64[0] <= low <= INT64[1] and INT64[0] <= high <= INT64[1]):
        raise ValueError(OVERFLOW)
    shape = _no_negative(_size("randint", (size,)))
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    if not dt.is_floating_point:
        info = np.iinfo(dt.np) if dt != dtypes.bool else np.iinfo(np.uint8)
        top = 1 if dt == dtypes.bool else info.max
        if low < info.min:
            raise RuntimeError(f"from is out of bounds for {dt.c_name}")
        if high - 1 > top:
            raise RuntimeError(f"to - 1 is out of bounds for {dt.c_name}")
    array = _new(shape, dt, lambda: sampling.random_(g._engine, np.empty(shape, dt.np), low, high))
    return _finish(array.astype(dt.np, copy=False), None, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    if not _is_int(n):
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not {type_name(n)}")
    g = _generator("randperm", generator, (n,), {})
    dt = _options("randperm", dtype, device, dtypes.int64)
    n = int(n)
    _no_negative((n,))
    if dt == dtypes.bool:
        raise NotImplementedError("\"randperm\" not implemented for 'Bool'")
    if not dt.is_floating_point and n - 1 > np.iinfo(dt.np).max:
        raise RuntimeError(f"value cannot be converted to type {dt.name}_t without overflow")
    array = _new((n,), dt, lambda: sampling.randperm(g._engine, n))
    return _finish(array.astype(dt.np), None, requires_grad)



def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """torch.normal: N(mean, std^2) for float mean and std and a size, or elementwise for
    tensors of means and/or stds (broadcast), with PyTorch's arithmetic: a N(0, 1) fill (or
    N(0, std) for a float std), times the std tensor, plus the means.

    PyTorch passes no gradient to mean and std (it is zero); the result still requires grad
    when they do, through a Where node instead of its NormalBackward."""
    g = _generator("normal", generator, (mean, std), {})
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        dt = _options("normal", dtype, device)
        shape = _no_negative(_size("normal", (size,)))
        array = _new(shape, dt, lambda: sampling.normal_(g._engine, np.empty(shape, dt.np),
                                                         mean, std))
        return _finish(array, None, requires_grad)
    if isinstance(std, Tensor) and (std.array < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    shape = ops.broadcast_shapes(*(t.shape for t in tensors)) if len(tensors) == 2 else \
        tuple(tensors[0].shape)
    out = np.empty(shape, tensors[0].array.dtype)
    if isinstance(std, Tensor):
        sampling.normal_(g._engine, out, 0.0, 1.0)
        out *= std.array
    else:
        sampling.normal_(g._engine, out, 0.0, std)
    out += mean.array if isinstance(mean, Tensor) else out.dtype.type(mean)
    y = Tensor._make(out)
    for t in tensors:                       # zero gradient, as PyTorch's
        if t.requires_grad:
            y = ops.where(np.zeros((), bool), t.expand(shape), y)
    return y


def bernoulli(input, p=None, *, generator=None):  # PyTorch's argument name
    """0/1 draws with input's probabilities (or p for every element), in input's dtype."""
    g = _generator("bernoulli", generator, (input,), {})
    prob = input if p is None else p
    out = Tensor._make(np.empty_like(input.array))
    return out.bernoulli_(prob, generator=g)


# ----- ..._like

def _input(fn, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type_name(t)}")


def _like(fn):
    name = fn.__name__ + "_like"

    def like(input, dtype=None, device=None, requires_grad=False, memory_format=None,
             **kw):
        _input(name, input)
        dt = dtypes.check(name, dtype) or input.dtype
        return fn(*input.shape, dtype=dt, device=device, requires_grad=requires_grad, **kw)
    like.__name__ = name
    like.__doc__ = f"{fn.__name__}() with the shape (and by default the dtype) of input."
    return like


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)
rand_like, randn_like = _like(rand), _like(randn)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False,
              memory_format=None):
    _input("full_like", input)
    dt = dtypes.check("full_like", dtype) or input.dtype
    return full(input.shape, fill_value, dtype=dt, device=device, requires_grad=requires_grad)


# ----- joining

def _tensor_list(fn, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type_name(tensors)}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type_name(t)}")
    return list(tensors)


def cat(tensors, dim=0):
    """Concatenate along an existing dim (all tensors promoted to one dtype)."""
    tensors = _tensor_list("cat", tensors)
    if not _is_int(dim):
        raise TypeError(f"cat(): argument 'dim' (position 2) must be int, not {type_name(dim)}")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    axis = _dim(int(dim), tensors[0].ndim)
    first = tensors[0].shape
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != len(first):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(first)} "
                               f"and {t.ndim}")
        for d, (a, b) in enumerate(zip(first, t.shape)):
            if d != axis and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. "
                                   f"Expected size {a} but got size {b} for tensor number {i} "
                                   "in the list.")
    dt = dtypes.result_type(*tensors)
    return ops.Cat.apply(*(ops.to_dtype(t, dt) for t in tensors), axis=axis)


def stack(tensors, dim=0):
    tensors = _tensor_list("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = _dim(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)


# ----- from data

def from_numpy(array):
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type_name(array)})")
    dtypes.from_numpy(array.dtype)
    return Tensor._make(array)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of data, its dtype inferred as PyTorch does."""
    dtype = dtypes.check("tensor", dtype)
    _device("tensor", device)
    return _finish(_array(data, dtype), dtype, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """data as a tensor, sharing memory when no copy is needed."""
    dtype = dtypes.check("as_tensor", dtype)
    _device("as_tensor", device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        return _finish(from_numpy(data).array, dtype, False)
    return tensor(data, dtype=dtype)


def _array(data, dtype=None):
    """A fresh ndarray of data in the given dtype, or the one PyTorch infers; its checks."""
    if isinstance(data, Tensor):
        return data.array.copy()
    if isinstance(data, np.ndarray):
        dtypes.from_numpy(data.dtype)                   # unsupported dtypes raise TypeError
        return data.copy()
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type_name(data)}'")
    sizes = _nested_sizes(data)
    dt = dtype or _infer_dtype(data)
    if math.prod(sizes) == 0:                      # nothing to store: PyTorch checks no more
        return np.zeros(sizes, dt.np)
    _check_nested(data, sizes, 0, dt)
    data = _untensor(data)
    try:
        return np.array(data, dtype=dt.np)
    except OverflowError:                          # -1 into uint8: PyTorch wraps, as astype
        return np.array(data).astype(dt.np)


def _is_sequence(x):
    return isinstance(x, (list, tuple, range, np.ndarray)) or \
        (isinstance(x, Tensor) and x.ndim > 0)


def _nested_sizes(data):
    """The shape PyTorch reads from the first element at each depth."""
    sizes, x = [], data
    while _is_sequence(x):
        sizes.append(len(x))
        if not len(x):
            break
        x = x[0]
        if isinstance(x, str):                         # a string is a sequence of itself
            raise ValueError("too many dimensions 'str'")
    return sizes


def _infer_dtype(data):
    """PyTorch's dtype for nested Python data: promoted over every leaf."""
    found = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            found.add(x.dtype)
        elif isinstance(x, np.ndarray):
            found.add(dtypes.from_numpy(x.dtype))
        elif isinstance(x, (list, tuple, range)):
            stack.extend(x)
            if not len(x):                             # an empty row counts as the default
                found.add(dtypes.get_default_dtype())
        elif isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_)):
            found.add(dtypes.from_numpy(x.dtype))
        elif isinstance(x, (bool, np.bool_)):
            found.add(dtypes.bool)
        elif isinstance(x, numbers.Integral):
            found.add(dtypes.int64)
        elif isinstance(x, numbers.Real):
            found.add(dtypes.get_default_dtype())
        elif isinstance(x, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type_name(x)}'")
        else:
            raise RuntimeError(f"Could not infer dtype of {type_name(x)}")
    if not found:
        return dtypes.get_default_dtype()
    out = found.pop()
    for d in found:
        out = dtypes.promote_types(out, d)
    return out


def _check_nested(x, sizes, depth, dt):
    """Walk data against its shape, raising what PyTorch's copy into the new tensor raises."""
    if depth == len(sizes):
        if _is_sequence(x):
            what = type_name(x)
            raise TypeError(f"must be real number, not {what}" if dt.is_floating_point else
                            f"'{what}' object cannot be interpreted as an integer")
        if isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_)):
            if not dt.is_floating_point and not INT64[0] <= x <= INT64[1]:
                raise ValueError(OVERFLOW)
            _check_value(x, dt)
        elif isinstance(x, numbers.Real):
            _check_value(x, dt)
        elif not isinstance(x, (np.generic, Tensor)):
            raise TypeError(f"must be real number, not {type_name(x)}" if dt.is_floating_point
                            else f"'{type_name(x)}' object cannot be interpreted as an integer")
        return
    if isinstance(x, (np.ndarray, Tensor)):
        if tuple(x.shape) != tuple(sizes[depth:]):
            got = x.shape[0] if x.ndim else 0
            if got != sizes[depth]:
                raise ValueError(f"expected sequence of length {sizes[depth]} at dim {depth} "
                                 f"(got {got})")
        return
    if not _is_sequence(x):
        raise TypeError("not a sequence")
    if len(x) != sizes[depth]:
        raise ValueError(f"expected sequence of length {sizes[depth]} at dim {depth} "
                         f"(got {len(x)})")
    for item in x:
        _check_nested(item, sizes, depth + 1, dt)


def _untensor(data):
    """Nested data with tensors replaced by their arrays, for np.array."""
    if isinstance(data, Tensor):
        return data.detach().array
    if isinstance(data, (list, tuple)):
        return [_untensor(x) for x in data]
    return data
