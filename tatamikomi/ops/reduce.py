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


class Cumsum(Function):
    def forward(self, a, *, axis):
        self.axis = axis
        return np.cumsum(a, axis=axis, dtype=np.int64 if a.dtype.kind in "biu" else a.dtype)

    def backward(self, gy):                 # each input counts in every later running sum
        return np.flip(np.cumsum(np.flip(gy, self.axis), axis=self.axis), self.axis)


class Prod(Function):
    """The product over axis (or all); each input's gradient is the product of the others,
    taken from running products from both ends so a zero needs no division."""

    def forward(self, a, *, axis, keepdim):
        self.shape, self.axis, self.keepdim = a.shape, axis, keepdim
        self.save_for_backward(a)
        return np.asarray(a.prod(axis=axis, keepdims=keepdim))

    def backward(self, gy):
        (a,) = self.saved
        axis = self.axis
        flat = a.reshape(-1) if axis is None else a
        ax = 0 if axis is None else axis
        ones = np.ones_like(np.take(flat, [0], axis=ax))
        left = np.cumprod(np.concatenate([ones, flat], axis=ax), axis=ax)
        left = np.take(left, np.arange(flat.shape[ax]), axis=ax)
        rev = np.flip(flat, ax)
        right = np.flip(np.cumprod(np.concatenate([ones, rev], axis=ax), axis=ax), ax)
        right = np.take(right, np.arange(1, flat.shape[ax] + 1), axis=ax)
        others = (left * right).reshape(a.shape)
        return _expand(gy, self.shape, axis, self.keepdim) * others


class Moments(Function):
    """var (or std) over axes with a correction (Bessel's: 1)."""

    def forward(self, a, *, axis, keepdim, correction, root):
        self.shape, self.axis, self.keepdim, self.root = a.shape, axis, keepdim, root
        axes = axis if isinstance(axis, tuple) else (axis,)
        n = a.size if axis is None else int(np.prod([a.shape[i] for i in axes]))
        self.dof = max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = a - a.mean(axis=axis, keepdims=True)
            v = np.asarray((d * d).sum(axis=axis, keepdims=keepdim) / self.dof, a.dtype)
        y = np.sqrt(v) if root else v
        self.save_for_backward(d, y)
        return y

    def name(self):
        return "StdBackward0" if self.root else "VarBackward0"

    # d var / dx = 2 (x - mean) / dof; d std / dx = (x - mean) / (dof std)
    def backward(self, gy):
        d, y = self.saved
        g = _expand(gy, self.shape, self.axis, self.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.root:
                return g * d / (self.dof * _expand(y, self.shape, self.axis, self.keepdim))
            return g * 2 * d / self.dof


class Amax(Function):
    """amax / amin over axes: ties share the gradient evenly (PyTorch's rule)."""

    def forward(self, a, *, axis, keepdim, largest):
        self.shape, self.axis, self.keepdim, self.largest = a.shape, axis, keepdim, largest
        y = np.asarray((np.max if largest else np.min)(a, axis=axis, keepdims=True))
        self.save_for_backward(a == y)
        return y if keepdim else np.asarray(y.reshape(np.squeeze(y, axis).shape))

    def name(self):
        return "AmaxBackward0" if self.largest else "AminBackward0"

    def backward(self, gy):
        (mask,) = self.saved
        g = gy if self.keepdim else np.expand_dims(gy, self.axis)
        return (g * mask / mask.sum(axis=self.axis, keepdims=True)).astype(gy.dtype)


class Norm(Function):
    """The 2-norm over axes; its gradient x / norm is 0 where the norm is 0, as PyTorch's."""

    def forward(self, a, *, axis, keepdim):
        self.shape, self.axis, self.keepdim = a.shape, axis, keepdim
        y = np.asarray(np.sqrt((a * a).sum(axis=axis, keepdims=keepdim)), a.dtype)
        self.save_for_backward(a, y)
        return y

    def name(self):
        return "LinalgVectorNormBackward0"

    def backward(self, gy):
        a, y = self.saved
        y = _expand(y, self.shape, self.axis, self.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(y == 0, 0, a / y)
        return _expand(gy, self.shape, self.axis, self.keepdim) * g
