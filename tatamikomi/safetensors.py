"""safetensors files (HuggingFace's weight format) read and written here, as safetensors.torch.

A file is an 8-byte little-endian header length N, N bytes of JSON, then the tensors' bytes:
`{"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin,
end]}, ...}` with offsets into the data that follows, which the tensors must cover exactly, in
order, without gaps or overlaps. The writer orders tensors as safetensors does (wider dtypes
first, then by name) and pads the header with spaces to 8 bytes, so the bytes are the same.

The format is data only: reading it runs nothing, and every size is checked against the file
before an array is made. bfloat16 (BF16) tensors load as float32, exactly (a bfloat16 is the top
half of a float32): tatamikomi has no bfloat16 dtype. U16/U32/U64, float8 and complex tensors
are refused with a SafetensorError naming the tensor.
"""
import json
import mmap
import os
import struct

import numpy as np

from .serialization._atomic import write_atomic
from .serialization._messages import _check_location
from .tensor import Tensor

MAX_HEADER = 100_000_000          # safetensors' own limit on the JSON header
# safetensors' dtype names, in the order its writer sorts them (widest last; written first)
ORDER = ("BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64",
         "U64")
NAMES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32",
         "I64": "int64", "F16": "float16", "F32": "float32", "F64": "float64"}
CODES = {v: k for k, v in NAMES.items()}
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4,
         "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8, "C64": 8, "F8_E5M2": 1,
         "F8_E4M3": 1, "F8_E8M0": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1}


class SafetensorError(Exception):
    """A safetensors file that cannot be read (safetensors' own exception has this name)."""


def _bad(why):
    return SafetensorError(f"Error while deserializing: {why}")


# ----- reading

def _header(buf):
    """(metadata, {name: (code, shape, begin, end)} in file order, data start) of buf."""
    if len(buf) < 8:
        raise _bad("header too small")
    n = struct.unpack_from("<Q", buf)[0]
    if n > MAX_HEADER:
        raise _bad("header too large")
    if 8 + n > len(buf):
        raise _bad("invalid header length")
    try:
        text = bytes(buf[8:8 + n]).decode("utf-8")
    except UnicodeDecodeError as e:
        raise _bad(f"invalid UTF-8 in header: {e}") from None
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as e:        # RecursionError: [[[[...]]]] nested deep
        raise _bad(f"invalid JSON in header: {type(e).__name__}: {str(e)[:200]}") from None
    if type(header) is not dict:
        raise _bad("invalid JSON in header: the header must be an object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (type(metadata) is dict and all(
            type(k) is str and type(v) is str for k, v in metadata.items())):
        raise _bad("invalid JSON in header: __metadata__ must map strings to strings")
    entries = {name: _entry(name, info) for name, info in header.items()}
    end = 0
    for name, (code, shape, begin, stop) in sorted(entries.items(), key=lambda e: e[1][2:]):
        if begin != end or stop < begin:
            raise _bad(f"invalid offset for tensor `{name}`")
        numel = 1
        for d in shape:
            numel *= d
        if numel * SIZES[code] >= 2 ** 63:
            raise _bad("overflow computing buffer size from shape and/or element type")
        if numel * SIZES[code] != stop - begin:
            raise _bad("invalid shape, data type, or offset for tensor")
        end = stop
    if 8 + n + end != len(buf):
        raise _bad("incomplete metadata, file not fully covered")
    return metadata, entries, 8 + n


def _entry(name, info):
    ok = type(info) is dict and type(info.get("dtype")) is str and \
        type(info.get("shape")) is list and type(info.get("data_offsets")) is list
    if ok:
        shape, offsets = info["shape"], info["data_offsets"]
        ok = all(type(d) is int and d >= 0 for d in shape) and len(offsets) == 2 and all(
            type(o) is int and o >= 0 for o in offsets)
    if not ok:
        raise _bad(f"invalid JSON in header: tensor `{name}` needs a dtype, a shape of "
                   "non-negative ints and two data_offsets")
    if info["dtype"] not in SIZES:
        raise _bad(f"invalid JSON in header: unknown dtype `{info['dtype']}`")
    return info["dtype"], tuple(shape), offsets[0], offsets[1]


def _tensor(name, code, shape, buf, at):
    """The tensor `name` from buf at byte at (little-endian), as our dtype; a view if it can."""
    if code == "BF16":
        count = int(np.prod(shape, dtype=np.int64))
        raw = np.frombuffer(buf, "<u2", count, at) if count else np.zeros(0, np.uint16)
        return Tensor._make((raw.astype(np.uint32) << 16).view(np.float32).reshape(shape))
    if code not in NAMES:
        raise SafetensorError(
            f"tensor `{name}` has dtype {code}, which tatamikomi has no dtype for (it reads "
            "BOOL, U8, I8, I16, I32, I64, F16, F32, F64, and BF16 as float32)")
    dt = np.dtype(NAMES[code]).newbyteorder("<")
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        return Tensor._make(np.zeros(shape, dt.newbyteorder("=")))
    if at % dt.itemsize:                     # misaligned: NumPy would be slow on it
        a = np.frombuffer(bytes(buf[at:at + count * dt.itemsize]), dt).copy()
    else:
        a = np.frombuffer(buf, dt, count, at)
    if not dt.isnative:
        a = a.astype(dt.newbyteorder("="))
    return Tensor._make(a.reshape(shape))


def _load(buf):
    metadata, entries, start = _header(buf)
    return {name: _tensor(name, code, shape, buf, start + begin)
            for name, (code, shape, begin, _) in entries.items()}


def load(data):
    """The tensors in the bytes of a safetensors file, as a dict (copies, writable).

    Shapes: as the file gives them.
    """
    return _load(bytearray(data))


def _map(filename):
    with open(filename, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return bytearray()
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)    # private, writable pages


def _check_device(device):
    """Only the CPU is here: another device fails with torch.load's words (an int is a GPU)."""
    _check_location("cuda" if isinstance(device, int) else str(device).split(":")[0])


def load_file(filename, device="cpu"):
    """The tensors in a safetensors file, mapped copy-on-write (writes never reach the file).

    Shapes: as the file gives them.
    """
    _check_device(device)
    return _load(_map(filename))


class safe_open:  # noqa: N801 - safetensors' public name
    """`with safe_open(path, framework="pt") as f:` keys(), metadata(), get_tensor(name)."""

    def __init__(self, filename, framework="pt", device="cpu"):
        _check_device(device)
        self.buf = _map(filename)
        self._metadata, self.entries, self.start = _header(self.buf)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return sorted(self.entries)

    def offset_keys(self):
        return list(self.entries)

    def metadata(self):
        return self._metadata

    def get_tensor(self, name):
        code, shape, begin, _ = self.entries[name]
        return _tensor(name, code, shape, self.buf, self.start + begin)


# ----- writing

def _check(tensors, metadata):
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    for k, v in tensors.items():
        if not isinstance(v, Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected torch.Tensor but received "
                             f"{type(v)}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("metadata must be a dict of str to str")
    groups = {}
    for k, v in tensors.items():
        root = v.array
        while isinstance(root.base, np.ndarray):
            root = root.base
        if v.numel():
            groups.setdefault(id(root), []).append(k)
    failing = [set(names) for names in groups.values() if len(names) > 1]
    if failing:
        raise RuntimeError(
            f"""
            Some tensors share memory, this will lead to duplicate memory on disk and potential differences when loading them again: {failing}.
            A potential way to correctly save your model is to use `save_model`.
            More information at https://huggingface.co/docs/safetensors/torch_shared_tensors
            """)  # noqa: E501 - safetensors' message, as it words it
    for k, v in tensors.items():
        if not v.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{k}` which is not allowed. It "
                "either means you are trying to save tensors which are reference of each other in "
                "which case it's recommended to save only the full tensors, and reslice at load "
                "time, or simply call `.contiguous()` on your tensor to pack it before saving.")


def _layout(tensors, metadata):
    """(header bytes padded to 8, [little-endian arrays in file order])."""
    _check(tensors, metadata)
    order = sorted(tensors, key=lambda k: (-ORDER.index(CODES[tensors[k].dtype.name]), k))
    header = {} if metadata is None else {"__metadata__": metadata}
    arrays, at = [], 0
    for k in order:
        a = tensors[k].array
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        header[k] = {"dtype": CODES[tensors[k].dtype.name], "shape": list(a.shape),
                     "data_offsets": [at, at + a.nbytes]}
        arrays.append(a)
        at += a.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, arrays


def _write(out, head, arrays):
    out.write(head)
    for a in arrays:
        if a.size:                       # (an empty view cannot be cast to bytes)
            out.write(memoryview(np.ascontiguousarray(a)).cast("B"))


def save(tensors, metadata=None):
    """The bytes of a safetensors file holding tensors (a dict of contiguous tensors)."""
    head, arrays = _layout(tensors, metadata)
    return head + b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)


def save_file(tensors, filename, metadata=None):
    """Write tensors (a dict of contiguous tensors) to filename, atomically."""
    head, arrays = _layout(tensors, metadata)
    write_atomic(filename, lambda out: _write(out, head, arrays))

