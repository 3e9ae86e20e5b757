"""tatamikomi.nn.functional: PyTorch's signatures and error messages over our ops."""
import warnings

import numpy as np

from .. import dtypes, ops
from ..creation import int_tuple
from ..dtypes import type_name
from ..ops import layers as L
from ..ops import loss as losses
from ..ops import pool as P
from ..ops.conv import Conv2d, IntConv2d
from ..ops.matmul import check as check_matmul
from ..random import default_generator
from ..tensor import Tensor, _dim
from . import _conv_args

PAD_MODES = ("constant", "reflect", "replicate", "circular")


def conv2d(*args, **kwargs):
    """2-d cross-correlation of input with weight, as torch.nn.functional.conv2d.

    Shapes: input (N, C, H, W) or (C, H, W), weight (O, C // groups, KH, KW), bias (O,)
    -> (N, O, OH, OW) or (O, OH, OW).
    """
    x, w, b, stride, padding, dilation, groups = _conv_args.parse(args, kwargs)
    sides = None
    if isinstance(padding, str):
        sides = _conv_args.check_string(x, w, stride, padding, dilation, groups)
    spec = _conv_args.check(x, w, b, stride, padding, dilation, groups, sides)
    batched = x.ndim == 4
    x4 = x if batched else x.unsqueeze(0)
    if x.dtype.is_floating_point:
        y = Conv2d.apply(x4, w, b, spec=spec)
    else:
        y = IntConv2d.apply(x4, w, b, spec=spec)
    return y if batched else y.squeeze(0)


conv2d.__signature__ = _conv_args.SIGNATURE


def _pad_checks(x, pad, mode, value):
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > x.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{x.ndim}")
    if mode not in PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode == "constant":
        return
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pad) // 2
    if x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode in ("reflect", "replicate") and 0 in x.shape[-k:]:
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{list(x.shape)}")
    for i in range(k):                                   # the last axis first, as PyTorch
        n, lo, hi = x.shape[-1 - i], pad[2 * i], pad[2 * i + 1]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #{2 * i + 4}: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) at "
                               f"dimension {x.ndim - 1 - i} of input {list(x.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")


def pad(input, pad, mode="constant", value=None):  # noqa: A002 - PyTorch's names
    """Pad the last len(pad) // 2 dims; pad = (left, right, top, bottom, ...) from the last dim.

    Shapes: (..., H, W) -> (..., H + top + bottom, W + left + right) for a 4-element pad.
    """
    pad = tuple(int(p) for p in pad)
    _pad_checks(input, pad, mode, value)
    return ops.Pad.apply(input, pad=pad, mode=mode, value=0.0 if value is None else value)


def _tensor(fn, name, pos, x, optional=False):
    """PyTorch's TypeError when an argument that must be a Tensor is something else."""
    if not isinstance(x, Tensor) and not (optional and x is None):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type_name(x)}")


def relu(input, inplace=False):  # noqa: A002
    """max(0, x) element-wise."""
    _tensor("relu", "input", 1, input)
    if input.dtype == dtypes.bool:
        raise RuntimeError("Boolean inputs not supported for relu")
    if inplace:
        return input.relu_()
    return ops.Relu.apply(input)


def linear(input, weight, bias=None):  # noqa: A002
    """x @ weight.T + bias.

    Shapes: input (*, in), weight (out, in), bias (out,) -> (*, out).
    """
    _tensor("linear", "input", 1, input)
    _tensor("linear", "weight", 2, weight)
    _tensor("linear", "bias", 3, bias, optional=True)
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.ndim}D and {weight.ndim}D")
    if weight.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{weight.ndim}D")
    if weight.ndim == 1:                         # PyTorch then computes input @ weight
        if bias is not None:
            raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
        check_matmul(input.shape, weight.shape)
        return ops.matmul(input, weight)
    rows = int(np.prod(input.shape[:-1], dtype=np.int64))      # PyTorch folds the batch
    if input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{input.shape[-1]} and {weight.shape[-1]}x{weight.shape[0]})"
                           + _linear_hint(input))
    _linear_dtypes(input, weight, bias)
    if bias is None or tuple(bias.shape) == (weight.shape[0],):
        return L.Linear.apply(input, weight, bias)
    _expandable(bias, (rows, weight.shape[0]))
    return L.Linear.apply(input, weight, None) + bias


def _linear_dtypes(x, w, b):
    """PyTorch's dtype checks: addmm's with a bias, matmul's without."""
    if b is not None and b.dtype != w.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{b.dtype.torch_name} and {w.dtype.torch_name}")
    if x.dtype != w.dtype:
        if b is not None:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                               f"{x.dtype.torch_name} and {w.dtype.torch_name}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{x.dtype.c_name} != {w.dtype.c_name}")


def _expandable(t, target):
    """PyTorch's error when t cannot be expanded to the shape target."""
    shape = tuple(t.shape)
    if len(shape) > len(target):
        raise RuntimeError(f"expand({t.type()}{{{list(shape)}}}, size="
                           f"{list(target)}): the number of sizes provided ({len(target)}) must "
                           f"be greater or equal to the number of dimensions in the tensor "
                           f"({len(shape)})")
    lead = len(target) - len(shape)
    for i in reversed(range(len(shape))):
        if shape[i] not in (1, target[lead + i]):
            raise RuntimeError(f"The expanded size of the tensor ({target[lead + i]}) must match "
                               f"the existing size ({shape[i]}) at non-singleton dimension "
                               f"{lead + i}.  Target sizes: {list(target)}.  Tensor sizes: "
                               f"{list(shape)}")


def _linear_hint(x):
    """A second line for a width mismatch: the width the previous layer actually produces."""
    if x.ndim == 0:
        return ""
    if x.ndim > 2:                              # usually a conv map that was never flattened
        return (f"\nHint: the input {list(x.shape)} was not flattened (Linear uses only its last "
                f"dimension); x.flatten(1) gives {int(np.prod(x.shape[1:]))} features per "
                "sample")
    return (f"\nHint: the input has {x.shape[-1]} features per sample; "
            f"nn.Linear(in_features={x.shape[-1]}, ...) would accept it")


def sigmoid(input):  # noqa: A002 - PyTorch's is input.sigmoid() too: a list fails there
    return input.sigmoid()


def tanh(input):  # noqa: A002
    return input.tanh()


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    _tensor("flatten", "input", 1, input)
    return input.flatten(start_dim, end_dim)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero elements with probability p (scaling the rest) while training; identity otherwise."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    if not input.dtype.is_floating_point:       # the scaled values cannot be stored
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{input.dtype.torch_name}")
    y = L.Dropout.apply(input, p=p, rng=default_generator.np)
    return input._assign(y) if inplace else y


# ----- pooling
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


def _batched(fn, x, **kw):
    """Run a 4-d op on a 3-d (unbatched) input too."""
    if x.ndim == 3:
        return fn(x.unsqueeze(0), **kw).squeeze(0)
    return fn(x, **kw)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Max over sliding windows.

    Shapes: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) or (C, OH, OW).
    """
    k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation)
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    OH, OW = _pool_shape(input, k, s, p, d, ceil_mode)
    _no_bool("max_pool2d", input)
    x4 = input if input.ndim == 4 else input.unsqueeze(0)
    if x4.shape[0] == 0:
        y = _empty_batch(x4, OH, OW)
        idx = Tensor._make(np.zeros(y.shape, np.int64)) if return_indices else None
    else:
        y, idx = P.max_pool(x4, k, s, p, d, ceil_mode, return_indices)
    if input.ndim == 3:
        y, idx = y.squeeze(0), idx.squeeze(0) if return_indices else None
    return (y, idx) if return_indices else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
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

    def pool(x):
        if x.shape[0] == 0:
            return _empty_batch(x, OH, OW)
        return P.AvgPool2d.apply(x, kernel=k, stride=s, padding=p, ceil_mode=ceil_mode,
                                 count_include_pad=count_include_pad, divisor=divisor_override)
    return _batched(pool, input)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
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
    size = tuple(input.shape[-2 + i] if s is None else s for i, s in enumerate(size))
    return _batched(lambda x: P.AdaptiveAvgPool2d.apply(x, output_size=size), input)


# ----- normalization
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Normalize over all axes but 1; in training, use and fold in the batch's statistics.

    Shapes: input (N, C, *), running_mean/running_var/weight/bias (C,) -> (N, C, *).
    """
    _tensor("batch_norm", "input", 1, input)
    if training and input.numel() // max(input.size(1), 1) == 1 and input.numel():
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {input.shape}")
    C = input.size(1)
    if input.numel() == 0:                      # nothing to normalize, no statistics to fold in
        none = np.zeros(C, input.array.dtype)    # (weight and bias still get zero gradients)
        return L.BatchNorm.apply(input, weight, bias, mean=none, var=none + 1, eps=eps,
                                 batch_stats=False)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is None and not training and name.startswith("running"):
            raise RuntimeError(f"{name} must be defined in evaluation mode")
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    _batch_norm_dtypes(input, (weight, bias, running_mean, running_var))
    x = input.array
    axes = tuple(i for i in range(x.ndim) if i != 1)
    if training:
        n = x.size // C
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        if running_mean is not None:                  # the running var is the unbiased one
            m = momentum
            running_mean.array[...] = (1 - m) * running_mean.array + m * mean
            running_var.array[...] = (1 - m) * running_var.array + m * var * n / (n - 1)
    else:
        mean, var = running_mean.array, running_var.array
    return L.BatchNorm.apply(input, weight, bias, mean=mean.astype(x.dtype),
                             var=var.astype(x.dtype), eps=eps, batch_stats=training)


def _batch_norm_dtypes(x, params):
    """PyTorch's CPU rule: every tensor in x's dtype, except float32 ones with a float16 x."""
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"batch_norm\" not implemented for '{x.dtype.torch_name}'")
    kinds = {t.dtype for t in params if t is not None}
    if x.dtype == dtypes.float16 and kinds <= {dtypes.float16, dtypes.float32} and len(kinds) < 2:
        return
    if kinds - {x.dtype}:
        if x.dtype == dtypes.float32:
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


# ----- softmax and losses
def _softmax(fn, input, dim, dtype):
    """input (cast to dtype) and the normalized dim, with PyTorch's checks."""
    _tensor(fn, "input", 1, input)
    dtype = dtypes.check(fn, dtype)
    x = input if dtype is None else input.type(dtype)
    axis = _dim(_softmax_dim(x, dim), x.ndim)
    _floating_logits(fn, x, axis)
    return x, axis


def _floating_logits(fn, x, axis):
    if not x.dtype.is_floating_point:           # PyTorch names the kernel that refused
        kernel = "lastdim_kernel_impl" if axis == max(x.ndim - 1, 0) else "kernel_impl"
        raise NotImplementedError(f"\"{fn}_{kernel}\" not implemented for "
                                  f"'{x.dtype.torch_name}'")


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    x, axis = _softmax("log_softmax", input, dim, dtype)
    return losses.LogSoftmax.apply(x, axis=axis)


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    x, axis = _softmax("softmax", input, dim, dtype)
    return losses.Softmax.apply(x, axis=axis)


def _softmax_dim(x, dim):
    if dim is not None:
        return dim
    return 0 if x.ndim in (0, 1, 3) else 1                # PyTorch's legacy implicit choice


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _nll_checks(x, target, weight, ignore_index):
    """Shape, dtype and range checks of an NLL on log-probabilities x, in PyTorch's order.

    Shapes: x (C,) with target () or (1,), x (N, C) with target (N,), x (N, C, d1, ...) with
    target (N, d1, ...).
    """
    if x.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {x.ndim})")
    if x.ndim != 1 and target.ndim and x.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}).")
    C = x.shape[0] if x.ndim == 1 else x.shape[1]
    if x.ndim <= 2:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if weight is not None and (weight.ndim != 1 or weight.numel() != C):
            raise RuntimeError(f"weight tensor should be defined either for all {C} classes or "
                               f"no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
    elif x.ndim == 4:
        if target.ndim != 3:
            raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {target.ndim}")
        if tuple(target.shape) != (x.shape[0],) + tuple(x.shape[2:]):
            raise RuntimeError(f"size mismatch (got input: {list(x.shape)} , target: "
                               f"{list(target.shape)}")
    elif tuple(target.shape[1:]) != tuple(x.shape[2:]):
        raise RuntimeError(f"Expected target size {[x.shape[0]] + list(x.shape[2:])}, got "
                           f"{list(target.shape)}")
    if x.ndim > 2 and weight is not None and weight.numel() != C:
        raise RuntimeError("weight tensor should be defined either for all or no classes")
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.dtype.torch_name}")
    if weight is not None and weight.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype.torch_name} but found "
                           f"{weight.dtype.torch_name}")
    t = target.array
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bad.any():
        raise IndexError(f"Target {t[bad].reshape(-1)[0]} is out of bounds.")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
             reduce=None, reduction="mean"):
    """Negative log likelihood of the target classes. Shapes: (N, C, *), (N, *) -> ()."""
    _check_reduction(reduction)
    _tensor("nll_loss_nd", "input", 1, input)
    _tensor("nll_loss_nd", "target", 2, target)
    _tensor("nll_loss_nd", "weight", 3, weight, optional=True)
    _nll_checks(input, target, weight, ignore_index)
    x = input if input.ndim > 1 else input.unsqueeze(0)
    t = target if target.ndim else target.unsqueeze(0)
    w = None if weight is None else weight.array
    y = losses.NLLLoss.apply(x, target=t.array.astype(np.int64), weight=w,
                             ignore_index=ignore_index, reduction=reduction)
    return y.squeeze(0) if input.ndim == 1 and reduction == "none" else y


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax then NLL, with class-index or class-probability targets and smoothing.

    Shapes: input (N, C, *) or (C,), target (N, *) class indices or input's shape
    probabilities -> () or (N, *) for reduction='none'.
    """
    _check_reduction(reduction)
    _tensor("cross_entropy_loss", "input", 1, input)
    _tensor("cross_entropy_loss", "target", 2, target)
    _tensor("cross_entropy_loss", "weight", 3, weight, optional=True)
    class_dim = 0 if input.ndim == 1 else 1
    if target.shape == input.shape:             # PyTorch reads equal shapes as probabilities
        return _soft_cross_entropy(input, target, weight, reduction, ignore_index,
                                   label_smoothing, class_dim)
    _check_smoothing(label_smoothing)
    _floating_logits("log_softmax", input, _dim(class_dim, input.ndim))
    _nll_checks(input, target, weight, ignore_index)
    plain = (weight is None and label_smoothing <= 0 and reduction == "mean" and input.ndim == 2
             and not (target.array == ignore_index).any())
    if plain:
        return losses.CrossEntropy.apply(input, target=target.array.astype(np.int64))
    logp = log_softmax(input, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return loss
    # PyTorch's smoothing: mix in the mean over classes of -logp, normalized like the NLL term
    # (Szegedy et al., 2016).
    C = input.shape[class_dim]
    wshape = (1, -1) + (1,) * (input.ndim - 2)
    smooth = -(logp if weight is None else logp * weight.reshape(wshape)).sum(class_dim)
    keep = Tensor._make((target.array != ignore_index).astype(smooth.array.dtype))
    smooth = smooth * keep
    if reduction == "mean":
        if weight is None:
            denom = keep.array.sum()
        else:
            denom = weight.array[target.array[target.array != ignore_index]].sum()
        smooth = smooth.sum() / float(denom)
    elif reduction == "sum":
        smooth = smooth.sum()
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / C)


def _check_smoothing(label_smoothing):
    # PyTorch checks the range only where smoothing applies: a negative value means none
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing:g}")            # printed as C++ prints a double


def _soft_cross_entropy(input, target, weight, reduction, ignore_index, label_smoothing,
                        class_dim):
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {target.dtype.torch_name}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    _floating_logits("log_softmax", input, _dim(class_dim, input.ndim))
    C = input.shape[class_dim]
    if weight is not None and (weight.ndim != 1 or weight.numel() != C):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all {C} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    _check_smoothing(label_smoothing)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / C
    logp = log_softmax(input, class_dim)
    wshape = (1, -1) + (1,) * (input.ndim - 2) if input.ndim > 1 else (-1,)
    prod = logp * target if weight is None else logp * target * weight.reshape(wshape)
    loss = -prod.sum(class_dim)
    if reduction == "mean":
        return loss.sum() / max(input.numel() // C, 1) if input.ndim > 1 else loss
    return loss.sum() if reduction == "sum" else loss


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Mean (or sum) of squared differences. Shapes: two shapes that broadcast -> ()."""
    if target.size() != input.size():           # a list fails here, as in PyTorch
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=2)
    diff = input - target                       # PyTorch broadcasts before reading reduction
    _check_reduction(reduction)
    if not diff.dtype.is_floating_point:
        raise NotImplementedError(f"\"mse_cpu\" not implemented for '{diff.dtype.torch_name}'")
    return _reduce(diff ** 2, reduction)
