"""What load(weights_only=True) may build: each allowed global name and its checked constructor.

A pickle names a callable and its arguments; here every allowed name maps to (the object GLOBAL
pushes, the check REDUCE runs instead of calling it, the check NEWOBJ runs). A check builds the
object only from arguments it has verified, e.g. `_frombuffer` wants a numeric dtype and exactly
the bytes its shape needs before NumPy sees them. PyTorch's own files (zip or legacy) are read
with `torch_allowed()`: this list plus torch's tensor rebuilds, storage types, Size, device and
dtypes, where a tensor can only view a storage the file's persistent ids made. Users extend the
lists with `add_safe_globals`.
"""
import codecs
import importlib
import re
from collections import Counter, OrderedDict
from pickle import UnpicklingError

import numpy as np

from .. import dtypes
from ..device import device
from ..tensor import Size, Tensor, _rebuild

_NUMERIC = re.compile(r"[biufc]\d{1,2}")     # NumPy type strings: bool, ints, floats, complex


# ----- checked constructors: what REDUCE / NEWOBJ run for an allowed name

def _refuse(what):
    raise UnpicklingError(what)


def _shape(shape):
    if type(shape) is not tuple or not all(type(d) is int and d >= 0 for d in shape):
        _refuse(f"array shape must be a tuple of non-negative ints, got {shape!r:.80}")
    n = 1
    for d in shape:
        n *= d
    return n


def _numeric(dtype):
    """dtype itself if it is a plain numeric NumPy dtype (no objects, fields or strings)."""
    if not (isinstance(dtype, np.dtype) and dtype.kind in "biufc" and dtype.fields is None
            and dtype.subdtype is None and not dtype.hasobject):
        _refuse(f"only numeric NumPy dtypes can be loaded, got {dtype!r:.80}")
    return dtype


def _dtype(obj, align=False, copy=False):
    if not (type(obj) is str and _NUMERIC.fullmatch(obj) and type(align) is bool
            and type(copy) is bool):
        _refuse(f"numpy.dtype{(obj, align, copy)!r:.80} is not a numeric dtype")
    # Always a copy: BUILD sets its byte order in place, and np.dtype("f4") is shared.
    return _numeric(np.dtype(obj, align, True))


def _build_dtype(dt, state):
    # A dtype's state is fixed by its type string; only the byte order may differ.
    canon = np.dtype(dt.str[1:]).__reduce__()[2]
    plain = type(state) is tuple and all(type(v) in (str, int, type(None)) for v in state)
    if not (plain and len(state) == len(canon) and state[0] == canon[0]
            and state[1] in ("<", ">", "|", "=") and state[2:] == canon[2:]):
        _refuse(f"unexpected numpy.dtype state {state!r:.80}")
    dt.__setstate__(state)


def _frombuffer(buf, dtype, shape, order):
    n = _shape(shape)
    if type(buf) not in (bytes, bytearray) or order not in ("C", "F"):
        _refuse("numpy _frombuffer needs bytes and order 'C' or 'F'")
    if len(buf) != n * _numeric(dtype).itemsize:
        _refuse(f"array of shape {shape} and dtype {dtype} needs {n * dtype.itemsize} bytes, "
                f"the file gives {len(buf)}")
    return np.frombuffer(buf, dtype).reshape(shape, order=order)


def _reconstruct(cls, shape, typecode):
    # An empty array that BUILD then fills (protocols 2-4 pickle arrays this way).
    if cls is not np.ndarray or shape != (0,) or typecode != b"b":
        _refuse("numpy _reconstruct is allowed only for a plain ndarray")
    return np.empty(0, np.int8)


def _build_array(array, state):
    if type(state) is not tuple or len(state) != 5 or state[0] != 1:
        _refuse("unexpected ndarray state")
    _, shape, dtype, fortran, raw = state
    n = _shape(shape)
    if type(fortran) is not bool or type(raw) not in (bytes, bytearray):
        _refuse("ndarray state needs a bool order flag and raw bytes")
    if len(raw) != n * _numeric(dtype).itemsize:
        _refuse(f"array of shape {shape} and dtype {dtype} needs {n * dtype.itemsize} bytes, "
                f"the file gives {len(raw)}")
    array.__setstate__(state)


def _scalar(dtype, data):
    if type(data) is not bytes or len(data) != _numeric(dtype).itemsize:
        _refuse(f"a numpy {dtype} scalar needs {dtype.itemsize} bytes")
    return np.frombuffer(data, dtype)[0]


def _encode(obj, encoding="utf-8"):
    # Protocol 2 writes bytes as _codecs.encode(str, 'latin1'); nothing else is allowed.
    if type(obj) is not str or encoding not in ("latin1", "latin-1"):
        _refuse("_codecs.encode is allowed only as encode(str, 'latin1')")
    return obj.encode("latin-1")


def _tensor(array, requires_grad=False):
    if type(array) is not np.ndarray or type(requires_grad) is not bool:
        _refuse("a tensor needs a NumPy array and a bool requires_grad")
    if array.dtype.newbyteorder("=") not in {np.dtype(d.np) for d in dtypes.ALL}:
        _refuse(f"tensors of NumPy dtype {array.dtype} are not supported")
    if requires_grad and array.dtype.kind != "f":
        _refuse("Only Tensors of floating point and complex dtype can require gradients")
    if not array.dtype.isnative or not array.flags.writeable:
        array = array.astype(array.dtype.newbyteorder("="))      # a copy we own
    return Tensor._make(array, requires_grad=requires_grad)


def _parameter(data, requires_grad=True):
    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        _refuse("a Parameter needs a tensor and a bool requires_grad")
    return _class("tatamikomi.nn.module", "Parameter")(data, requires_grad)


def _size(sizes=()):
    if type(sizes) not in (tuple, list) or not all(type(d) is int for d in sizes):
        _refuse("Size needs a sequence of ints")
    return Size(sizes)


def _dtype_by_name(name):
    if name not in {d.name for d in dtypes.ALL}:
        _refuse(f"unknown dtype {name!r:.40}")
    return dtypes._by_name(name)


def _collection(kind):
    def make(items=()):
        if type(items) not in (list, tuple, set, frozenset):
            _refuse(f"{kind.__name__}() needs a list, tuple or set")
        return kind(items)
    return make


def _mapping(kind):
    def make(items=()):
        if items == () or type(items) is dict or (type(items) is list and all(
                type(p) is tuple and len(p) == 2 for p in items)):
            return kind(items)
        _refuse(f"{kind.__name__}() needs a dict or a list of pairs")
    return make


def _bytes(*args):
    # Protocol 2 writes b"" as bytes(); anything else as _codecs.encode.
    if args:
        _refuse("bytes() is allowed only without arguments")
    return b""


def _bytearray(data=b"", encoding=None):
    if type(data) is bytes and encoding is None:
        return bytearray(data)
    if type(data) is str and encoding in ("latin1", "latin-1"):
        return bytearray(data, "latin-1")
    _refuse("bytearray() needs bytes, or a str and 'latin-1'")


def _complex(real=0.0, imag=0.0):
    if type(real) not in (int, float) or type(imag) not in (int, float):
        _refuse("complex() needs two numbers")
    return complex(real, imag)


def _class(module, name):
    # Classes of higher layers are named, not imported, as pickle names them: resolving
    # the name at load time keeps this module below nn in the package's layers.
    return getattr(importlib.import_module(module), name)


# ----- the allowlist: name in the file -> (object GLOBAL pushes, REDUCE check, NEWOBJ check)

def _allowed():
    table = {
        "collections.OrderedDict": (OrderedDict, _mapping(OrderedDict), None),
        "collections.Counter": (Counter, _mapping(Counter), None),
        "builtins.set": (set, _collection(set), None),
        "builtins.frozenset": (frozenset, _collection(frozenset), None),
        "builtins.bytes": (bytes, _bytes, None),
        "builtins.bytearray": (bytearray, _bytearray, None),
        "builtins.complex": (complex, _complex, None),
        "_codecs.encode": (codecs.encode, _encode, None),
        "numpy.dtype": (np.dtype, _dtype, None),
        "numpy.ndarray": (np.ndarray, None, None),           # only as _reconstruct's argument
        "tatamikomi.tensor._rebuild": (_rebuild, _tensor, None),
        "tatamikomi.tensor.Size": (Size, _size, _size),
        "tatamikomi.dtypes._by_name": (dtypes._by_name, _dtype_by_name, None),
        "tatamikomi.nn.module.Parameter": (_class("tatamikomi.nn.module", "Parameter"),
                                           _parameter, None),
    }
    core = getattr(np, "_core", None) or np.core
    for name in ("numpy._core", "numpy.core"):                 # NumPy 2 names, then NumPy 1
        table[f"{name}.multiarray._reconstruct"] = (core.multiarray._reconstruct, _reconstruct,
                                                    None)
        table[f"{name}.multiarray.scalar"] = (core.multiarray.scalar, _scalar, None)
        table[f"{name}.numeric._frombuffer"] = (core.numeric._frombuffer, _frombuffer, None)
    return table


BUILDS = {_reconstruct: _build_array, _dtype: _build_dtype}    # REDUCE results BUILD fills
_ALLOWED = None
user_globals = {}            # name -> object, from add_safe_globals


def allowed():
    """The built-in allowlist, made on first use (nn must be importable by then)."""
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = _allowed()
    return _ALLOWED


def global_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


# ----- PyTorch's files: storages, tensor rebuilds, torch's Size, device and dtypes
# A torch pickle names torch's functions; we never import torch. GLOBAL pushes a TorchName for
# each, REDUCE runs our checked constructor instead, and save() writes the same names back.

class TorchName:
    """A torch global as a pickle names it (torch._utils._rebuild_tensor_v2); never called."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __repr__(self):
        return f"{self.module}.{self.name}"

    def __call__(self, *args):        # pickle's writer wants a callable; nothing calls it
        raise TypeError(f"{self!r} names a function of torch's; tatamikomi never calls it")


_NAMES = {}


def torch_name(module, name):
    """The one TorchName for module.name (pickles memoize it: one GLOBAL per file)."""
    return _NAMES.setdefault((module, name), TorchName(module, name))


# torch's storage classes and the element each holds; bfloat16 is read as float32 (exact: a
# bfloat16 is the upper half of a float32), as nothing here computes in bfloat16
STORAGE_TYPES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                 "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                 "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
                 "BoolStorage": "bool", "UntypedStorage": "uint8"}


def storage_type(name):
    """The TorchName of the storage class holding our dtype name (FloatStorage for float32)."""
    return torch_name("torch", next(k for k, v in STORAGE_TYPES.items() if v == name))


def storage_dtype(stype):
    """(NumPy dtype of the stored bytes, True for bfloat16) of a storage type from the file."""
    if type(stype) is not TorchName or stype.module != "torch" or \
            stype.name not in STORAGE_TYPES or _NAMES.get(("torch", stype.name)) is not stype:
        _refuse(f"a persistent id must name a storage type, got {stype!r:.80}")
    name = STORAGE_TYPES[stype.name]
    return (np.dtype(np.uint16), True) if name == "bfloat16" else (np.dtype(name), False)


class Storage:
    """One storage of a torch file: a flat array. Only the file's persistent ids make one."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def cpu(self):                    # map_location=lambda storage, loc: storage.cpu()
        return self


def _strided(flat, offset, size, stride):
    """The view of flat (1-D) that torch's (storage_offset, size, stride) describe."""
    n = _shape(size)
    if type(stride) is not tuple or len(stride) != len(size) or not all(
            type(s) is int and s >= 0 for s in stride) or type(offset) is not int or offset < 0:
        _refuse(f"a tensor needs an offset and strides of non-negative ints, got {offset!r:.40}"
                f" and {stride!r:.80}")
    last = offset + sum((d - 1) * s for d, s in zip(size, stride)) + 1 if n else offset
    if last > flat.size:
        _refuse(f"a tensor of size {size} and stride {stride} at offset {offset} needs "
                f"{last} elements, its storage holds {flat.size}")
    item = flat.itemsize
    # np.ndarray on the storage (not as_strided): its base is the storage, so save() finds
    # two views of one storage and writes it once, as torch does
    return np.ndarray(size, flat.dtype, buffer=flat, offset=offset * item,
                      strides=tuple(s * item for s in stride))


def _no_hooks(hooks):
    if type(hooks) not in (OrderedDict, dict) or hooks:
        _refuse("tensors with backward hooks cannot be loaded")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    if type(storage) is not Storage:
        _refuse("a tensor's storage must be one of the file's storages")
    _no_hooks(backward_hooks)
    if not (metadata is None or type(metadata) is dict and not metadata):
        _refuse(f"tensor metadata {metadata!r:.80} is not supported")
    return _tensor(_strided(storage.array, storage_offset, size, stride), requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    _no_hooks(backward_hooks)
    return _parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if not (state is None or type(state) is dict and not state):
        _refuse("Parameters with Python attributes cannot be loaded")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _rebuild_from_type_v2(func, new_type, args, state):
    # a tensor pickled with its class: torch.Tensor or Parameter, no extra attributes
    if func not in (torch_name("torch._utils", "_rebuild_tensor_v2"), _rebuild_tensor_v2) or \
            type(args) is not tuple or not (state is None or type(state) is dict and not state):
        _refuse("_rebuild_from_type_v2 is allowed only for plain tensors")
    t = _rebuild_tensor_v2(*args)
    if new_type is torch_name("torch.nn.parameter", "Parameter"):
        return _parameter(t, t.requires_grad)
    if new_type is not torch_name("torch", "Tensor"):
        _refuse(f"tensors of class {new_type!r:.80} cannot be loaded")
    return t


def _device(type_, index=None):
    if type(type_) is not str or not (index is None or type(index) is int):
        _refuse("torch.device needs a string and an optional int")
    try:
        return device(type_, index)
    except (RuntimeError, TypeError) as e:
        _refuse(str(e))


TORCH_REBUILDS = {"torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
                  "torch._utils._rebuild_parameter": _rebuild_parameter,
                  "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
                  "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2}


def torch_allowed():
    """allowed() plus what torch.save writes for tensors, Parameters, Size, device, dtypes."""
    table = dict(allowed())
    for full, check in TORCH_REBUILDS.items():
        table[full] = (torch_name(*full.rsplit(".", 1)), check, None)
    for full in [f"torch.{s}" for s in STORAGE_TYPES] + ["torch.Tensor",
                                                        "torch.nn.parameter.Parameter"]:
        table[full] = (torch_name(*full.rsplit(".", 1)), None, None)   # only as arguments
    table["torch.Size"] = (Size, _size, _size)
    table["torch.device"] = (device, _device, None)
    for d in dtypes.ALL:
        table[f"torch.{d.name}"] = (d, None, None)
    return table


# ----- CIFAR's python batches: a separate, smaller list, so it can never widen torch files'
# CIFAR-10/100 ship Python 2 pickles of dicts of lists, strings and one uint8 array. Read with
# encoding="latin1" (as torchvision reads them), their strings arrive as str: the dtype's type
# string, the array's typecode and its raw bytes, which old NumPy wrote with int flags.

def _py2_dtype(obj, align=False, copy=False):
    if type(align) is int and type(copy) is int:         # old NumPy: dtype('u1', 0, 1)
        align, copy = bool(align), bool(copy)
    return _dtype(obj, align, copy)


def _py2_reconstruct(cls, shape, typecode):
    if cls is not np.ndarray or shape != (0,) or typecode not in ("b", b"b"):
        _refuse("numpy _reconstruct is allowed only for a plain ndarray")
    return np.empty(0, np.int8)


def _py2_build_array(array, state):
    if type(state) is tuple and len(state) == 5 and type(state[4]) is str:
        state = state[:4] + (state[4].encode("latin-1"),)     # Python 2 str: the raw bytes
    _build_array(array, state)


def cifar_allowed():
    """name in the file -> (object GLOBAL pushes, REDUCE check, NEWOBJ check), for CIFAR."""
    core = getattr(np, "_core", None) or np.core
    table = {"numpy.dtype": (np.dtype, _py2_dtype, None),
             "numpy.ndarray": (np.ndarray, None, None),
             "_codecs.encode": (codecs.encode, _encode, None)}     # Python 3's protocol 2 bytes
    for name in ("numpy._core", "numpy.core"):
        table[f"{name}.multiarray._reconstruct"] = (core.multiarray._reconstruct,
                                                    _py2_reconstruct, None)
    return table


BUILDS.update({_py2_reconstruct: _py2_build_array, _py2_dtype: _build_dtype})
