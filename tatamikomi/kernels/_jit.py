"""The one place that imports numba: the project's compile defaults live here."""
import numba

prange = numba.prange


def njit(fn=None, *, parallel=False):
    """Compile fn with the project's defaults; `@njit` or `njit(fn, parallel=True)`.

    cache=True: compiling takes seconds per process, the on-disk cache makes later imports cheap.
    fastmath stays off: reassociated sums would make float32 results depend on the vector width.
    error_model="numpy": no Python-style ZeroDivisionError checks inside the hot loops.
    """
    if fn is None:
        return lambda f: njit(f, parallel=parallel)
    return numba.njit(fn, cache=True, parallel=parallel, fastmath=False, error_model="numpy")
