"""Reused scratch arrays, one per name and thread, for the kernels' large intermediates.

A fresh array of many MB page-faults on every call: glibc hands blocks that large to the OS when
they are freed (mmap), so each new one starts as untouched pages. One per thread because two
threads may convolve at once.
"""
import math
import threading

import numpy as np

ALIGN = 64                                      # bytes: one cache line, one AVX-512 vector
_local = threading.local()


def scratch(name, shape, dtype):
    """A reused array of `shape` and `dtype` for `name` on this thread; contents are garbage.

    The buffer grows to the largest request and stays, so callers cap what they ask for.
    Shapes: -> shape.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    takings = _local.__dict__.setdefault("takings", {})
    takings[name] = takings.get(name, 0) + 1            # whatever `name` held is void now
    bufs = _local.__dict__.setdefault("bufs", {})
    buf, skip = bufs.get(name, (None, 0))
    if buf is None or buf.nbytes < nbytes + ALIGN:
        buf = np.empty(nbytes + ALIGN, np.uint8)
        # vector loads that split cache lines cost two; the skip is kept with the buffer
        # (buf.ctypes.data took 8 of the 12 us of a call)
        skip = -buf.__array_interface__["data"][0] % ALIGN
        bufs[name] = buf, skip
    return buf[skip:skip + nbytes].view(dtype).reshape(shape)


class Lease:
    """What scratch array `array` (of buffer `name`) holds now, on this thread: intact() says
    whether it still does, that is, whether nobody has taken the buffer since."""

    def __init__(self, name, array):
        self.name, self.array = name, array
        self._takings = _local.takings                  # this thread's counts
        self._taking = self._takings[name]

    def intact(self):
        return (self._takings is getattr(_local, "takings", None)
                and self._takings[self.name] == self._taking)
