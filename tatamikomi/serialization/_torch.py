"""PyTorch's file formats without torch: the zip archive both ways, the legacy format read.

A torch file is a pickle whose tensors are `torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, requires_grad, hooks)`, the storage a persistent id ('storage', torch.FloatStorage,
key, location, numel) whose bytes sit elsewhere: in `ARCHIVE/data/<key>` of the zip archive
(torch >= 1.6), or after the pickle in the legacy stream. Views of one NumPy buffer are written
as views of one storage, and read back as views of one array, so sharing survives both ways.
"""
import io
import mmap as _mmap
import os
import pickle
import secrets
import struct
import sys
from collections import OrderedDict

import numpy as np

from .. import dtypes
from ..device import device
from ..tensor import Size, Tensor
from . import _allowlist as A
from ._messages import UNSAFE_MESSAGE, _check_location
from ._unpickle import Unpickler
from ._zip import ZipReader, ZipWriter

# the legacy stream starts with pickles of this number and this protocol version
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
LEGACY_START = pickle.dumps(MAGIC_NUMBER, protocol=2)
NOT_ALLOWED = ("Cannot use ``weights_only=True`` with TorchScript archives passed to "
               "``torch.load``. ")


# ----- save

class _StorageRef:
    """What a tensor's pickle points at; the pickler turns it into a persistent id."""

    __slots__ = ("pid",)

    def __init__(self, pid):
        self.pid = pid


class _Pickler(pickle._Pickler):
    """The pure-Python pickler, taught torch's names.

    The C pickler imports every global it writes to check it, and torch is not importable
    here; the Python one lets a subclass write GLOBAL torch._utils._rebuild_tensor_v2 itself.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, storages):
        super().__init__(file, protocol=2)
        self.storages = storages

    def save_torch_name(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    def save_dtype(self, obj):
        self.save_torch_name(A.torch_name("torch", obj.name))

    dispatch[A.TorchName] = save_torch_name
    dispatch[dtypes.dtype] = save_dtype

    def persistent_id(self, obj):
        return obj.pid if type(obj) is _StorageRef else None

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return self.storages.reduce(obj)
        if type(obj) is Size:
            return A.torch_name("torch", "Size"), (tuple(obj),)
        if type(obj) is device:
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return A.torch_name("torch", "device"), args
        return NotImplemented


class _Storages:
    """The storages a save writes: one per NumPy buffer (and dtype) that tensors view."""

    def __init__(self):
        self.keys, self.data = {}, []          # id(root) -> (key, dtype, root); [(key, bytes)]

    def reduce(self, t):
        """torch's (rebuild function, arguments) for tensor or Parameter t."""
        if type(t) is not Tensor:
            if type(t).__name__ != "Parameter":
                return NotImplemented          # other subclasses pickle as themselves
            data = Tensor._make(t.array)
            return A.torch_name("torch._utils", "_rebuild_parameter"), (
                data, t.requires_grad, OrderedDict())
        a = t.array
        root, offset = _root(a)
        if root is None:                       # not a plain view of one buffer: write a copy
            a = root = np.ascontiguousarray(a, a.dtype.newbyteorder("="))
            offset = 0
        dtype = dtypes.from_numpy(a.dtype)
        key, kind, _ = self.keys.setdefault(id(root), (str(len(self.keys)), dtype, root))
        if kind != dtype:
            raise RuntimeError("Cannot save multiple tensors or storages that view the same "
                               "data as different types")
        if len(self.data) == int(key):
            self.data.append((key, root.reshape(-1, order="A").view(np.uint8)))
        numel = root.nbytes // a.itemsize
        pid = ("storage", A.storage_type(dtype.name), key, "cpu", numel)
        stride = tuple(s // a.itemsize for s in a.strides)
        return A.torch_name("torch._utils", "_rebuild_tensor_v2"), (
            _StorageRef(pid), offset, tuple(a.shape), stride, t.requires_grad, OrderedDict())


def _root(a):
    """(the buffer array a views, a's offset in it in elements), or (None, 0) if a must be
    copied: a foreign byte order, negative or uneven strides, or a buffer in pieces."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    item = a.itemsize
    whole = root.flags.c_contiguous or root.flags.f_contiguous
    delta = a.ctypes.data - root.ctypes.data
    if a.size == 0 or not whole or not a.dtype.isnative or root.nbytes % item or delta % item \
            or any(s < 0 or s % item for s in a.strides) or min(root.strides, default=0) < 0:
        return None, 0
    return root, delta // item


def save_zip(obj, out, archive):
    """torch.save's zip archive of obj, written to the binary stream out."""
    storages, buf = _Storages(), io.BytesIO()
    _Pickler(buf, storages).dump(obj)
    writer = ZipWriter(out, archive)
    writer.write_record("data.pkl", buf.getbuffer())
    writer.write_record(".format_version", b"1")
    writer.write_record(".storage_alignment", b"64")
    writer.write_record("byteorder", sys.byteorder.encode())
    for key, data in storages.data:
        writer.write_record(f"data/{key}", data)
    writer.write_record("version", b"3\n")
    # torch writes 40 decimal digits here (it only logs them): ours are random
    writer.write_record(".data/serialization_id", str(secrets.randbits(128)).zfill(40).encode())
    writer.finish()


def archive_name(path):
    """torch's archive folder for a file: its name without the last suffix ("archive" when the
    name is not ASCII, as torch does)."""
    base = os.path.basename(os.fspath(path))
    stem = base.rsplit(".", 1)[0] if "." in base else base
    if not stem:
        raise RuntimeError(f"invalid file name: {os.fspath(path)}")
    return stem if stem.isascii() else "archive"


# ----- load: storages

def _restore(map_location, location, storage):
    """The device type a storage saved at location goes to, as torch's map_location says."""
    if map_location is None:
        return location
    if isinstance(map_location, dict):
        return str(map_location.get(location, location))
    if isinstance(map_location, (str, bytes, device)):
        return map_location.decode() if isinstance(map_location, bytes) else str(map_location)
    got = map_location(storage, location)
    return location if got is None else "cpu"


def _check_map_location(map_location):
    """torch calls a map_location that is no dict, string or device: anything else fails."""
    if not (map_location is None or callable(map_location) or
            isinstance(map_location, (dict, str, bytes, device))):
        raise TypeError(f"'{type(map_location).__name__}' object is not callable")


def _place(map_location, location, storage):
    _check_location(_restore(map_location, location, storage).split(":")[0])


def _finish(raw, bfloat16, swap):
    """Storage bytes as our array: byte order fixed, bfloat16 widened to float32."""
    if swap:
        raw = raw.byteswap()
    if bfloat16:
        return (raw.astype(np.uint32) << 16).view(np.float32)
    return raw


def _pid(pid, length):
    if type(pid) is not tuple or len(pid) != length or pid[0] != "storage":
        A._refuse(f"a persistent id must be ('storage', ...) of {length} parts, got "
                  f"{pid!r:.80}")
    _, stype, key, location, numel = pid[:5]
    raw, bf16 = A.storage_dtype(stype)
    if type(key) is not str or type(location) is not str or type(numel) is not int or \
            numel < 0:
        A._refuse(f"a persistent id needs a key, a location and a size, got {pid!r:.80}")
    return raw, bf16, key, location, numel


class _ZipStorages:
    """persistent_load for a zip archive: each data/<key> read (or mapped) once."""

    def __init__(self, reader, map_location, mapped, swap):
        self.reader, self.map_location, self.mapped, self.swap = reader, map_location, mapped, swap
        self.loaded = {}

    def __call__(self, pid):
        raw, bf16, key, location, numel = _pid(pid, 5)
        if key in self.loaded:
            storage, kind = self.loaded[key]
            if kind != (raw, bf16):
                A._refuse(f"storage {key} is named with two dtypes")
            return storage
        name = f"data/{key}"
        size = self.reader.size(name)
        if size != numel * raw.itemsize:
            A._refuse(f"{name} holds {size} bytes, its tensor of {numel} elements of {raw} "
                      f"needs {numel * raw.itemsize}")
        at = self.reader.offset(name)
        if numel == 0:
            array = np.zeros(0, raw)
        elif self.mapped is not None and at % raw.itemsize == 0:
            array = np.frombuffer(self.mapped, raw, numel, at)     # copy-on-write pages
        else:
            array = np.frombuffer(self.reader.read(name), raw)
        storage = A.Storage(_finish(array, bf16, self.swap))
        _place(self.map_location, location, storage)
        self.loaded[key] = (storage, (raw, bf16))
        return storage


class _TrustedUnpickler(pickle.Unpickler):
    """weights_only=False: plain pickle, with torch's names mapped to ours (never to torch)."""

    def __init__(self, file, storages, **kwargs):
        super().__init__(file, **kwargs)
        self.storages, self.table = storages, A.torch_allowed()

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if module == "torch" or module.startswith("torch."):
            if full not in self.table:
                raise pickle.UnpicklingError(
                    f"{full} is torch's own class: tatamikomi builds tensors, Parameters, Size, "
                    "device and dtypes from torch files. Save a model's state_dict() in PyTorch "
                    "and load that into the same model here.")
            obj, call, _ = self.table[full]
            return call or obj
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self.storages(pid)


def _unpickle(data, storages, weights_only, encoding):
    if weights_only:
        return Unpickler(data, encoding=encoding, persistent_load=storages,
                         allowlist=A.torch_allowed()).load()
    return _TrustedUnpickler(data, storages, encoding=encoding).load()


def load_zip(f, map_location, weights_only, encoding, mmap_path=None):
    """The object in the zip archive at f's position (mapping the file at mmap_path)."""
    reader = ZipReader(f)
    reader.version()
    if reader.has("constants.pkl"):
        if weights_only:
            raise RuntimeError(NOT_ALLOWED + UNSAFE_MESSAGE)
        raise RuntimeError("this is a TorchScript archive (torch.jit.save): tatamikomi cannot "
                           "run TorchScript; save the model's state_dict() in PyTorch instead")
    order = bytes(reader.read("byteorder")) if reader.has("byteorder") else b"little"
    if order not in (b"little", b"big"):
        raise ValueError("Unknown endianness type: " + order.decode("utf-8", "replace"))
    if any(name.startswith("data/") for name in reader.names()):     # a storage to place
        _check_map_location(map_location)
    mapped = None
    if mmap_path is not None:
        with open(mmap_path, "rb") as raw:
            mapped = _mmap.mmap(raw.fileno(), 0, access=_mmap.ACCESS_COPY)   # MAP_PRIVATE
    storages = _ZipStorages(reader, map_location, mapped, order.decode() != sys.byteorder)
    return _unpickle(io.BytesIO(reader.read("data.pkl")), storages, weights_only, encoding)


# ----- load: the legacy format (torch < 1.6, or _use_new_zipfile_serialization=False)

class _LegacyStorages:
    """persistent_load for the legacy stream: storages are made empty, filled after the pickle.

    Their sizes are claimed before their bytes arrive, so all of them together must fit in what
    is left of the file: a forged size fails before anything is allocated.
    """

    def __init__(self, map_location, budget):
        self.map_location, self.budget, self.roots, self.views = map_location, budget, {}, {}

    def __call__(self, pid):
        raw, bf16, key, location, numel = _pid(pid, 6)
        view = pid[5]
        if key not in self.roots:
            self.budget -= numel * raw.itemsize
            if self.budget < 0:
                A._refuse(f"storage {key} claims more bytes than the file holds")
            storage = A.Storage(np.zeros(numel, np.float32 if bf16 else raw))
            _place(self.map_location, location, storage)
            self.roots[key] = (storage, (raw, bf16))
        storage, kind = self.roots[key]
        if kind != (raw, bf16):
            A._refuse(f"storage {key} is named with two dtypes")
        if view is None:
            return storage
        if type(view) is not tuple or len(view) != 3 or not all(
                type(v) is t for v, t in zip(view, (str, int, int))) or view[1] < 0 or \
                view[2] < 0 or view[1] + view[2] > storage.array.size:
            A._refuse(f"a storage view must be (key, offset, size) inside its storage, got "
                      f"{view!r:.80}")
        return self.views.setdefault(view[0], A.Storage(storage.array[view[1]:view[1] + view[2]]))

    def fill(self, f, keys, little):
        """Read each storage's bytes (an int64 count, then the elements) in the keys' order."""
        if type(keys) is not list or not all(type(k) is str and k in self.roots for k in keys):
            raise pickle.UnpicklingError("the legacy file's storage list names unknown storages")
        for key in dict.fromkeys(keys):
            storage, (raw, bf16) = self.roots[key]
            head = f.read(8)
            if len(head) < 8:
                raise EOFError(f"the legacy file ends before storage {key}")
            count = struct.unpack("<q" if little else ">q", head)[0]
            if count != storage.array.size:
                raise RuntimeError(f"storage has wrong size: expected {storage.array.size} got "
                                   f"{count}")
            array = np.empty(count, raw) if bf16 else storage.array
            if f.readinto(array.view(np.uint8)) != array.nbytes:
                raise EOFError(f"the legacy file ends inside storage {key}")
            swap = little != (sys.byteorder == "little")
            if bf16 or swap:               # in place: the tensors already view these arrays
                storage.array[...] = _finish(array, bf16, swap)


def _plain(f, encoding):
    return Unpickler(f, encoding=encoding).load()


def load_legacy(f, map_location, weights_only, encoding):
    """The object in a legacy stream: magic, protocol, system info, the pickle, the storages."""
    _check_map_location(map_location)
    if _plain(f, encoding) != MAGIC_NUMBER:
        raise RuntimeError("Invalid magic number; corrupt file?")
    version = _plain(f, encoding)
    if version != PROTOCOL_VERSION:
        raise RuntimeError(f"Invalid protocol version: {version}")
    info = _plain(f, encoding)
    little = not isinstance(info, dict) or info.get("little_endian", True) is not False
    at = f.tell()
    storages = _LegacyStorages(map_location, f.seek(0, 2) - at)
    f.seek(at)
    if weights_only:
        result = Unpickler(f, encoding=encoding, persistent_load=storages,
                           allowlist=A.torch_allowed()).load()
    else:
        result = _TrustedUnpickler(f, storages, encoding=encoding).load()
    storages.fill(f, _plain(f, encoding), little)
    return result
