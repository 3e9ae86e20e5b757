"""Process-wide switches programs set at the top: threads, determinism, default dtype, compile.

Each takes PyTorch's arguments and raises its errors; what it can change here, it changes, and
its docstring says where it only records the choice.
"""
import os
import warnings

from . import dtypes

_threads = []                     # the count set_num_threads asked for, once it has been called
_interop = []
_deterministic = {"mode": False, "warn_only": False}
_PRECISIONS = ("highest", "high", "medium")
_precision = ["highest"]


def _positive_int(fn, n):
    if not isinstance(n, int) or isinstance(n, bool):
        raise RuntimeError(f"{fn} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{fn} expects a positive integer")


def set_num_threads(n):
    """Use n threads in the parallel kernels (Numba's pool, in the calling thread: that is
    where Numba keeps the setting). Numba cannot start threads it did not start with
    (NUMBA_NUM_THREADS), so more than that runs on those; get_num_threads still reports n,
    as PyTorch's does."""
    _positive_int("set_num_threads", n)
    import numba  # already loaded by the kernels; numba keeps this per thread
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    _threads[:] = [n]


def get_num_threads():
    """The count set_num_threads set, else the size of Numba's pool."""
    if _threads:
        return _threads[0]
    import numba
    return numba.get_num_threads()


def set_num_interop_threads(n):
    """Recorded only: tatamikomi runs no inter-op thread pool (ops run one after another)."""
    _positive_int("set_num_interop_threads", n)
    _interop[:] = [n]


def get_num_interop_threads():
    return _interop[0] if _interop else (os.cpu_count() or 1)


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded and reported by are_deterministic_algorithms_enabled(); tatamikomi has no
    nondeterministic kernels to swap out (no atomics: each output is written by one thread)."""
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, bool):
            raise TypeError(f"_set_deterministic_algorithms(): argument '{name}' "
                            f"({'position 1' if name == 'mode' else 'keyword'}) must be bool, "
                            f"not {type(value).__name__}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled():
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic["warn_only"]


def set_float32_matmul_precision(precision):
    """Recorded only: float32 matmuls here always run in full float32 ("highest")."""
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", stacklevel=2)
        return
    _precision[0] = precision


def get_float32_matmul_precision():
    return _precision[0]


def set_default_dtype(d):
    """The dtype of float factories and Python floats. float32 (the default) always works;
    another floating dtype needs dtypes._set_default_dtype, which the core does not have yet."""
    if not isinstance(d, dtypes.dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the "
                        "default type")
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    setter = getattr(dtypes, "_set_default_dtype", None)
    if setter is not None:
        setter(d)
    elif d != dtypes.get_default_dtype():
        raise NotImplementedError(f"set_default_dtype({d}): tatamikomi's default dtype is "
                                  f"{dtypes.get_default_dtype()} for now; pass dtype= to the "
                                  "factories instead")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False, **kwargs):
    """model itself, unchanged (or, without a model, a decorator that returns its argument).

    There is no graph compiler here: the model runs as written, with the same values. Unlike
    PyTorch's OptimizedModule wrapper, the returned model is the one passed in, so its
    state_dict keys carry no `_orig_mod.` prefix.
    """
    if model is None:
        return lambda fn: fn
    return model
