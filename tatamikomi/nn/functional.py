"""tatamikomi.nn.functional: PyTorch's signatures and error messages over our ops."""
import numpy as np

from .. import dtypes, ops
from .._parse import int_tuple
from ..ops import layers as L
from ..ops import pool as P
from ..ops.conv import Conv2d, IntConv2d
from ..ops.matmul import check as check_matmul
from ..random import default_generator
from ..tensor import Tensor, _dim
from . import _conv_args
from ._losses import _tensor  # the losses and softmax live there; re-exported below
from ._losses import cross_entropy, log_softmax, mse_loss, nll_loss, softmax  # noqa: F401

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
    y = L.Dropout.apply(input, p=p, rng=default_generator._engine)
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
