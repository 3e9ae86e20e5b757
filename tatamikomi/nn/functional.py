"""tatamikomi.nn.functional: PyTorch's signatures and error messages over our ops."""
import warnings

import numpy as np

from .. import dtypes, ops
from ..ops import layers as L
from ..ops import loss as losses
from ..ops import pool as P
from ..ops.conv import Conv2d, IntConv2d
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


def relu(input, inplace=False):  # noqa: A002
    """max(0, x) element-wise."""
    if inplace:
        return input.relu_()
    return ops.Relu.apply(input)


def linear(input, weight, bias=None):  # noqa: A002
    """x @ weight.T + bias.

    Shapes: input (*, in), weight (out, in), bias (out,) -> (*, out).
    """
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        rows = int(np.prod(input.shape[:-1], dtype=np.int64)) if input.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{input.shape[-1] if input.ndim else 1} and {weight.shape[-1]}x"
                           f"{weight.shape[0]})" + _linear_hint(input))
    if input.dtype != weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{input.dtype.torch_name} and {weight.dtype.torch_name}")
    return L.Linear.apply(input, weight, bias)


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


def sigmoid(input):  # noqa: A002
    return input.sigmoid()


def tanh(input):  # noqa: A002
    return input.tanh()


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    return input.flatten(start_dim, end_dim)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero elements with probability p (scaling the rest) while training; identity otherwise."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    y = L.Dropout.apply(input, p=p, rng=default_generator.np)
    return input._assign(y) if inplace else y


# ----- pooling
def _pool_pair(name, v):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    return v * 2 if len(v) == 1 else v


def _pool_checks(x, kernel, stride, padding, dilation, ceil_mode):
    if min(stride) == 0:
        raise RuntimeError("stride should not be zero")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: "
                           f"{dilation[0]} dilationW: {dilation[1]}")
    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} "
                           f"kW: {kernel[1]}")
    if x.ndim not in (3, 4) or x.numel() == 0:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:   # the CPU kernel's own rule
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got "
                           f"padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, "
                           f"kH = {kernel[0]}")
    C, H, W = x.shape[-3:]
    OH = P.out_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = P.out_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if OH < 1 or OW < 1:
        raise RuntimeError(f"Given input size: ({C}x{H}x{W}). Calculated output size: "
                           f"({C}x{OH}x{OW}). Output size is too small")


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
    kernel = _pool_pair("kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else _pool_pair("stride", stride)
    padding, dilation = _pool_pair("padding", padding), _pool_pair("dilation", dilation)
    _pool_checks(input, kernel, stride, padding, dilation, ceil_mode)
    x4 = input if input.ndim == 4 else input.unsqueeze(0)
    y, idx = P.max_pool(x4, kernel, stride, padding, dilation, ceil_mode, return_indices)
    if input.ndim == 3:
        y, idx = y.squeeze(0), idx.squeeze(0) if return_indices else None
    return (y, idx) if return_indices else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows (PyTorch's divisor rules)."""
    kernel = _pool_pair("kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else _pool_pair("stride", stride)
    padding = _pool_pair("padding", padding)
    _dim(-3, input.ndim)                        # PyTorch reads the channel dim first
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _pool_checks(input, kernel, stride, padding, (1, 1), ceil_mode)
    return _batched(lambda x: P.AvgPool2d.apply(
        x, kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
        count_include_pad=count_include_pad, divisor=divisor_override), input)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average into a fixed output size; None in output_size keeps that input size."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    size = _pool_pair("output_size", output_size)
    if len(size) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    size = tuple(input.shape[-2 + i] if s is None else s for i, s in enumerate(size))
    return _batched(lambda x: P.AdaptiveAvgPool2d.apply(x, output_size=size), input)


# ----- normalization
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Normalize over all axes but 1; in training, use and fold in the batch's statistics."""
    C = input.shape[1]
    if running_mean is not None and running_mean.numel() != C:
        raise RuntimeError(f"running_mean should contain {C} elements not "
                           f"{running_mean.numel()}")
    x = input.array
    axes = tuple(i for i in range(x.ndim) if i != 1)
    if training:
        n = x.size // C
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        if running_mean is not None:                  # the running var is the unbiased one
            m = momentum
            running_mean.array[...] = (1 - m) * running_mean.array + m * mean
            running_var.array[...] = (1 - m) * running_var.array + m * var * n / (n - 1)
    else:
        mean, var = running_mean.array, running_var.array
    return L.BatchNorm.apply(input, weight, bias, mean=mean.astype(x.dtype),
                             var=var.astype(x.dtype), eps=eps, batch_stats=training)


# ----- softmax and losses
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    x = input if dtype is None else input.type(dtype)
    return losses.LogSoftmax.apply(x, axis=_dim(_softmax_dim(x, dim), x.ndim))


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    x = input if dtype is None else input.type(dtype)
    return losses.Softmax.apply(x, axis=_dim(_softmax_dim(x, dim), x.ndim))


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


def _check_target(x, target, ignore_index):
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.dtype.torch_name}")
    if x.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}).")
    if target.ndim > 1 and tuple(target.shape) != (x.shape[0],) + tuple(x.shape[2:]):
        raise RuntimeError(f"Expected target size {[x.shape[0]] + list(x.shape[2:])}, got "
                           f"{list(target.shape)}")
    t = target.array
    bad = (t != ignore_index) & ((t < 0) | (t >= x.shape[1]))
    if bad.any():
        raise IndexError(f"Target {t[bad].reshape(-1)[0]} is out of bounds.")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
             reduce=None, reduction="mean"):
    """Negative log likelihood of the target classes. Shapes: (N, C, *), (N, *) -> ()."""
    _check_reduction(reduction)
    x = input if input.ndim > 1 else input.unsqueeze(0)
    t = target if target.ndim else target.unsqueeze(0)
    _check_target(x, t, ignore_index)
    w = None if weight is None else weight.array
    y = losses.NLLLoss.apply(x, target=t.array.astype(np.int64), weight=w,
                             ignore_index=ignore_index, reduction=reduction)
    return y.squeeze(0) if input.ndim == 1 and reduction == "none" else y


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax then NLL, with class-index or class-probability targets and smoothing."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.dtype.is_floating_point and target.shape == input.shape:
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    plain = (weight is None and label_smoothing == 0 and reduction == "mean" and input.ndim == 2
             and not (target.array == ignore_index).any())
    if plain:
        _check_target(input, target, ignore_index)
        return losses.CrossEntropy.apply(input, target=target.array.astype(np.int64))
    logp = log_softmax(input, 1 if input.ndim > 1 else 0)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return loss
    # PyTorch's smoothing: mix in the mean over classes of -logp, normalized like the NLL term
    # (Szegedy et al., 2016).
    C = input.shape[1] if input.ndim > 1 else input.shape[0]
    wshape = (1, -1) + (1,) * (input.ndim - 2)
    smooth = -(logp if weight is None else logp * weight.reshape(wshape)).sum(1)
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


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    C = input.shape[1]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / C
    logp = log_softmax(input, 1)
    wshape = (1, -1) + (1,) * (input.ndim - 2)
    prod = logp * target if weight is None else logp * target * weight.reshape(wshape)
    loss = -prod.sum(1)
    if reduction == "mean":
        return loss.sum() / (input.numel() // C)
    return loss.sum() if reduction == "sum" else loss


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    _check_reduction(reduction)
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=2)
    return _reduce((input - target) ** 2, reduction)
