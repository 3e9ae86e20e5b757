"""save/load: pickle tensors (as NumPy arrays) and state dicts; load builds only data by default.

`load(f)` reads with the restricted unpickler in `_unpickle.py` (weights_only=True, PyTorch's
default since 2.6): tensors, numeric NumPy arrays and scalars, containers, numbers, strings and
our dtypes/Size/Parameter, nothing that runs code. `weights_only=False` is plain pickle, for files
you trust.
"""
import contextlib
import os
import pickle
import re
import secrets
import time

from ..device import device
from . import _allowlist, _unpickle

UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will "
    "likely succeed, but it can result in arbitrary code execution. Do it only if you got the "
    "file from a trusted source.")
DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default "
    "with weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")
OUR_HINT = ("\ntatamikomi's load accepts tensors, numeric NumPy arrays and scalars, dict/list/"
            "tuple/set, numbers, strings, bytes and None (README: Loading files).")

TEMP_PREFIX = ".tmp-"                            # save()'s temp files: .tmp- and 8 characters
_TEMP_NAME = re.compile(r"\.tmp-[a-z0-9_]{8}")    # (tempfile.mkstemp's alphabet, used before)


# ----- save

def _open_temp(folder):
    """A new file TEMP_PREFIX + 8 characters in folder, created 0666 less the umask."""
    while True:
        path = os.path.join(folder, TEMP_PREFIX + secrets.token_hex(4))
        try:
            # mode 0o666 through open(2), so the umask applies as for a plain open() (mkstemp
            # would make it 0600); O_EXCL: never another writer's file
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


def save(obj, f):
    """Pickle obj to a path (atomically: a temp file, then a rename) or to an open file."""
    if hasattr(f, "write"):
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        return
    path = os.fspath(f)
    tmp, fd = _open_temp(os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as out:
            pickle.dump(obj, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)          # readers see the old file or the new one, never half
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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

def _weights_only_message(message):
    """PyTorch's text around an error of the weights-only unpickler, then our hint."""
    if re.search(r"GLOBAL (\S+) was not an allowed global by default.", message):
        text = ("Weights only load failed. This file can still be loaded, to do so you have two "
                "options, \033[1mdo those steps only if you trust the source of the checkpoint"
                f"\033[0m. \n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with "
                "`weights_only=True` please check the recommended steps in the following error "
                "message.\n\tWeightsUnpickler error: " + message)
    else:
        text = f"Weights only load failed. {UNSAFE_MESSAGE}\n"
        if not re.search(r"whose module (\S+) is blocked", message):
            text += ("Please file an issue with the following so that we can make "
                     "`weights_only=True` compatible with your use case: WeightsUnpickler "
                     "error: ")
        text += "\n\n" + message
    return text + DOCS_MESSAGE + OUR_HINT


def _target_type(map_location):
    """The device type tensors would be mapped to (all of ours are saved on the CPU)."""
    if map_location is None or callable(map_location):
        return "cpu"                   # a callable gets storages; ours has none to remap
    if isinstance(map_location, dict):
        return _target_type(map_location.get("cpu", "cpu"))
    if isinstance(map_location, (str, device)):
        return str(map_location).split(":")[0]
    raise TypeError(f"'{type(map_location).__name__}' object is not callable")


def _check_location(kind):
    if kind == "cuda":
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
            "False. If you are running on a CPU-only machine, please use torch.load with "
            "map_location=torch.device('cpu') to map your storages to the CPU.")
    if kind != "cpu":
        raise RuntimeError("don't know how to restore data location of "
                           f"torch.storage.UntypedStorage (tagged with {kind})")


def _restricted_load(src, map_location, encoding):
    kind = _target_type(map_location)
    reader = _unpickle.Unpickler(src, encoding=encoding)
    try:
        obj = reader.load()
    except pickle.UnpicklingError as e:
        err = pickle.UnpicklingError(_weights_only_message(str(e)))
        err.reason = str(e)            # the refusal alone, for the command line's message
        raise err from None
    if reader.tensors:
        _check_location(kind)
    return obj


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read what save() wrote; by default only data (weights_only=True), never code.

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
    if mmap:                                # our files are plain pickles, not PyTorch's zip
        name = f"{f}, " if isinstance(f, str) else ""
        raise RuntimeError("mmap can only be used with files saved with "
                           f"`torch.save({name}_use_new_zipfile_serialization=True), please "
                           "torch.save your checkpoint with this option in order to use mmap.")
    with contextlib.ExitStack() as stack:
        src = f if hasattr(f, "read") else stack.enter_context(open(f, "rb"))
        if weights_only:
            return _restricted_load(src, map_location, encoding)
        return (pickle_module or pickle).load(src, encoding=encoding)


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
