"""The project's Numba compile defaults and thread pool; _simd adds the vector intrinsics."""
import os

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


def njit(fn=None, *, parallel=False):
    """Compile fn with the project's defaults; `@njit` or `njit(fn, parallel=True)`.

    cache=True: compiling takes seconds per process, the on-disk cache makes later imports cheap.
    fastmath stays off: reassociated sums would make float32 results depend on the vector width.
    error_model="numpy": no Python-style ZeroDivisionError checks inside the hot loops.
    """
    if fn is None:
        return lambda f: njit(f, parallel=parallel)
    return numba.njit(fn, cache=True, parallel=parallel, fastmath=False, error_model="numpy")
