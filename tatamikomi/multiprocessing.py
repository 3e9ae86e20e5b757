"""torch.multiprocessing: Python's multiprocessing API, plus spawn and the sharing strategies.

What PyTorch adds beyond the re-export is tensor sharing: its queues move a tensor's storage
into shared memory instead of pickling a copy. That part is not here yet: a tatamikomi tensor
sent through a Queue arrives as a copy, and Tensor.share_memory_() / Module.share_memory() are
still to come (the data-loading issue), so Hogwild-style training does not share weights yet.
"""
import multiprocessing
import multiprocessing.connection
import signal
import sys
import traceback
import warnings
from multiprocessing import *  # noqa: F403 - the whole stdlib API, as torch.multiprocessing

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "SpawnContext", "start_processes",
           *multiprocessing.__all__]

_all_sharing_strategies = {"file_system"} if sys.platform in ("darwin", "win32") else \
    {"file_descriptor", "file_system"}
_sharing_strategy = ["file_system" if sys.platform in ("darwin", "win32") else "file_descriptor"]


def set_sharing_strategy(new_strategy):
    """Recorded only, until tensors are shared (see the module docstring)."""
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
