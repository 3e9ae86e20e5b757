"""Ops that move data without arithmetic: reshape, permute, expand, indexing, pad."""
import numpy as np

from ..autograd import Function
from .elementwise import unbroadcast


class Reshape(Function):
    is_view = True

    def forward(self, a, *, shape, copy=True, kind="ViewBackward0"):
        self.shape, self.kind = a.shape, kind
        if copy:
            y = a.reshape(shape)
            if not np.may_share_memory(y, a) and y.size > 1:
                self.kind = "UnsafeViewBackward0"          # PyTorch's reshape copied too
            return y
        return np.reshape(a, shape, copy=False)          # view(): refuse to copy, as PyTorch does

    def name(self):                     # view, squeeze, unsqueeze, flatten: PyTorch's names
        return self.kind

    def backward(self, gy):
        return gy.reshape(self.shape)


class Contiguous(Function):
    def forward(self, a):
        return np.ascontiguousarray(a)

    def name(self):
        return "CloneBackward0"

    def backward(self, gy):
        return gy


class Permute(Function):
    is_view = True

    def forward(self, a, *, dims, kind="PermuteBackward0"):
        self.dims, self.kind = dims, kind
        return np.transpose(a, dims)

    def name(self):                     # permute, transpose, t
        return self.kind

    def backward(self, gy):
        return np.transpose(gy, np.argsort(self.dims))


class Expand(Function):
    is_view = True

    def forward(self, a, *, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, gy):
        return unbroadcast(gy, self.shape)


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer))
               for i in items)


class GetItem(Function):
    def forward(self, a, *, index):
        self.shape, self.index = a.shape, index
        self.is_view = _is_basic(index)
        return a[index]

    def name(self):
        """PyTorch applies an index item by item; its last step names the node."""
        items = self.index if isinstance(self.index, tuple) else (self.index,)
        last = [i for i in items if not (isinstance(i, slice) and i == slice(None))
                and i is not Ellipsis] or [slice(None)]
        i = last[-1]
        if not _is_basic(self.index):
            return "IndexBackward0"
        if i is None:
            return "UnsqueezeBackward0"
        return "SliceBackward0" if isinstance(i, slice) else "SelectBackward0"

    def backward(self, gy):
        gx = np.zeros(self.shape, gy.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        else:
            np.add.at(gx, self.index, gy)                   # repeated indices accumulate
        return gx


class SetItem(Function):
    """a[index] = v out of place: the gradient of the overwritten cells goes nowhere."""

    def forward(self, a, v, *, index):
        self.index, self.vshape = index, v.shape
        y = a.copy()
        y[index] = v
        return y

    def name(self):                     # PyTorch writes through a view, or with index_put_
        return "CopySlices" if _is_basic(self.index) else "IndexPutBackward0"

    def backward(self, gy):
        ga = gy.copy()
        ga[self.index] = 0
        if not self.needs_input_grad[1]:
            return ga, None
        return ga, unbroadcast(np.asarray(gy[self.index]), self.vshape)


_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad_index(n, lo, hi, mode):
    """Source index of every output position along one axis (negative pads crop).

    Shapes: -> (n + lo + hi,).
    """
    idx = np.arange(n)
    idx = idx[max(0, -lo): n - max(0, -hi)]
    return np.pad(idx, (max(0, lo), max(0, hi)), mode=_NP_MODE[mode])


class Pad(Function):
    """Pad the last len(pad)//2 axes; pad lists (left, right) pairs from the last axis backwards."""

    def forward(self, a, *, pad, mode, value=0.0):
        self.shape, self.pad, self.mode = a.shape, pad, mode
        pairs = [(0, 0)] * (a.ndim - len(pad) // 2) + [
            (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]
        self.pairs = pairs
        if mode == "constant":
            crop = tuple(slice(max(0, -lo), n - max(0, -hi)) for n, (lo, hi) in zip(a.shape, pairs))
            grow = [(max(0, lo), max(0, hi)) for lo, hi in pairs]
            return np.pad(a[crop], grow, mode="constant", constant_values=value)
        self.idx = [pad_index(n, lo, hi, mode) for n, (lo, hi) in zip(a.shape, pairs)]
        return a[np.ix_(*self.idx)]

    def backward(self, gy):
        if self.mode == "constant":
            gx = np.zeros(self.shape, gy.dtype)
            src = tuple(slice(max(0, -lo), n - max(0, -hi))
                        for n, (lo, hi) in zip(self.shape, self.pairs))
            dst = tuple(slice(max(0, lo), m - max(0, hi))
                        for m, (lo, hi) in zip(gy.shape, self.pairs))
            gx[src] = gy[dst]
            return gx
        for axis, idx in enumerate(self.idx):           # fold each padded axis back onto itself
            if len(idx) == self.shape[axis] and (idx == np.arange(len(idx))).all():
                continue
            shape = list(gy.shape)
            shape[axis] = self.shape[axis]
            g = np.zeros(shape, gy.dtype)
            np.add.at(g, (slice(None),) * axis + (idx,), gy)
            gy = g
        return gy


class Cat(Function):
    """Join tensors along an existing axis; backward hands each its slice."""

    def forward(self, *arrays, axis):
        self.axis, self.sizes = axis, [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis)

    def backward(self, gy):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(gy, cuts, axis=self.axis))
