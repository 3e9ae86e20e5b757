"""A pickle reader that builds only data: what `load(weights_only=True)` runs instead of pickle.

It is a small pickle machine of its own, not `pickle.Unpickler` with a filter, so that every
opcode that calls, instantiates or mutates is decided here:

- GLOBAL and STACK_GLOBAL resolve only names in the allowlist (`_allowlist.py`, or what
  `add_safe_globals` adds); `sys`, `os`, `posix` and `nt` are refused by module, as PyTorch does.
- REDUCE, NEWOBJ and BUILD never call what the file names: they call our own checked constructor
  for that name (e.g. `_frombuffer` checks the dtype is numeric and the buffer has exactly the
  bytes the shape needs before NumPy sees it), and BUILD works only on an object this load made
  for that purpose, once.
- BINPERSID hands its id to the loader's persistent_load (torch files name their storages so;
  the loader checks the id); without one it is refused.
- INST, OBJ, PERSID, EXT and out-of-band buffers are refused; so are protocol 0's text strings.
- Lengths are checked against the bytes that are there (data is read in 1 MiB chunks), so a forged
  length ends in EOFError instead of a huge allocation; every opcode costs time linear in its own
  bytes, so no file makes it hang.
- Tuples may nest only MAX_DEPTH deep: hashing a deeper one (a dict key) recurses in C without a
  limit and crashes the interpreter. (A frozenset caches its hash as it is built: no such risk.)
"""
import _compat_pickle
import pickle
import struct
from collections import Counter, OrderedDict
from pickle import UnpicklingError

from ..tensor import Tensor
from ._allowlist import BUILDS, allowed, user_globals

CHUNK = 1 << 20            # bytes read at a time for one long value
MAX_LINE = 8192            # GLOBAL, INT, LONG, FLOAT, GET, PUT lines
MAX_DEPTH = 100            # nesting of tuples
BLOCKED_MODULES = ("sys", "os", "posix", "nt")


def _refuse(what):
    raise UnpicklingError(what)


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

    def __init__(self, file, *, encoding="utf-8", persistent_load=None, allowlist=None):
        self.src, self.encoding = _Source(file), encoding
        self.persistent_load, self.allowlist = persistent_load, allowlist   # torch files'
        self.tensors = 0                   # tensors built: load() checks map_location by it

    def load(self):
        self.stack, self.marks, self.memo = [], [], {}
        self.depth = {}                    # id -> (tuple, nesting depth) for nested tuples
        self.unbuilt = {}                  # id -> (object, its BUILD), made by this load
        self.allowed = allowed() if self.allowlist is None else self.allowlist
        self.user = dict(user_globals)
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

    def persistent(self, pid):
        if self.persistent_load is None:
            _refuse("A load persistent id instruction was encountered, but no persistent_load "
                    "function was specified.")
        return self.persistent_load(pid)

    def is_user(self, obj):
        return any(v is obj for v in self.user.values())

    def call(self, func, args):
        if type(args) is not tuple:
            _refuse("REDUCE arguments must be a tuple")
        found = self.entry(func)
        if found is not None and found[0] is not None:
            result = found[0](*args)
            if found[0] in BUILDS:
                self.unbuilt[id(result)] = (result, BUILDS[found[0]])
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
    P.BINPERSID[0]: _push(lambda m: m.persistent(m.pop())),
}
