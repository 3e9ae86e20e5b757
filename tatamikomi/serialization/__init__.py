"""save/load in PyTorch's file format, both ways, without torch; load builds only data by default.

save writes what torch.save writes (a zip archive of a pickle and one record per storage; see
`_torch.py` and `_zip.py`), so `torch.load(path, weights_only=True)` reads it. load reads that,
torch's legacy format, `.safetensors` files, and the plain pickles tatamikomi.save wrote before,
with the restricted unpickler in `_unpickle.py` (weights_only=True, PyTorch's default since 2.6):
tensors, numeric NumPy arrays and scalars, containers, numbers, strings and dtypes/Size/device/
Parameter, nothing that runs code. `weights_only=False` is plain pickle, for files you trust.
"""
import contextlib
import functools
import io
import os
import pickle
import time

from . import _allowlist, _torch, _unpickle, _zip
from ._atomic import _TEMP_NAME, TEMP_PREFIX, write_atomic
from ._messages import (
    DOCS_MESSAGE,
    OUR_HINT,
    UNSAFE_MESSAGE,
    _check_location,
    _target_type,
    _weights_only_message,
)

# ----- save

def save(obj, f):
    """Write obj as torch.save does, to a path (atomically: a temp file, then a rename) or to an
    open binary file."""
    if hasattr(f, "write"):
        _torch.save_zip(obj, f, "archive")
        return
    archive = _torch.archive_name(f)
    write_atomic(f, lambda out: _torch.save_zip(obj, out, archive))


def remove_stale_temps(folder, older_than=600.0):
    """Delete save()'s temp files in folder untouched for older_than seconds; their names.

    A process killed while saving leaves one behind. A live writer touches its file all the
    time, so one idle for 10 minutes is a leftover; files of other programs never match.
    """
    removed, now = [], time.time()
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(folder):
            if not _TEMP_NAME.fullmatch(entry.name):
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False) and \
                        now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


# ----- load

def _restricted_load(src, map_location, encoding):
    kind = _target_type(map_location)
    reader = _unpickle.Unpickler(src, encoding=encoding)
    obj = reader.load()
    if reader.tensors:
        _check_location(kind)
    return obj


def _weights_only(read):
    """read() with an unpickler's refusal worded as torch.load's."""
    try:
        return read()
    except pickle.UnpicklingError as e:
        err = pickle.UnpicklingError(_weights_only_message(str(e)))
        err.reason = str(e)            # the refusal alone, for the command line's message
        raise err from None


def _is_legacy_tar(src):
    at = src.tell()
    head = src.read(262)
    src.seek(at)
    return at == 0 and head[257:262] == b"ustar"


def _starts_with(src, magic):
    at = src.tell()
    head = src.read(len(magic))
    src.seek(at)
    return head == magic


def _safetensors(path, map_location):
    from .. import safetensors
    if isinstance(map_location, dict):
        raise RuntimeError("Loading safetensors file with dict map_location is not supported. "
                           "Use a device string or torch.device instead.")
    if callable(map_location):
        raise RuntimeError("Loading safetensors file with callable map_location is not "
                           "supported. Use a device string or torch.device instead.")
    return safetensors.load_file(path, device="cpu" if map_location is None else
                                 str(map_location))


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read a file torch.save (zip or legacy) or save() wrote; by default only data
    (weights_only=True), never code. A path ending in .safetensors reads as load_file.

    weights_only=False unpickles anything with plain pickle: only for files you trust.
    """
    if weights_only is None:
        weights_only = pickle_module is None        # an explicit pickle module means trust
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                           "specified")
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args:
        raise TypeError("Unpickler.__init__() got an unexpected keyword argument "
                        f"'{next(iter(pickle_load_args))}'")
    is_path = isinstance(f, (str, os.PathLike))
    if is_path and os.fspath(f).endswith(".safetensors"):
        return _safetensors(f, map_location)
    with contextlib.ExitStack() as stack:
        src = f if hasattr(f, "read") else stack.enter_context(open(f, "rb"))
        if not (hasattr(src, "seekable") and src.seekable()):
            src = io.BytesIO(src.read())            # a pipe: the formats need to seek
        if _zip.is_zip(src):
            if mmap and not is_path:
                raise ValueError("f must be a file path in order to use the mmap argument")
            path = os.fspath(f) if mmap else None
            read = functools.partial(_torch.load_zip, src, map_location, weights_only,
                                     encoding, path)
            return _weights_only(read) if weights_only else read()
        if mmap:
            name = f"{f}, " if isinstance(f, str) else ""
            raise RuntimeError("mmap can only be used with files saved with "
                               f"`torch.save({name}_use_new_zipfile_serialization=True), please "
                               "torch.save your checkpoint with this option in order to use mmap.")
        if _starts_with(src, _torch.LEGACY_START):
            read = functools.partial(_torch.load_legacy, src, map_location, weights_only,
                                     encoding)
            return _weights_only(read) if weights_only else read()
        if _is_legacy_tar(src):
            raise RuntimeError("Cannot use ``weights_only=True`` with files saved in the legacy "
                               ".tar format. " + UNSAFE_MESSAGE if weights_only else
                               "files in the legacy .tar format (PyTorch < 0.4) cannot be read")
        # what tatamikomi.save wrote before it wrote torch's format: one plain pickle
        if weights_only:
            return _weights_only(functools.partial(_restricted_load, src, map_location,
                                                   encoding))
        return (pickle_module or pickle).load(src, encoding=encoding)


# ----- state_dict keys

def consume_prefix_in_state_dict_if_present(state_dict, prefix):
    """Strip prefix (DataParallel's "module.") from state_dict's keys in place, and from its
    _metadata's keys, as torch.nn.modules.utils' function of this name does."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        state_dict[key[len(prefix):]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        # "" is the wrapper's own entry (kept); "module" is the wrapped model's, which
        # becomes the new ""; "module.x" becomes "x"
        for key in [k for k in metadata if k and (k == prefix.replace(".", "") or
                                                  k.startswith(prefix))]:
            metadata[key[len(prefix):]] = metadata.pop(key)


# ----- the allowlist users extend, as torch.serialization's

def add_safe_globals(safe_globals):
    """Allow these classes/functions (or (obj, "module.name") pairs) in weights_only loads."""
    for g in safe_globals:
        obj, name = g if isinstance(g, tuple) else (g, _allowlist.global_name(g))
        _allowlist.user_globals[name] = obj


def get_safe_globals():
    """What add_safe_globals allowed, as a list."""
    return [obj if name == _allowlist.global_name(obj) else (obj, name)
            for name, obj in _allowlist.user_globals.items()]


def clear_safe_globals():
    """Forget everything add_safe_globals allowed."""
    _allowlist.user_globals.clear()


class safe_globals:  # noqa: N801 - PyTorch's public name
    """`with safe_globals([cls]):` allows cls in weights_only loads inside the block only."""

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        self.saved = dict(_allowlist.user_globals)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        _allowlist.user_globals.clear()
        _allowlist.user_globals.update(self.saved)
