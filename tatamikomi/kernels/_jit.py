"""The project's Numba compile defaults, its thread pools, and the compile announcement."""
import functools
import os
import queue
import sys
import threading

import numba
import numpy as np
from numba.core import event
from numba.np.ufunc import parallel as _pool

prange = numba.prange


def _start_pool():
    """Start Numba's thread pool now, its OpenMP runtime (if any) set to wait passively.

    OMP_WAIT_POLICY is read once, when an OpenMP runtime loads: set only around this launch it
    reaches Numba's runtime and not torch's, which loads later with its own defaults.
    """
    if "OMP_WAIT_POLICY" in os.environ:             # the user's choice stands
        _pool._launch_threads()
        return
    os.environ["OMP_WAIT_POLICY"] = "passive"
    try:
        _pool._launch_threads()
    finally:
        del os.environ["OMP_WAIT_POLICY"]


_start_pool()

def njit(fn=None):
    """Compile fn with the project's defaults; used as `@njit` or `njit(fn)`.

    cache=True: compiling takes seconds per process, the on-disk cache makes later imports cheap.
    nogil=True: run_tasks runs slices of a loop on several threads at once.
    fastmath stays off: reassociated sums would make float32 results depend on the vector width.
    error_model="numpy": no Python-style ZeroDivisionError checks inside the hot loops.
    Nothing here is compiled with parallel=True; loops go on threads through run_tasks:
    - Numba compiles a prange loop's body twice (once as typed, once inside the loop's gufunc,
      its index then unsigned) plus the gufunc itself, which tripled the cold start of a conv
      (blocked's input copy: 2.6 s against 0.8 s);
    - under Numba's OpenMP layer a forked process (a DataLoader worker) that enters a parallel
      loop is killed ("fork() called from a process already using GNU OpenMP"); run_tasks'
      crew is plain threads, started again in the child;
    - Numba's workqueue layer aborts the process when a second thread launches a parallel loop
      while one runs; run_tasks serves any number of callers.
    """
    if fn is None:
        return njit
    return numba.njit(fn, cache=True, nogil=True, fastmath=False, error_model="numpy")


class _Crew:
    """Worker threads that run slices of a task range beside the calling thread.

    Started on first use, and again in a forked child (threads do not survive a fork).
    """

    def __init__(self):
        self.pid, self.jobs, self.threads = None, None, []
        self.lock = threading.Lock()

    def hire(self, n):
        """At least n worker threads, in this process."""
        with self.lock:
            if self.pid != os.getpid():
                self.pid, self.jobs, self.threads = os.getpid(), queue.SimpleQueue(), []
            while len(self.threads) < n:
                t = threading.Thread(target=self._work, args=(self.jobs,), daemon=True,
                                     name=f"tatamikomi-kernel-{len(self.threads) + 1}")
                t.start()
                self.threads.append(t)
            return self.jobs

    @staticmethod
    def _work(jobs):
        while True:
            fn, args, done = jobs.get()
            try:
                fn(*args)
            except BaseException as e:          # handed to the caller, which raises it
                done.put(e)
            else:
                done.put(None)
            # while idle, hold none of the job's arrays: a worker kept its last job's input and
            # output alive (205 MB for ResNet-18's batch-64 stem) until its next job
            del fn, args, done


_crew = _Crew()


def run_tasks(fn, tasks, *args, parallel=True):
    """fn(t0, t1, *args) over the tasks [0, tasks), in contiguous slices on Numba's thread
    count (torch.set_num_threads) of threads, the caller's thread one of them.

    fn is an @njit function (nogil), so the slices run at once. Each task must write only its
    own outputs. parallel=False, or one thread, runs fn(0, tasks, *args) here.
    """
    n = min(numba.get_num_threads(), tasks) if parallel else 1
    if n <= 1:
        fn(0, tasks, *args)
        return
    jobs, done = _crew.hire(n - 1), queue.SimpleQueue()
    for k in range(1, n):
        jobs.put((fn, (tasks * k // n, tasks * (k + 1) // n) + args, done))
    try:
        fn(0, tasks // n, *args)
    finally:                                    # never return while a slice still runs
        errors = [e for e in (done.get() for _ in range(1, n)) if e is not None]
    if errors:
        raise errors[0]


def split_flat(fn):
    """fn, called on all threads at once, each on one contiguous piece of the 1-d arrays among
    its arguments that are as long as the first (the others pass whole): for element-wise
    loops, whose elements are independent. One compiled fn serves any number of threads, where
    a prange copy of it compiled again, twice (see njit).
    """
    def piece(i0, i1, n, *args):
        fn(*(a[i0:i1] if isinstance(a, np.ndarray) and a.shape == (n,) else a for a in args))

    @functools.wraps(fn.py_func if hasattr(fn, "py_func") else fn)
    def run(*args):
        n = args[0].shape[0]
        run_tasks(piece, n, n, *args)
    return run


class _Announce(event.Listener):
    """Says once per process, on stderr, that kernels are being compiled (a cold cache)."""

    said = False

    def on_start(self, ev):
        module = getattr(ev.data["dispatcher"].py_func, "__module__", "") or ""
        if not self.said and module.startswith("tatamikomi."):
            type(self).said = True
            print("tatamikomi: compiling kernels for this CPU, once: seconds now, cached for "
                  "later runs (`python -m tatamikomi warmup` compiles them all ahead)",
                  file=sys.stderr, flush=True)

    def on_end(self, ev):
        pass


event.register("numba:compile", _Announce())
