"""Gather, scatter, index_select, masked_fill, topk, sort: picking elements by index.

Each public function takes PyTorch's arguments with the tensor first, so one definition serves as
torch.gather(x, 1, i) and as the method x.gather(1, i).
"""
import collections

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, _dim
from .elementwise import Where

_topk = collections.namedtuple("topk", ["values", "indices"])
_sort = collections.namedtuple("sort", ["values", "indices"])


def _long(fn, index):
    """The index array of a gather/scatter, with PyTorch's dtype check (int32 or int64)."""
    if not isinstance(index, Tensor) or index.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index")
    return index.array.astype(np.int64, copy=False)


def _check_index(input, idx, axis):
    """PyTorch's checks of a gather/scatter index: rank, extent, bounds (first bad one)."""
    if idx.ndim != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d, (i, n) in enumerate(zip(idx.shape, input.shape)):
        if d != axis and i > n:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(idx.shape)} to be no larger than self {list(input.shape)} "
                               f"apart from dimension {axis}")
    bad = (idx < -input.shape[axis]) | (idx >= input.shape[axis])
    if bad.any():
        raise RuntimeError(f"index {idx.reshape(-1)[np.argmax(bad.reshape(-1))]} is out of bounds "
                           f"for dimension {axis} with size {input.shape[axis]}")


class Gather(Function):
    """y[i][j] = x[i][index[i][j]] along axis; backward adds gy back at the indices.

    Shapes: x (..., n, ...), index (..., k, ...) -> (..., k, ...).
    """

    def forward(self, x, *, index, axis):
        self.shape, self.index, self.axis = x.shape, index, axis
        part = tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(index.shape))
        return np.take_along_axis(x[part], index, axis)     # index may be smaller than x

    def backward(self, gy):
        gx = np.zeros(self.shape, gy.dtype)
        _scatter_add(gx, self.index, gy, self.axis)
        return gx


def _scatter_add(out, index, src, axis):
    """out[.., index[i], ..] += src[i] along axis, repeated indices adding up."""
    idx = list(np.indices(index.shape, sparse=True))
    idx[axis] = index
    np.add.at(out, tuple(idx), src[tuple(slice(0, n) for n in index.shape)])


def gather(input, dim, index, *, sparse_grad=False):  # PyTorch's names
    axis = _dim(dim, input.ndim)
    idx = _long("gather", index)
    _check_index(input, idx, axis)
    return Gather.apply(input, index=idx, axis=axis)


class Scatter(Function):
    """x with src's (or a value's) elements written at index along axis; add=True sums them.

    The gradient of x is gy where nothing was written (everywhere, for add); of src, gy read at
    the indices.
    """

    def forward(self, x, src, *, index, axis, value, add):
        self.index, self.axis, self.add = index, axis, add
        y = x.copy()
        s = np.broadcast_to(np.asarray(value, x.dtype), index.shape) if src is None else src
        if add:
            _scatter_add(y, index, s, axis)
        else:
            idx = list(np.indices(index.shape, sparse=True))
            idx[axis] = index
            y[tuple(idx)] = s[tuple(slice(0, n) for n in index.shape)]
        return y

    def backward(self, gy):
        idx = list(np.indices(self.index.shape, sparse=True))
        idx[self.axis] = self.index
        gx = gy
        if not self.add:
            gx = gy.copy()
            gx[tuple(idx)] = 0
        gs = None
        if len(self.needs_input_grad) > 1 and self.needs_input_grad[1]:
            gs = np.zeros(self.inputs[1].shape, gy.dtype)
            gs[tuple(slice(0, n) for n in self.index.shape)] = gy[tuple(idx)]
        return gx, gs


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """input with src (a tensor) or value (a number) written at index along dim."""
    if reduce not in (None, "add"):
        raise NotImplementedError(f"scatter reduce={reduce!r}: only 'add' is supported")
    if isinstance(src, (int, float)) and value is None:
        src, value = None, src
    axis = _dim(dim, input.ndim)
    idx = _long("scatter", index)
    _check_index(input, idx, axis)
    return Scatter.apply(input, src, index=idx, axis=axis, value=value, add=reduce == "add")


def scatter_add(input, dim, index, src):
    axis, idx = _dim(dim, input.ndim), _long("scatter_add", index)
    _check_index(input, idx, axis)
    return Scatter.apply(input, src, index=idx, axis=axis, value=None, add=True)


def index_select(input, dim, index):
    """The slices of input at index (1-d, int64 or int32) along dim."""
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    axis = _dim(dim, input.ndim)
    idx = index.array.reshape(-1).astype(np.int64)
    shape = [1] * input.ndim
    shape[axis] = idx.size
    full = np.broadcast_to(idx.reshape(shape), input.shape[:axis] + (idx.size,) +
                           input.shape[axis + 1:])
    out = Gather.apply(input, index=np.ascontiguousarray(full), axis=axis)
    return out


def masked_fill(input, mask, value):
    """input with value wherever mask (bool, broadcast to input) holds."""
    if mask.dtype.name != "bool":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype.torch_name}")
    cond = np.broadcast_to(mask.array, np.broadcast_shapes(mask.shape, input.shape))
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        v = value if value.array.dtype == input.array.dtype else value.type(input.dtype)
    else:
        v = Tensor._make(np.asarray(value).astype(input.array.dtype))
    return Where.apply(v, input, cond=cond)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) elements along dim and their indices (NaN is largest)."""
    axis = _dim(dim, max(input.ndim, 1))
    n = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    order = sort(input, dim, descending=largest).indices.array
    idx = np.take(order.reshape(1) if input.ndim == 0 else order, np.arange(k), axis=axis)
    vals = Gather.apply(input if input.ndim else input.reshape(1), index=idx, axis=axis)
    if input.ndim == 0:
        vals, idx = vals.reshape(()), idx.reshape(())
    return _topk(vals, Tensor._make(idx.astype(np.int64)))


def sort(input, dim=-1, descending=False, stable=False):
    """input sorted along dim, and where each element came from; NaN counts as the largest
    value and ties keep their order, as in PyTorch."""
    axis = _dim(dim, max(input.ndim, 1))
    a = input.array if input.ndim else input.array.reshape(1)
    if descending:      # ascending over the reversed axis, read backwards: ties stay in order
        n = a.shape[axis]
        idx = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
        idx = n - 1 - idx
    else:
        idx = np.argsort(a, axis=axis, kind="stable")
    vals = Gather.apply(input if input.ndim else input.reshape(1), index=idx, axis=axis)
    if input.ndim == 0:
        vals, idx = vals.reshape(()), idx.reshape(())
    return _sort(vals, Tensor._make(idx.astype(np.int64)))


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def nonzero(input, *, as_tuple=False):
    """Indices of the nonzero elements: (count, ndim) int64, or one tensor per dim."""
    idx = np.nonzero(input.array.reshape(1) if input.ndim == 0 else input.array)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in idx)
    return Tensor._make(np.stack(idx, axis=1).astype(np.int64) if idx else
                        np.zeros((int(bool(input.array)), 0), np.int64))
