"""The project's Numba compile defaults and thread pool; _simd adds the vector intrinsics."""
import functools
import os
import threading

import numba
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

# Numba's workqueue pool serves one caller at a time: a second thread launching a parallel loop
# while the first one's runs makes it abort the process ("workqueue threading layer is
# terminating"). The OpenMP layer queues concurrent launches itself; under workqueue (chosen
# where torch was imported first, or where no OpenMP runtime exists) parallel loops take turns.
SERIAL_ENTRY = numba.threading_layer() == "workqueue"
_entry = threading.Lock()


def njit(fn=None, *, parallel=False):
    """Compile fn with the project's defaults; `@njit` or `njit(fn, parallel=True)`.

    cache=True: compiling takes seconds per process, the on-disk cache makes later imports cheap.
    fastmath stays off: reassociated sums would make float32 results depend on the vector width.
    error_model="numpy": no Python-style ZeroDivisionError checks inside the hot loops.
    A parallel fn under the workqueue layer comes back wrapped in a lock (see SERIAL_ENTRY), so
    it can be called from Python only, as every parallel loop of the project is.
    """
    if fn is None:
        return lambda f: njit(f, parallel=parallel)
    compiled = numba.njit(fn, cache=True, parallel=parallel, fastmath=False,
                          error_model="numpy")
    return _one_at_a_time(compiled) if parallel and SERIAL_ENTRY else compiled


def _one_at_a_time(compiled):
    """compiled, entered by one thread at a time (the others wait, the GIL released)."""
    @functools.wraps(compiled.py_func)
    def call(*args):
        with _entry:
            return compiled(*args)
    call.compiled = compiled
    return call
