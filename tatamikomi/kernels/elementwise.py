"""Numba loops for memory-bound element-wise ops, which NumPy runs on one core only.

Each loop runs on one thread or all (_jit.run_tasks): waking the others costs about 0.08 ms a
call, so all work only from PARALLEL_MIN elements up. Measured on the 2-core machine (float32,
ms, serial / parallel): relu backward at 64x64x14x14 0.31 / 0.23, at 64x32x28x28 0.68 / 0.43;
at 64x32x7x7 0.015 / 0.09.
"""
import numpy as np

from ._jit import njit, run_tasks

PARALLEL_MIN = 1 << 19          # elements; 2 MB of float32


def _fast(*arrays):
    """The loops take flat float32/float64 arrays of one dtype; others go to NumPy."""
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(
        a.dtype == dt and a.flags.c_contiguous for a in arrays)


# relu keeps NaN (as clamp_min does), and its gradient is PyTorch's threshold_backward:
# 0 where y <= 0, gy elsewhere, so an inf gy times a zero mask gives 0, not NaN.
# The loops index slices from 0: with range(i0, i1) the index might be negative as far as Numba
# knows, its wraparound test stays in the loop, and the loop does not vectorise (relu backward
# at 64x32x28x28: 2.4 ms a call on each of 2 threads, against 0.85 on Numba's pool before).
@njit
def _relu(i0, i1, a, y):
    a, y = a[i0:i1], y[i0:i1]
    for i in range(a.size):
        y[i] = 0 if a[i] < 0 else a[i]


@njit
def _relu_grad(i0, i1, gy, y, gx):
    gy, y, gx = gy[i0:i1], y[i0:i1], gx[i0:i1]
    for i in range(gy.size):
        gx[i] = 0 if y[i] <= 0 else gy[i]


def relu(a):
    """max(a, 0), NaN kept. Shapes: a (*) -> (*)."""
    if a.size < PARALLEL_MIN or not _fast(a):
        return np.maximum(a, 0)
    y = np.empty_like(a)
    run_tasks(_relu, a.size, a.reshape(-1), y.reshape(-1))
    return y


def relu_backward(gy, y):
    """gy where y > 0, else 0, in one pass. Shapes: gy (*), y (*) -> (*)."""
    if not _fast(gy, y):
        return np.where(y <= 0, np.zeros((), gy.dtype), gy)
    gx = np.empty_like(gy)
    run_tasks(_relu_grad, gy.size, gy.reshape(-1), y.reshape(-1), gx.reshape(-1),
              parallel=gy.size >= PARALLEL_MIN)
    return gx


@njit
def _add_bias(no0, no1, y, b):
    O = y.shape[1]
    for no in range(no0, no1):
        plane, v = y[no // O, no % O], b[no % O]
        for q in range(plane.size):
            plane[q] += v


def add_bias(y, b):
    """y += b per channel, in place (a conv's bias). Shapes: y (N, O, P), b (O,) -> y."""
    if y.size < PARALLEL_MIN or not _fast(y, b):
        y += b.reshape(1, -1, 1)
    else:
        run_tasks(_add_bias, y.shape[0] * y.shape[1], y, b)
    return y


@njit
def _scale_shift(no0, no1, x, a, b, y):
    C = x.shape[1]
    for no in range(no0, no1):
        src, dst, s, t = x[no // C, no % C], y[no // C, no % C], a[no % C], b[no % C]
        for q in range(src.size):
            dst[q] = src[q] * s + t


def scale_shift(x, a, b):
    """x * a + b per channel in one pass on every thread: batch norm in eval mode, a and b
    folded from its statistics and affine (NumPy's 4 single-threaded passes over a ResNet-18
    stem's 64x64x112x112 took 86 ms). Rounds the product, then the sum, as NumPy does.
    Shapes: x (N, C, P), a and b (C,) -> (N, C, P).
    """
    if not _fast(x, a, b):
        return x * a.reshape(1, -1, 1) + b.reshape(1, -1, 1)
    y = np.empty_like(x)
    run_tasks(_scale_shift, x.shape[0] * x.shape[1], x, a, b, y,
              parallel=x.size >= PARALLEL_MIN)
    return y
