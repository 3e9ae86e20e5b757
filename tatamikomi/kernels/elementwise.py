"""Numba loops for memory-bound element-wise ops, which NumPy runs on one core only.

Each op has a serial and a parallel loop: starting Numba's thread pool costs about 0.08 ms a
call, so the parallel loop runs only from PARALLEL_MIN elements up. Measured on the 2-core
machine (float32, ms, serial / parallel): relu backward at 64x64x14x14 0.31 / 0.23, at
64x32x28x28 0.68 / 0.43; at 64x32x7x7 0.015 / 0.09.
"""
import numpy as np

from ._jit import njit, prange

PARALLEL_MIN = 1 << 19          # elements; 2 MB of float32


def _fast(*arrays):
    """The loops take flat float32/float64 arrays of one dtype; others go to NumPy."""
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(
        a.dtype == dt and a.flags.c_contiguous for a in arrays)


# relu keeps NaN (as clamp_min does), and its gradient is PyTorch's threshold_backward:
# 0 where y <= 0, gy elsewhere, so an inf gy times a zero mask gives 0, not NaN.
@njit(parallel=True)
def _relu_par(a, y):
    for i in prange(a.size):
        y[i] = 0 if a[i] < 0 else a[i]


@njit(parallel=True)
def _relu_grad_par(gy, y, gx):
    for i in prange(gy.size):
        gx[i] = 0 if y[i] <= 0 else gy[i]


@njit
def _relu_grad_one(gy, y, gx):
    for i in range(gy.size):
        gx[i] = 0 if y[i] <= 0 else gy[i]


def relu(a):
    """max(a, 0), NaN kept. Shapes: a (*) -> (*)."""
    if a.size < PARALLEL_MIN or not _fast(a):
        return np.maximum(a, 0)
    y = np.empty_like(a)
    _relu_par(a.reshape(-1), y.reshape(-1))
    return y


def relu_backward(gy, y):
    """gy where y > 0, else 0, in one pass. Shapes: gy (*), y (*) -> (*)."""
    if not _fast(gy, y):
        return np.where(y <= 0, np.zeros((), gy.dtype), gy)
    gx = np.empty_like(gy)
    loop = _relu_grad_par if gy.size >= PARALLEL_MIN else _relu_grad_one
    loop(gy.reshape(-1), y.reshape(-1), gx.reshape(-1))
    return gx


@njit(parallel=True)
def _add_bias_par(y, b):
    N, O = y.shape[0], y.shape[1]
    for no in prange(N * O):
        plane, v = y[no // O, no % O], b[no % O]
        for q in range(plane.size):
            plane[q] += v


def add_bias(y, b):
    """y += b per channel, in place (a conv's bias). Shapes: y (N, O, P), b (O,) -> y."""
    if y.size < PARALLEL_MIN or not _fast(y, b):
        y += b.reshape(1, -1, 1)
    else:
        _add_bias_par(y, b)
    return y
