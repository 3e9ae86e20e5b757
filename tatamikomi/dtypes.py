"""dtype objects (tatamikomi.float32 ...) and PyTorch's type-promotion rule."""
import builtins

import numpy as np


class dtype:  # noqa: N801 - PyTorch's public name
    """A tensor element type; prints as `tatamikomi.float32`."""

    def __init__(self, name, np_type, category, torch_name, c_name):
        self.name, self.np, self.category = name, np.dtype(np_type), category
        self.torch_name = torch_name          # as PyTorch's messages spell it: Float, Double
        self.c_name = c_name                  # the C type some messages name: float, long int

    @property
    def is_floating_point(self):
        return self.category == 2

    @property
    def itemsize(self):
        return self.np.itemsize

    def __repr__(self):
        return f"tatamikomi.{self.name}"

    def __reduce__(self):                    # pickles as the module-level singleton
        return (_by_name, (self.name,))


# category orders bool < integer < floating, as PyTorch promotes across categories
bool = dtype("bool", np.bool_, 0, "Bool", "bool")
uint8 = dtype("uint8", np.uint8, 1, "Byte", "unsigned char")
int8 = dtype("int8", np.int8, 1, "Char", "signed char")
int16 = dtype("int16", np.int16, 1, "Short", "short int")
int32 = dtype("int32", np.int32, 1, "Int", "int")
int64 = dtype("int64", np.int64, 1, "Long", "long int")
float16 = dtype("float16", np.float16, 2, "Half", "half")
float32 = dtype("float32", np.float32, 2, "Float", "float")
float64 = dtype("float64", np.float64, 2, "Double", "double")
ALL = (bool, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}


def _by_name(name):
    return next(d for d in ALL if d.name == name)


def from_numpy(np_dtype):
    """Our dtype for a NumPy dtype; raises TypeError as PyTorch does for unsupported ones."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).type.__name__}. The only "
            "supported types are: float64, float32, float16, complex64, complex128, int64, "
            "int32, int16, int8, uint64, uint32, uint16, uint8, and bool.") from None


_default = [float32]                # torch.set_default_dtype changes it (float32 or float64)


def get_default_dtype():
    return _default[0]


def _set_default_dtype(d):
    _default[0] = d


def type_name(obj):
    """The name PyTorch's argument errors give obj's type: CPython's tp_name (numpy.ndarray)."""
    cls = type(obj)
    return f"numpy.{cls.__name__}" if cls.__module__.split(".")[0] == "numpy" else cls.__name__


def invalid_arguments(fn, args, kwargs=None):
    """PyTorch's TypeError for arguments that fit none of a function's signatures."""
    got = [type_name(a) for a in args] + [f"{k}={type_name(v)}" for k, v in
                                          (kwargs or {}).items()]
    listed = ", ".join(got) + (", " if kwargs and not args else "")   # PyTorch's own quirk
    return TypeError(f"{fn}() received an invalid combination of arguments - got "
                     f"({listed}), but expected one of:\n(see help(tatamikomi.{fn}) "
                     "for the signatures)")


_PYTHON_TYPES = ((builtins.bool, "bool"), (builtins.int, "int64"), (builtins.float, "float64"))


def check(fn, d, name="dtype"):
    """d as one of our dtypes (None stays None); float, int and bool map as in PyTorch."""
    if d is None or isinstance(d, dtype):
        return d
    for py, ours in _PYTHON_TYPES:
        if d is py:
            return _by_name(ours)
    raise TypeError(f"{fn}(): argument '{name}' must be torch.dtype, not {type_name(d)}")


def promote_types(a, b):
    """PyTorch's promote_types: the higher category wins outright; within one, NumPy's rule."""
    for i, (d, name) in enumerate(((a, "type1"), (b, "type2"))):
        if not isinstance(d, dtype):
            raise TypeError(f"promote_types(): argument '{name}' (position {i + 1}) must be "
                            f"torch.dtype, not {type_name(d)}")
    return _promote(a, b)


def _promote(a, b):
    if a.category != b.category:
        return a if a.category > b.category else b
    return from_numpy(np.promote_types(a.np, b.np))


def result_type(*operands):
    """The dtype of an op on tensors and Python scalars (PyTorch's three-priority rule).

    Dimensioned tensors decide first, then 0-dim tensors, then Python numbers, and a later
    group only matters when it brings a higher category (int tensor * 2.5 -> float32).
    """
    groups = ([], [], [])
    for x in operands:
        if hasattr(x, "dtype") and hasattr(x, "dim"):
            groups[0 if x.dim() > 0 else 1].append(x.dtype)
        elif isinstance(x, (builtins.bool, np.bool_)):
            groups[2].append(bool)
        elif isinstance(x, (int, np.integer)):
            groups[2].append(int64)
        else:
            groups[2].append(get_default_dtype())
    out = None
    for group in groups:
        if not group:
            continue
        g = group[0]
        for d in group[1:]:
            g = _promote(g, d)
        if out is None or g.category > out.category:
            out = g
    return out
