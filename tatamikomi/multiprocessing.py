"""torch.multiprocessing: Python's multiprocessing API, plus spawn, the sharing strategies and
tensors in shared memory.

share_(t) moves a tensor's array into an anonymous shared-memory file (Linux memfd) mapped into
this process; a child forked afterwards maps the same pages, and a tensor pickled for another
process (a Queue, a spawned Process's arguments) is sent as that file's descriptor plus where
the array lies in it, as PyTorch's "file_descriptor" strategy sends a storage. So in-place
updates (an optimizer's step) are seen by every process: Hogwild training works. A tensor
that is not shared yet is moved into shared memory when it is sent, as PyTorch's is.

Unlike PyTorch's storages, a move does not carry along other tensors that view the old array:
share a tensor before making views of it (Module.share_memory() shares parameters, which have
none).
"""
import mmap
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import traceback
import warnings
import weakref
from multiprocessing import *  # noqa: F403 - the whole stdlib API, as torch.multiprocessing
from multiprocessing import reduction

import numpy as np

from .tensor import Tensor

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "SpawnContext", "start_processes",
           *multiprocessing.__all__]

_all_sharing_strategies = {"file_system"} if sys.platform in ("darwin", "win32") else \
    {"file_descriptor", "file_system"}
_sharing_strategy = ["file_system" if sys.platform in ("darwin", "win32") else "file_descriptor"]


def set_sharing_strategy(new_strategy):
    """Recorded only: tensors are always shared by file descriptor (see the module docstring)."""
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{_all_sharing_strategies}")
    _sharing_strategy[0] = new_strategy


def get_sharing_strategy():
    return _sharing_strategy[0]


def get_all_sharing_strategies():
    return set(_all_sharing_strategies)


class ProcessException(Exception):  # noqa: N818 - PyTorch's public name
    def __init__(self, msg, error_index, error_pid):
        super().__init__(msg)
        self.msg, self.error_index, self.error_pid = msg, error_index, error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A child process raised: the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A child process exited with a nonzero code or was killed by a signal."""

    def __init__(self, msg, error_index, error_pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid, self.exit_code,
                            self.signal_name)


def _wrap(fn, i, args, errors):
    """The child's entry: fn(i, *args); an exception's traceback goes back to the parent."""
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass                                      # the parent is stopping us
    except Exception:
        errors.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The started processes; join() waits for them and raises the first failure."""

    def __init__(self, processes, error_queues):
        self.processes, self.error_queues = processes, error_queues
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self):
        return [p.pid for p in self.processes]

    def join(self, timeout=None, grace_period=None):
        """True once all have exited cleanly; False on timeout; raises for a failed one (the
        others are terminated first)."""
        if not self.sentinels:
            return True
        failed = None
        for sentinel in multiprocessing.connection.wait(list(self.sentinels), timeout=timeout):
            i = self.sentinels.pop(sentinel)
            self.processes[i].join()
            if self.processes[i].exitcode != 0:
                failed = i
                break
        if failed is None:
            return not self.sentinels
        for p in self.processes:
            if p.is_alive():
                p.terminate()
            p.join()
        self._raise(failed)

    def _raise(self, i):
        process, errors = self.processes[i], self.error_queues[i]
        if not errors.empty():
            raise ProcessRaisedException(f"\n\n-- Process {i:d} terminated with the following "
                                         f"error:\n{errors.get()}", i, process.pid)
        code = process.exitcode
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"<Unknown signal {-code}>"
            raise ProcessExitedException(f"process {i:d} terminated with signal {name}", i,
                                         process.pid, code, name)
        raise ProcessExitedException(f"process {i:d} terminated with exit code {code:d}", i,
                                     process.pid, code)


SpawnContext = ProcessContext


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run fn(i, *args) for i in range(nprocs), each in its own process."""
    ctx = multiprocessing.get_context(start_method)
    queues = [ctx.SimpleQueue() for _ in range(nprocs)]
    processes = [ctx.Process(target=_wrap, args=(fn, i, args, q), daemon=daemon)
                 for i, q in enumerate(queues)]
    for p in processes:
        p.start()
    context = ProcessContext(processes, queues)
    if not join:
        return context
    while not context.join():
        pass


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """start_processes with the "spawn" start method (the only one it takes, as PyTorch's)."""
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
                      "To use a different start_method use:\n\t\t"
                      " torch.multiprocessing.start_processes(...)", FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")


# ----- tensors in shared memory

_segments = {}      # id(base array) -> (weakref to it, memfd or None, nbytes)


def _close(key, fd):
    _segments.pop(key, None)
    if fd is not None:
        os.close(fd)


def register_segment(base, fd, nbytes):
    """Record base (a uint8 array over a shared mapping) and the memfd behind it (None when it
    was closed): arrays viewing base are shared. fd is closed when base is freed."""
    key = id(base)
    _segments[key] = (weakref.ref(base), fd, nbytes)
    weakref.finalize(base, _close, key, fd)


def _segment(array):
    """(fd, nbytes, byte offset of array in the segment) when array views a shared segment."""
    a = array
    while isinstance(a, np.ndarray):
        entry = _segments.get(id(a))
        if entry is not None and entry[0]() is a:
            offset = array.__array_interface__["data"][0] - a.__array_interface__["data"][0]
            return entry[1], entry[2], offset
        a = a.base
    return None


def _new_segment(nbytes):
    fd = os.memfd_create("tatamikomi-tensor", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, max(nbytes, 1))
        base = np.frombuffer(mmap.mmap(fd, max(nbytes, 1)), np.uint8)
    except BaseException:
        os.close(fd)
        raise
    register_segment(base, fd, nbytes)
    return base


def is_shared(t):
    """Whether t's array lives in shared memory."""
    return _segment(t.array) is not None


def share_(t):
    """Move t's array into a shared-memory file (a copy, once); t itself is returned.

    Shapes: t's, unchanged; the array becomes C-contiguous.
    """
    found = _segment(t.array)
    if found is not None and found[0] is not None:
        return t
    a = t.array
    base = _new_segment(a.nbytes)
    shared = np.ndarray(a.shape, a.dtype, buffer=base)
    shared[...] = a
    t.array = shared
    return t


def share_module(module):
    """Module.share_memory(): every parameter, its gradient and every buffer, shared."""
    for t in (*module.parameters(), *module.buffers()):
        share_(t)
        if t.grad is not None:
            share_(t.grad)
    return module


def _rebuild_tensor(dup, nbytes, offset, shape, strides, dtype, requires_grad):
    fd = dup.detach()
    try:
        base = np.frombuffer(mmap.mmap(fd, max(nbytes, 1)), np.uint8)
    except BaseException:
        os.close(fd)
        raise
    register_segment(base, fd, nbytes)
    array = np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)
    return Tensor._make(array, requires_grad=requires_grad)


def _reduce_tensor(t):
    """How multiprocessing pickles a Tensor: its shared file's descriptor, not its bytes."""
    if t.requires_grad and t._node is not None:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
            "does not support crossing process boundaries.  If you just want to transfer the "
            "data, call detach() on the tensor before serializing (e.g., putting it on the "
            "queue).")
    share_(t)
    fd, nbytes, offset = _segment(t.array)
    a = t.array
    return (_rebuild_tensor, (reduction.DupFd(fd), nbytes, offset, a.shape, a.strides,
                              a.dtype.str, t.requires_grad))


reduction.ForkingPickler.register(Tensor, _reduce_tensor)
