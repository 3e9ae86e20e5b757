"""Reductions: sum, mean, max/min over everything or along one dim (with indices)."""
import numpy as np

from ..autograd import Function


def _expand(gy, shape, axis, keepdim):
    """Broadcast a reduced gradient back to the input's shape (a read-only view)."""
    if axis is not None and not keepdim:
        gy = np.expand_dims(gy, axis)
    return np.broadcast_to(gy, shape)


def _distinct(axis):
    """PyTorch refuses a dim listed twice (NumPy's message names no dim)."""
    if isinstance(axis, tuple) and len(set(axis)) != len(axis):
        twice = next(d for i, d in enumerate(axis) if d in axis[:i])
        raise RuntimeError(f"dim {twice} appears multiple times in the list of dims")


class Sum(Function):
    def name(self):                     # over everything, or along dims
        return "SumBackward0" if self.axis is None else "SumBackward1"

    def forward(self, a, *, axis, keepdim):
        _distinct(axis)
        self.shape, self.axis, self.keepdim = a.shape, axis, keepdim
        dtype = np.int64 if a.dtype.kind in "biu" else a.dtype    # integer sums widen to int64
        return np.asarray(a.sum(axis=axis, keepdims=keepdim, dtype=dtype))

    def backward(self, gy):
        return _expand(gy, self.shape, self.axis, self.keepdim)


class Mean(Function):
    def name(self):
        return "MeanBackward0" if self.axis is None else "MeanBackward1"

    def forward(self, a, *, axis, keepdim):
        _distinct(axis)
        self.shape, self.axis, self.keepdim = a.shape, axis, keepdim
        y = np.asarray(a.mean(axis=axis, keepdims=keepdim, dtype=a.dtype))
        self.n = a.size // max(1, y.size)              # elements averaged into each output
        return y

    def backward(self, gy):
        return _expand(gy / self.n, self.shape, self.axis, self.keepdim)


class Extreme(Function):
    """max() or min() over all elements; ties share the gradient evenly, as in PyTorch."""

    def forward(self, a, *, largest):
        y = np.asarray(a.max() if largest else a.min())
        self.save_for_backward(a == y)
        self.largest = largest
        return y

    def name(self):
        return "MaxBackward1" if self.largest else "MinBackward1"

    def backward(self, gy):
        mask = self.saved[0]
        return (gy * mask / mask.sum()).astype(gy.dtype)


class TakeAlong(Function):
    """Values at given indices along one axis (max(dim)/min(dim)); backward scatters to them.

    Shapes: a (..., n, ...), indices (..., 1, ...) -> (..., 1, ...) or squeezed.
    """

    def forward(self, a, *, indices, axis, keepdim, kind="GatherBackward0"):
        self.shape, self.indices, self.axis, self.keepdim = a.shape, indices, axis, keepdim
        self.kind = kind                # max(dim) is MaxBackward0 in PyTorch, min(dim) Min...
        y = np.take_along_axis(a, indices, axis)
        return y if keepdim else np.squeeze(y, axis)

    def name(self):
        return self.kind

    def backward(self, gy):
        gx = np.zeros(self.shape, gy.dtype)
        gy = gy if self.keepdim else np.expand_dims(gy, self.axis)
        np.put_along_axis(gx, self.indices, gy, self.axis)
        return gx
