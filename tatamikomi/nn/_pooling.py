"""nn.functional's pooling: max, average, adaptive and max unpooling over 2-d maps, with
PyTorch's argument checks in its order.

Split from functional.py to keep each file readable; `nn.functional` re-exports every name.
"""
import math

import numpy as np

from .. import dtypes
from .._parse import int_tuple
from ..ops import pool as P
from ..ops import resample as R
from ..tensor import Tensor, _dim
from ._losses import _tensor

_LENGTHS = {"kernel_size": ((1, 2), "kernel_size must either be a single int, or a tuple of two "
                            "ints"),
            "stride": ((0, 1, 2), "stride must either be omitted, a single int, or a tuple of "
                       "two ints"),
            "padding": ((1, 2), "padding must either be a single int, or a tuple of two ints"),
            "dilation": ((1, 2), "dilation must be either a single int, or a tuple of two ints")}
INT32 = (-2 ** 31, 2 ** 31 - 1)


def _pool_args(fn, input, kernel_size, stride, padding, dilation=1):
    """kernel, stride, padding and dilation as pairs, checked as PyTorch checks them.

    The argument parser goes first (types, int64 overflow), then each argument's length and
    its narrowing to a C int, in the signature's order.
    """
    _tensor(fn, "input", 1, input)
    args = {"kernel_size": int_tuple(fn, "kernel_size", 2, kernel_size),
            "stride": () if stride is None else int_tuple(fn, "stride", 3, stride),
            "padding": int_tuple(fn, "padding", 4, padding),
            "dilation": int_tuple(fn, "dilation", 5, dilation)}
    for name, v in args.items():
        lengths, message = _LENGTHS[name]
        if len(v) not in lengths:
            raise RuntimeError(f"{fn}: {message}")
        if not all(INT32[0] <= i <= INT32[1] for i in v):
            raise RuntimeError("value cannot be converted to type int without overflow")
    k, s, p, d = (v * 2 if len(v) == 1 else v for v in args.values())
    return k, s or k, p, d


def _half(n):
    """n / 2 rounded toward zero, as C++ divides."""
    return n // 2 if n >= 0 else -(-n // 2)


def _pool_shape(x, k, s, p, d, ceil_mode):
    """(OH, OW) after PyTorch's pooling shape checks, in PyTorch's order."""
    out = []
    for n, kk, ss, pp, dd in zip(x.shape[-2:], k, s, p, d):
        if ss == 0:
            raise RuntimeError("stride should not be zero")
        if pp < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {pp}")
        if pp > _half((kk - 1) * dd + 1):
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
        out.append(P.out_size(n, kk, ss, pp, dd, ceil_mode))
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: "
                           f"{k[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} "
                           f"dilationW: {d[1]}")
    if x.ndim not in (3, 4) or 0 in x.shape[-3:]:        # only the batch may be empty
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got:{list(x.shape)}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got "
                           f"padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
    C, H, W = x.shape[-3:]
    if min(out) < 1:
        raise RuntimeError(f"Given input size: ({C}x{H}x{W}). Calculated output size: "
                           f"({C}x{out[0]}x{out[1]}). Output size is too small")
    return tuple(out)


def _no_bool(fn, x):
    if x.dtype == dtypes.bool:
        raise NotImplementedError(f"\"{fn}\" not implemented for 'Bool'")


def _empty_batch(x, OH, OW):
    """The pooled output of a batch of 0 samples, still on the graph (its gradient is empty).

    Shapes: x (0, C, H, W) -> (0, C, OH, OW).
    """
    return x[:, :, :1, :1] * Tensor._make(np.zeros((0, x.shape[1], OH, OW), x.array.dtype))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows.

    Shapes: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) or (C, OH, OW).
    """
    k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation)
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    OH, OW = _pool_shape(input, k, s, p, d, ceil_mode)
    _no_bool("max_pool2d", input)
    if input.ndim == 4 and input.shape[0] == 0:
        y = _empty_batch(input, OH, OW)
        idx = Tensor._make(np.zeros(y.shape, np.int64)) if return_indices else None
    else:
        y, idx = P.max_pool(input, k, s, p, d, ceil_mode, return_indices)
    return (y, idx) if return_indices else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows (PyTorch's divisor rules).

    Shapes: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) or (C, OH, OW).
    """
    k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _dim(-3, input.ndim)                        # PyTorch reads the channel dim first
    OH, OW = _pool_shape(input, k, s, p, (1, 1), ceil_mode)
    _no_bool("avg_pool2d", input)

    if input.ndim == 4 and input.shape[0] == 0:
        return _empty_batch(input, OH, OW)
    return P.AvgPool2d.apply(input, kernel=k, stride=s, padding=p, ceil_mode=ceil_mode,
                             count_include_pad=count_include_pad, divisor=divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """Average into a fixed output size; None in output_size keeps that input size.

    Shapes: (N, C, H, W) or (C, H, W) -> (N, C, *output_size) or (C, *output_size).
    """
    _tensor("adaptive_avg_pool2d", "input", 1, input)
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(size) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    if any(s is not None and s < 0 for s in size):
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater than "
                           f"or equal to 0 but received {{{size[0]}, {size[1]}}}")
    if size == (1, 1):                          # PyTorch takes the mean: any rank >= 2 works
        return input.mean((-1, -2), keepdim=True)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    for i in (-2, -1):
        if input.shape[i] == 0:
            raise RuntimeError(f"adaptive_avg_pool2d(): Expected input to have non-zero size for "
                               f"non-batch dimensions, but input has sizes {list(input.shape)} "
                               f"with dimension {input.ndim + i} being empty")
    size = tuple(input.shape[-2 + i] if s is None else s for i, s in enumerate(size))
    return P.AdaptiveAvgPool2d.apply(input, output_size=size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows; None in output_size keeps that input size.

    Shapes: (N, C, H, W) or (C, H, W) -> (N, C, *output_size) or (C, *output_size).
    """
    _tensor("adaptive_max_pool2d", "input", 1, input)
    size = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * 2
    if len(size) == 2:
        size = [input.shape[-2 + i] if s is None else s for i, s in enumerate(size)]
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: "
                           f"{list(input.shape)}")
    for i in range(1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"adaptive_max_pool2d(): Expected input to have non-zero size "
                               f"for non-batch dimensions, but input has sizes "
                               f"{list(input.shape)} with dimension {i} being empty")
    if len(size) != 2:
        raise RuntimeError("adaptive_max_pool2d(): internal error: output_size.size() must be 2")
    if min(size) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: "
                           f"{list(input.shape[:-2]) + size}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"adaptive_max_pool2d\" not implemented for "
                                  f"'{input.dtype.torch_name}'")
    x = input if input.dim() == 4 else input.unsqueeze(0)
    y, idx = R.adaptive_max(x.array, size)
    out = R.AdaptiveMaxPool2d.apply(x, y=y, indices=idx)
    idx = Tensor._make(idx)
    if input.dim() == 3:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, return_indices=True)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value back at its max_pool2d index, zeros elsewhere.

    Shapes: input, indices (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) or (C, OH, OW).
    """
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    default = [(input.shape[-2 + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(2)]
    if output_size is None:
        out = default
    else:
        out = list(output_size)
        if len(out) == 4:
            out = out[2:]
        if len(out) != 2:
            raise ValueError(f"output_size should be a sequence containing 2 or 4 elements, but "
                             f"it has a length of '{len(out)}'")
        for d in range(2):
            lo, hi = default[d] - s[d], default[d] + s[d]
            if not lo < out[d] < hi:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between '
                                 f'{lo} and {hi})')
    for d in range(2):
        if out[d] < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{d}]={out[d]}")
    _unpool_checks(input, indices, out)
    return R.MaxUnpool2d.apply(input, indices=indices.array, out_hw=tuple(out))


def _unpool_checks(x, indices, out):
    if indices.dtype != dtypes.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{indices.dtype.torch_name}")
    if x.dim() not in (3, 4):
        raise RuntimeError(f"Input to max_unpooling2d should be a 3d or 4d Tensor, but got a "
                           f"tensor with {x.dim()} dimensions.")
    if tuple(indices.shape) != tuple(x.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    bad = (indices.array < 0) | (indices.array >= math.prod(out))
    if bad.any():                         # PyTorch's loop keeps the last bad index it meets
        raise RuntimeError(f"Found an invalid max index: {indices.array[bad].reshape(-1)[-1]} "
                           f"(output volumes are of size {out[0]}x{out[1]})")


# The 1-d pools run as the 2-d ones on (N, C, 1, W), as PyTorch's do: their own argument checks
# first (PyTorch's messages), then the 2-d pool's, and the 2-d node in the graph.

def _dim_range(fn, x):
    if x.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor for "
                           f"argument #1 'self' (while checking arguments for {fn})")


def _one(fn, name, v):
    """The one int of a 1-d pool's argument."""
    if len(v) != 1:
        raise RuntimeError(f"{fn}() argument '{name}' should contain one int (got {len(v)})")
    return v[0]


def _args_1d(fn, input, kernel_size, stride, padding, dilation=1):
    """kernel, stride (empty when omitted), padding and dilation as tuples, as parsed."""
    _tensor(fn, "input", 1, input)
    return (int_tuple(fn, "kernel_size", 2, kernel_size),
            () if stride is None else int_tuple(fn, "stride", 3, stride),
            int_tuple(fn, "padding", 4, padding), int_tuple(fn, "dilation", 5, dilation))


def _flat_2d(y):
    """A 2-d pool's result (and indices) without the H = 1 axis."""
    return tuple(t.squeeze(-2) for t in y) if isinstance(y, tuple) else y.squeeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of a signal.

    Shapes: (N, C, W) or (C, W) -> (N, C, OW) or (C, OW).
    """
    fn = "max_pool1d"
    k, s, p, d = _args_1d(fn, input, kernel_size, stride, padding, dilation)
    if return_indices:                          # PyTorch's max_pool1d_with_indices checks
        s = s or k
        _dim_range(fn, input)
        k, s, p, d = (_one(fn, n, v) for n, v in zip(
            ("kernel_size", "stride", "padding", "dilation"), (k, s, p, d)))
    else:
        k, s, p, d = _check_max_pool1d(input, k, s, p, d, ceil_mode)
    return _flat_2d(max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), (1, d), ceil_mode,
                               return_indices))


def _check_max_pool1d(x, k, s, p, d, ceil_mode):
    """max_pool1d's own checks, in PyTorch's order; returns kernel, stride, padding, dilation."""
    fn = "max_pool1d"
    ok = x.ndim in (2, 3) and 0 not in x.shape[-2:]
    if not ok:
        raise RuntimeError(f"{fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(x.shape)}")
    for name, v, allowed, text in (
            ("kernel_size", k, (1,), "an int, list of ints or tuple of ints"),
            ("stride", s, (0, 1), "None, an int, list of ints, or tuple of ints"),
            ("padding", p, (1,), "an int, list of ints, or tuple of ints"),
            ("dilation", d, (1,), "an int, list of ints or tuple of ints")):
        if len(v) not in allowed:
            raise RuntimeError(f"{fn}() {name} must be {text} of size 1 but got size {len(v)}")
    (k,), (s,), (p,), (d,) = k, s or k, p, d
    if k <= 0:
        raise RuntimeError(f"{fn}() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"{fn}() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"{fn}() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(f"{fn}() padding should be at most half of kernel size, but got "
                           f"padding={p} and kernel_size={k}")
    if d <= 0:
        raise RuntimeError(f"{fn}() dilation must be greater than zero, but got {d}")
    OW = P.out_size(x.shape[-1], k, s, p, d, ceil_mode)
    if OW <= 0:
        raise RuntimeError(f"{fn}() Invalid computed output size: {OW}")
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"max_pool1d_impl\" not implemented for "
                                  f"'{x.dtype.torch_name}'")
    return k, s, p, d


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over sliding windows of a signal.

    Shapes: (N, C, W) or (C, W) -> (N, C, OW) or (C, OW).
    """
    fn = "avg_pool1d"
    k, s, p, _ = _args_1d(fn, input, kernel_size, stride, padding)
    s = s or k
    _dim_range(fn, input)
    k, s, p = (_one(fn, n, v) for n, v in zip(("kernel_size", "stride", "padding"), (k, s, p)))
    return _flat_2d(avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), ceil_mode,
                               count_include_pad))


def _output_size_1d(fn, input, output_size):
    _tensor(fn, "input", 1, input)
    size = int_tuple(fn, "output_size", 2, output_size)
    _dim_range(fn, input)
    return _one(fn, "output_size", size)


def adaptive_avg_pool1d(input, output_size):
    """Average a signal into a fixed length. Shapes: (N, C, W) or (C, W) -> (N, C, OW) or
    (C, OW)."""
    OW = _output_size_1d("adaptive_avg_pool1d", input, output_size)
    return _flat_2d(adaptive_avg_pool2d(input.unsqueeze(-2), (1, OW)))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows of a signal.

    Shapes: (N, C, W) or (C, W) -> (N, C, OW) or (C, OW).
    """
    fn = "adaptive_max_pool1d"
    OW = _output_size_1d(fn, input, output_size)
    for i in range(1, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")
    return _flat_2d(adaptive_max_pool2d(input.unsqueeze(-2), (1, OW), return_indices))
