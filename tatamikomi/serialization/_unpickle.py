"""A pickle reader that builds only data: what `load(weights_only=True)` runs instead of pickle.

It is a small pickle machine of its own, not `pickle.Unpickler` with a filter, so that every
opcode that calls, instantiates or mutates is decided here:

- GLOBAL and STACK_GLOBAL resolve only names in the allowlist (ALLOWED below, or what
  `add_safe_globals` adds); `sys`, `os`, `posix` and `nt` are refused by module, as PyTorch does.
- REDUCE, NEWOBJ and BUILD never call what the file names: they call our own checked constructor
  for that name (e.g. `_frombuffer` checks the dtype is numeric and the buffer has exactly the
  bytes the shape needs before NumPy sees it), and BUILD works only on an object this load made
  for that purpose, once.
- INST, OBJ, PERSID, EXT and out-of-band buffers are refused; so are protocol 0's text strings.
- Lengths are checked against the bytes that are there (data is read in 1 MiB chunks), so a forged
  length ends in EOFError instead of a huge allocation; every opcode costs time linear in its own
  bytes, so no file makes it hang.
- Tuples may nest only MAX_DEPTH deep: hashing a deeper one (a dict key) recurses in C without a
  limit and crashes the interpreter. (A frozenset caches its hash as it is built: no such risk.)
"""
import _compat_pickle
import codecs
import importlib
import pickle
import re
import struct
from collections import Counter, OrderedDict
from pickle import UnpicklingError

import numpy as np

from .. import dtypes
from ..tensor import Size, Tensor, _rebuild

CHUNK = 1 << 20            # bytes read at a time for one long value
MAX_LINE = 8192            # GLOBAL, INT, LONG, FLOAT, GET, PUT lines
MAX_DEPTH = 100            # nesting of tuples
BLOCKED_MODULES = ("sys", "os", "posix", "nt")
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


_BUILDS = {_reconstruct: _build_array, _dtype: _build_dtype}    # REDUCE results BUILD fills
_ALLOWED = None
_user_globals = {}           # name -> object, from add_safe_globals


def allowed():
    """The built-in allowlist, made on first use (nn must be importable by then)."""
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = _allowed()
    return _ALLOWED


def global_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def _unsupported_global(full):
    shown = full[len("builtins."):] if full.startswith("builtins.") else full
    return UnpicklingError(
        f"Unsupported global: GLOBAL {shown} was not an allowed global by default. Please use "
        f"`torch.serialization.add_safe_globals([{shown}])` or the "
        f"`torch.serialization.safe_globals([{shown}])` context manager to allowlist this global "
        "if you trust this class/function.")


# ----- the machine

class _Source:
    """read(n) and readline() that never take more than the file holds."""

    def __init__(self, f):
        self.f, self.pos = f, 0

    def read(self, n, mutable=False):
        if n < 0:
            raise UnpicklingError(f"negative length {n} at byte {self.pos}")
        data = self.f.read(n) if n <= CHUNK else b""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("the file must be opened in binary mode ('rb')")
        if len(data) < n or mutable:
            got = bytearray(data)
            while len(got) < n:
                part = self.f.read(min(n - len(got), CHUNK))
                if not part:
                    if self.pos == 0 and not got:
                        raise EOFError("Ran out of input")
                    raise EOFError(f"pickle data was truncated: {n} bytes wanted at byte "
                                   f"{self.pos}, {len(got)} left")
                got += part
            data = got if mutable else bytes(got)
        self.pos += n
        return data

    def readline(self):
        line = self.f.readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            if len(line) > MAX_LINE:
                raise UnpicklingError(f"line longer than {MAX_LINE} bytes at byte {self.pos}")
            raise EOFError(f"pickle data was truncated: a line at byte {self.pos} has no end")
        self.pos += len(line)
        return line[:-1]


class Unpickler:
    """Unpickler(file).load(): the object in a pickle, built from allowed parts only."""

    def __init__(self, file, *, encoding="utf-8"):
        self.src, self.encoding = _Source(file), encoding
        self.tensors = 0                   # tensors built: load() checks map_location by it

    def load(self):
        self.stack, self.marks, self.memo = [], [], {}
        self.depth = {}                    # id -> (tuple, nesting depth) for nested tuples
        self.unbuilt = {}                  # id -> (object, its BUILD), made by this load
        self.allowed = allowed()
        self.user = dict(_user_globals)
        ops = _OPS
        while True:
            at = self.src.pos
            code = self.src.read(1)[0]
            op = ops.get(code)
            if op is None:
                raise UnpicklingError(f"Unsupported operand {code}")
            try:
                if op(self) is _STOP:
                    return self.pop()
            except (UnpicklingError, EOFError, RuntimeError):
                raise
            except (TypeError, ValueError, OverflowError, KeyError, AttributeError,
                    IndexError, struct.error) as e:
                raise UnpicklingError(f"opcode {bytes([code])!r} at byte {at}: "
                                      f"{type(e).__name__}: {e}") from None

    # stack helpers
    def pop(self):
        if not self.stack:
            raise UnpicklingError("unpickling stack underflow")
        return self.stack.pop()

    def top(self):
        if not self.stack:
            raise UnpicklingError("unpickling stack underflow")
        return self.stack[-1]

    def pop_mark(self):
        if not self.marks:
            raise UnpicklingError("could not find MARK")
        items, self.stack = self.stack, self.marks.pop()
        return items

    def tuple(self, items):
        """tuple(items), refused if tuples would nest deeper than MAX_DEPTH."""
        # A tuple this load did not track holds no tuple (only TUPLE opcodes make nested
        # ones), so its depth is 1. The table keeps its tuples alive, so ids stay unique.
        inner = [self.depth.get(id(x), (None, 1))[1] for x in items if isinstance(x, tuple)]
        obj = tuple(items)
        if inner:
            d = 1 + max(inner)
            if d > MAX_DEPTH:
                _refuse(f"tuples nested more than {MAX_DEPTH} deep")
            self.depth[id(obj)] = (obj, d)
        return obj

    # globals and calls
    def find(self, module, name):
        if (module, name) in _compat_pickle.NAME_MAPPING:          # Python 2 names
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if module in BLOCKED_MODULES:
            _refuse(f"Trying to load unsupported GLOBAL {full} whose module {module} is "
                    "blocked.")
        if full in self.allowed:
            return self.allowed[full][0]
        if full in self.user:
            return self.user[full]
        raise _unsupported_global(full)

    def entry(self, obj):
        """(REDUCE check, NEWOBJ check) for an allowlisted object, or None."""
        for value, call, new in self.allowed.values():
            if value is obj:
                return call, new
        return None

    def is_user(self, obj):
        return any(v is obj for v in self.user.values())

    def call(self, func, args):
        if type(args) is not tuple:
            _refuse("REDUCE arguments must be a tuple")
        found = self.entry(func)
        if found is not None and found[0] is not None:
            result = found[0](*args)
            if found[0] in _BUILDS:
                self.unbuilt[id(result)] = (result, _BUILDS[found[0]])
            self.tensors += isinstance(result, Tensor)
            return result
        if found is None and self.is_user(func):
            return func(*args)
        msg = f"Trying to call reduce for unrecognized function {func!s:.200}"
        if hasattr(func, "__self__"):
            msg += f" which belongs to {func.__self__!s:.200}"
        _refuse(msg)

    def new(self, cls, args, kwargs=None):
        if type(args) is not tuple or kwargs:
            _refuse("NEWOBJ arguments must be a tuple (and NEWOBJ_EX's keywords empty)")
        found = self.entry(cls)
        if found is not None and found[1] is not None:
            return found[1](*args)
        if found is None and isinstance(cls, type) and self.is_user(cls):
            return cls.__new__(cls, *args)
        _refuse("Can only create new object for nn.Parameter or classes allowlisted via "
                f"`add_safe_globals` but got {cls!s:.200}")

    def build(self, inst, state):
        pending = self.unbuilt.pop(id(inst), None)
        if pending is not None:
            pending[1](inst, state)
        elif type(inst) is OrderedDict:
            if type(state) is not dict or not all(type(k) is str and not k.startswith("__")
                                                  for k in state):
                _refuse("OrderedDict attributes must be a dict of plain names")
            inst.__dict__.update(state)
        elif self.is_user(type(inst)):
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
                return
            slots = None
            if type(state) is tuple and len(state) == 2:
                state, slots = state
            if state:
                inst.__dict__.update(state)
            for k, v in (slots or {}).items():
                setattr(inst, k, v)
        else:
            _refuse("Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                    f"`add_safe_globals`, but got {type(inst)}")


_STOP = object()


def _u(fmt, size):
    return lambda m: struct.unpack(fmt, m.src.read(size))[0]


def _push(value_of):
    def op(m):
        m.stack.append(value_of(m))
    return op


def _text_int(m):
    line = m.src.readline()
    return False if line == b"00" else True if line == b"01" else int(line)   # protocol 1 bools


def _string(m, n):
    data = m.src.read(n)
    return data if m.encoding == "bytes" else data.decode(m.encoding, "strict")


def _append(m):
    item = m.pop()
    target = m.top()
    if type(target) is not list:
        _refuse(f"Can only append to lists, but got {type(target)}")
    target.append(item)


def _appends(m):
    items = m.pop_mark()
    target = m.top()
    if type(target) is not list:
        _refuse(f"Can only extend lists, but got {type(target)}")
    target.extend(items)


def _set_items(m, items, opcode):
    target = m.top()
    if type(target) not in (dict, OrderedDict, Counter):
        _refuse(f"Can only {opcode} for dict, collections.OrderedDict, collections.Counter, "
                f"but got {type(target)}")
    if len(items) % 2:
        _refuse(f"{opcode} needs key/value pairs")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _dict(m):
    items = m.pop_mark()
    m.stack.append({})
    _set_items(m, items, "DICT")


def _add_items(m):
    items = m.pop_mark()
    target = m.top()
    if type(target) is not set:
        _refuse(f"Can only ADDITEMS to sets, but got {type(target)}")
    target.update(items)


def _from_mark(make):
    def op(m):
        items = m.pop_mark()                 # first: it swaps m.stack back to the outer one
        m.stack.append(make(m, items))
    return op


def _tuple_n(n):
    def op(m):
        if len(m.stack) < n:
            _refuse("unpickling stack underflow")
        items = m.stack[-n:]
        del m.stack[-n:]
        m.stack.append(m.tuple(items))
    return op


def _get(m, index):
    if index not in m.memo:
        _refuse(f"Memo value not found at index {index}")
    m.stack.append(m.memo[index])


def _put(m, index):
    if index < 0:
        _refuse("negative PUT argument")
    m.memo[index] = m.top()


def _global(m, module, name):
    try:
        module, name = module.decode("utf-8"), name.decode("utf-8")
    except (UnicodeDecodeError, AttributeError):
        _refuse("a global's module and name must be UTF-8 text")
    m.stack.append(m.find(module, name))


def _stack_global(m):
    name, module = m.pop(), m.pop()
    if type(module) is not str or type(name) is not str:
        _refuse("STACK_GLOBAL requires str")
    m.stack.append(m.find(module, name))


def _reduce(m):
    args = m.pop()
    m.stack.append(m.call(m.pop(), args))


def _newobj(m):
    args = m.pop()
    m.stack.append(m.new(m.pop(), args))


def _newobj_ex(m):
    kwargs, args = m.pop(), m.pop()
    m.stack.append(m.new(m.pop(), args, kwargs))


def _build(m):
    state = m.pop()
    m.build(m.top(), state)


def _proto(m):
    n = m.src.read(1)[0]
    if n > 5:
        _refuse(f"unsupported pickle protocol: {n}")


def _mark(m):
    m.marks.append(m.stack)
    m.stack = []


def _pop(m):
    if m.stack:
        m.stack.pop()
    else:
        m.pop_mark()


def _long(m, n):
    if n < 0:
        _refuse("LONG pickle has negative byte count")
    return int.from_bytes(m.src.read(n), "little", signed=True)


P = pickle
_OPS = {
    P.PROTO[0]: _proto,
    P.FRAME[0]: lambda m: m.src.read(8),                     # framing is only a read hint
    P.STOP[0]: lambda m: _STOP,
    P.MARK[0]: _mark,
    P.POP[0]: _pop,
    P.POP_MARK[0]: lambda m: m.pop_mark(),
    P.DUP[0]: _push(lambda m: m.top()),
    P.NONE[0]: _push(lambda m: None),
    P.NEWTRUE[0]: _push(lambda m: True),
    P.NEWFALSE[0]: _push(lambda m: False),
    P.INT[0]: _push(_text_int),
    P.LONG[0]: _push(lambda m: int(m.src.readline().rstrip(b"L"))),
    P.BININT[0]: _push(_u("<i", 4)),
    P.BININT1[0]: _push(_u("<B", 1)),
    P.BININT2[0]: _push(_u("<H", 2)),
    P.LONG1[0]: _push(lambda m: _long(m, m.src.read(1)[0])),
    P.LONG4[0]: _push(lambda m: _long(m, _u("<i", 4)(m))),
    P.FLOAT[0]: _push(lambda m: float(m.src.readline())),
    P.BINFLOAT[0]: _push(_u(">d", 8)),
    P.BINSTRING[0]: _push(lambda m: _string(m, _u("<i", 4)(m))),
    P.SHORT_BINSTRING[0]: _push(lambda m: _string(m, m.src.read(1)[0])),
    P.BINBYTES[0]: _push(lambda m: m.src.read(_u("<I", 4)(m))),
    P.SHORT_BINBYTES[0]: _push(lambda m: m.src.read(m.src.read(1)[0])),
    P.BINBYTES8[0]: _push(lambda m: m.src.read(_u("<Q", 8)(m))),
    P.BYTEARRAY8[0]: _push(lambda m: m.src.read(_u("<Q", 8)(m), mutable=True)),
    P.BINUNICODE[0]: _push(lambda m: str(m.src.read(_u("<I", 4)(m)), "utf-8", "surrogatepass")),
    P.SHORT_BINUNICODE[0]: _push(lambda m: str(m.src.read(m.src.read(1)[0]), "utf-8",
                                               "surrogatepass")),
    P.BINUNICODE8[0]: _push(lambda m: str(m.src.read(_u("<Q", 8)(m)), "utf-8",
                                          "surrogatepass")),
    P.EMPTY_TUPLE[0]: _push(lambda m: ()),
    P.TUPLE[0]: _from_mark(lambda m, items: m.tuple(items)),
    P.TUPLE1[0]: _tuple_n(1),
    P.TUPLE2[0]: _tuple_n(2),
    P.TUPLE3[0]: _tuple_n(3),
    P.EMPTY_LIST[0]: _push(lambda m: []),
    P.LIST[0]: _from_mark(lambda m, items: items),
    P.APPEND[0]: _append,
    P.APPENDS[0]: _appends,
    P.EMPTY_DICT[0]: _push(lambda m: {}),
    P.DICT[0]: _dict,
    P.SETITEM[0]: lambda m: _set_items(m, [*reversed([m.pop(), m.pop()])], "SETITEM"),
    P.SETITEMS[0]: lambda m: _set_items(m, m.pop_mark(), "SETITEMS"),
    P.EMPTY_SET[0]: _push(lambda m: set()),
    P.ADDITEMS[0]: _add_items,
    P.FROZENSET[0]: _from_mark(lambda m, items: frozenset(items)),
    P.GET[0]: lambda m: _get(m, int(m.src.readline())),
    P.BINGET[0]: lambda m: _get(m, m.src.read(1)[0]),
    P.LONG_BINGET[0]: lambda m: _get(m, _u("<I", 4)(m)),
    P.PUT[0]: lambda m: _put(m, int(m.src.readline())),
    P.BINPUT[0]: lambda m: _put(m, m.src.read(1)[0]),
    P.LONG_BINPUT[0]: lambda m: _put(m, _u("<I", 4)(m)),
    P.MEMOIZE[0]: lambda m: _put(m, len(m.memo)),
    P.GLOBAL[0]: lambda m: _global(m, m.src.readline(), m.src.readline()),
    P.STACK_GLOBAL[0]: _stack_global,
    P.REDUCE[0]: _reduce,
    P.NEWOBJ[0]: _newobj,
    P.NEWOBJ_EX[0]: _newobj_ex,
    P.BUILD[0]: _build,
}
