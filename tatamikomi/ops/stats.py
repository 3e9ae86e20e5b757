"""Reductions beyond sum and mean: var, std, prod, cumsum, amax, amin, norm, logsumexp, all, any.

Tensor first, PyTorch's argument names: torch.var(x, 1) and x.var(1) are one definition.
"""
import numpy as np

from ..tensor import Tensor, _dim
from .reduce import Amax, Cumsum, Moments, Norm, Prod


def _axes(dim, ndim):
    """None, or the non-negative axis / tuple of axes for dim (int or list)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    if isinstance(dim, (tuple, list)):
        axes = tuple(_dim(d, ndim) for d in dim)
        if len(set(axes)) != len(axes):
            twice = next(d for i, d in enumerate(axes) if d in axes[:i])
            raise RuntimeError(f"dim {twice} appears multiple times in the list of dims")
        return axes
    return _dim(dim, ndim)


def _floating(fn, t):
    if not t.dtype.is_floating_point:
        raise RuntimeError(f"{fn}(): input dtype should be either floating point or complex. "
                           f"Got {t.dtype.torch_name} instead.")


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The variance over dim (all by default), divided by N - correction (Bessel: 1)."""
    if isinstance(dim, bool):                     # var(x, False): the old unbiased argument
        dim, unbiased = None, dim
    _floating("var", input)
    return Moments.apply(input, axis=_axes(dim, input.ndim), keepdim=keepdim,
                         correction=_correction(unbiased, correction), root=False)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    _floating("std", input)
    return Moments.apply(input, axis=_axes(dim, input.ndim), keepdim=keepdim,
                         correction=_correction(unbiased, correction), root=True)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (var(input, dim, unbiased, keepdim, correction=correction),
            input.mean(dim if dim is not None else None, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (std(input, dim, unbiased, keepdim, correction=correction),
            input.mean(dim if dim is not None else None, keepdim))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    t = input if dtype is None else input.type(dtype)
    if dim is not None:
        dim = _dim(dim, t.ndim)
    return Prod.apply(t, axis=dim, keepdim=keepdim)


def cumsum(input, dim, *, dtype=None):
    t = input if dtype is None else input.type(dtype)
    if t.ndim == 0:
        return t * 1
    return Cumsum.apply(t, axis=_dim(dim, t.ndim))


def amax(input, dim=(), keepdim=False):
    return Amax.apply(input, axis=_axes(dim, input.ndim), keepdim=keepdim, largest=True)


def amin(input, dim=(), keepdim=False):
    return Amax.apply(input, axis=_axes(dim, input.ndim), keepdim=keepdim, largest=False)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over dim (all by default): 2 / 'fro', 1, inf, -inf, or any p > 0."""
    t = input if dtype is None else input.type(dtype)
    _floating("linalg.vector_norm", t)
    axis = _axes(dim, t.ndim)
    if p in ("fro", 2, 2.0):
        return Norm.apply(t, axis=axis, keepdim=keepdim)
    if p in (1, 1.0):
        return t.abs().sum(dim=axis if axis is not None else None, keepdim=keepdim)
    if p == float("inf"):
        return amax(t.abs(), () if axis is None else axis, keepdim)
    if p == float("-inf"):
        return amin(t.abs(), () if axis is None else axis, keepdim)
    if p == 0:
        return (t != 0).type(t.dtype).sum(dim=axis, keepdim=keepdim)
    return (t.abs() ** p).sum(dim=axis, keepdim=keepdim) ** (1.0 / p)


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) over dim without overflow: the max is taken out first."""
    t = input if input.dtype.is_floating_point else input.float()
    axis = _axes(dim, t.ndim)
    m = Tensor._make(np.max(t.array, axis=axis, keepdims=True) if t.numel() else
                     np.zeros([1] * t.ndim, t.array.dtype))
    m = Tensor._make(np.where(np.isinf(m.array), 0, m.array).astype(t.array.dtype))
    out = (t - m).exp().sum(dim=axis, keepdim=True).log() + m
    return out if keepdim else out.squeeze(axis if axis is not None else None)


def _logical(fn, input, dim, keepdim):
    a = input.array.astype(bool)
    if dim is None:
        return Tensor._make(np.asarray(fn(a)))
    return Tensor._make(np.asarray(fn(a, axis=_axes(dim, input.ndim), keepdims=keepdim)))


def all(input, dim=None, keepdim=False):  # PyTorch's names
    return _logical(np.all, input, dim, keepdim)


def any(input, dim=None, keepdim=False):
    return _logical(np.any, input, dim, keepdim)


def count_nonzero(input, dim=None):
    return Tensor._make(np.asarray(np.count_nonzero(input.array, axis=_axes(dim, input.ndim)),
                                   np.int64))
