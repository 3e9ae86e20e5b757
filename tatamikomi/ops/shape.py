"""Splitting, flipping, rolling, repeating and gridding tensors.

Each public function takes PyTorch's arguments with the tensor first (torch.chunk(x, 2) and
x.chunk(2) are one definition). Pieces of a split are views, as PyTorch's are.
"""
import numpy as np

from ..autograd import Function
from ..tensor import Tensor, _dim
from .movement import GetItem


def _piece(input, axis, start, stop):
    index = (slice(None),) * axis + (slice(start, stop),)
    return GetItem.apply(input, index=index)


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of split_size along dim (the last may be shorter), or of the listed sizes."""
    axis = _dim(dim, tensor.ndim)
    n = tensor.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {axis}), but got "
                               f"split_sizes={sizes}")
    else:
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [min(size, n - i) for i in range(0, n, size)] if n else [0]
    cuts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return tuple(_piece(tensor, axis, a, b) for a, b in zip(cuts[:-1], cuts[1:]))


def chunk(input, chunks, dim=0):  # PyTorch's names
    """At most `chunks` pieces of equal size (the last may be smaller) along dim."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = input.shape[_dim(dim, input.ndim)]
    return split(input, max(-(-n // chunks), 1) if n else 1, dim)


def unbind(input, dim=0):
    """The slices along dim, that dim removed: views."""
    axis = _dim(dim, input.ndim)
    return tuple(GetItem.apply(input, index=(slice(None),) * axis + (i,))
                 for i in range(input.shape[axis]))


def narrow(input, dim, start, length):
    axis = _dim(dim, input.ndim)
    start = start + input.shape[axis] if start < 0 else start
    if start + length > input.shape[axis] or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({input.shape[axis]}).")
    return _piece(input, axis, start, start + length)


class Flip(Function):
    def forward(self, a, *, axes):
        self.axes = axes
        return np.flip(a, axes).copy()              # PyTorch's flip copies

    def backward(self, gy):
        return np.flip(gy, self.axes)


def flip(input, *dims):
    """Reverse the order along dims: flip(x, (0, 2)) or x.flip(0, 2)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    axes = tuple(_dim(d, input.ndim) for d in dims)
    if len(set(axes)) != len(axes):
        twice = next(d for i, d in enumerate(axes) if d in axes[:i])
        raise RuntimeError(f"dim {twice} appears multiple times in the list of dims")
    return Flip.apply(input, axes=axes)


class Roll(Function):
    def forward(self, a, *, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return np.roll(a, shifts, axes)

    def backward(self, gy):
        return np.roll(gy, tuple(-s for s in self.shifts), self.axes)


def roll(input, shifts, dims=None):
    """Elements shifted along dims, wrapping around; without dims, over the flattened tensor."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        return roll(input.flatten(), shifts, 0).view(input.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    return Roll.apply(input, shifts=shifts, axes=tuple(_dim(d, input.ndim) for d in dims))


class Repeat(Function):
    """Tile a (leading ones added) reps times; backward sums the copies."""

    def forward(self, a, *, reps):
        self.shape, self.reps = a.shape, reps
        return np.tile(a.reshape((1,) * (len(reps) - a.ndim) + a.shape), reps)

    def backward(self, gy):
        shape = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        split = [d for r, n in zip(self.reps, shape) for d in (r, n)]
        g = gy.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(self.shape)


def repeat(input, *sizes):
    reps = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if len(reps) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    return Repeat.apply(input, reps=tuple(int(r) for r in reps))


def tile(input, dims):
    dims = tuple(dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


class RepeatInterleave(Function):
    def forward(self, a, *, repeats, axis):
        self.shape, self.repeats, self.axis = a.shape, repeats, axis
        return np.repeat(a, repeats, axis=axis)

    def backward(self, gy):
        cuts = np.cumsum(np.broadcast_to(self.repeats, (self.shape[self.axis],)))[:-1]
        return np.stack([p.sum(axis=self.axis) for p in np.split(gy, cuts, axis=self.axis)],
                        axis=self.axis)


def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    if dim is None:
        input, dim = input.flatten(), 0
    reps = repeats.array if isinstance(repeats, Tensor) else int(repeats)
    return RepeatInterleave.apply(input, repeats=reps, axis=_dim(dim, input.ndim))


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-d tensors: 'ij' (PyTorch's default) or 'xy' indexing."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    flat = [t.reshape(-1) for t in tensors]
    if indexing == "xy" and len(flat) >= 2:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    grids = [t.reshape((1,) * i + (-1,) + (1,) * (len(flat) - i - 1)).expand(shape)
             for i, t in enumerate(flat)]
    if indexing == "xy" and len(grids) >= 2:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def movedim(input, source, destination):
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    src = [_dim(d, input.ndim) for d in src]
    dst = [_dim(d, input.ndim) for d in dst]
    order = [d for d in range(input.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return input.permute(*order)
