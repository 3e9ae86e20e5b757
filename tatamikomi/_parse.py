"""PyTorch's argument parser for integer arguments: ints, sizes and tuples of ints.

The parser types the first item of a tuple only ("found element ... at pos 0"); later items fail
while unpacking, where a bool still passes as an int. Shared by the factories and Tensor methods.
"""
import numpy as np

from .dtypes import type_name

INT64 = (-2 ** 63, 2 ** 63 - 1)
OVERFLOW = "Overflow when unpacking long long"


def is_int(x):
    """An integer as PyTorch's parser takes one: int, NumPy integer, 0-d integer tensor."""
    if hasattr(x, "array") and hasattr(x, "dtype"):
        return x.ndim == 0 and not x.dtype.is_floating_point
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def int_tuple(fn, name, pos, value):
    """An int or a tuple/list of ints argument as a tuple, as PyTorch's parser reads it."""
    if isinstance(value, (tuple, list)):
        if value and not is_int(value[0]):
            raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be tuple of ints, "
                            f"but found element of type {type_name(value[0])} at pos 0")
        return unpack(fn, name, tuple(value))
    if not is_int(value):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be tuple of ints, not "
                        f"{type_name(value)}")
    if not INT64[0] <= int(value) <= INT64[1]:
        raise ValueError(OVERFLOW)
    return (int(value),)


def unpack(fn, name, items):
    """Items after the first of a tuple-of-ints argument, as ints."""
    for i, s in enumerate(items):
        if not (is_int(s) or isinstance(s, (bool, np.bool_))):
            raise TypeError(f"{fn}(): argument '{name}' failed to unpack the object at pos {i + 1} "
                            f"with error \"type must be tuple of ints,but got {type_name(s)}\"")
        if not INT64[0] <= int(s) <= INT64[1]:
            raise TypeError(f"{fn}(): argument '{name}' failed to unpack the object at pos {i + 1} "
                            f"with error \"{OVERFLOW}\n\"")
    return tuple(int(s) for s in items)


def dim(d, ndim):
    """A dim index made non-negative, with PyTorch's IndexError when out of range."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= d <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {d})")
    return d % max(ndim, 1)
