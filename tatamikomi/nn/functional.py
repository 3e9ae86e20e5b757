"""tatamikomi.nn.functional: PyTorch's signatures and error messages over our ops."""
import math
import warnings

import numpy as np

from .. import dtypes, ops
from ..ops import layers as L
from ..ops.conv import Conv2d, IntConv2d
from ..ops.matmul import check as check_matmul
from ..random import default_generator
from . import _conv_args

# The losses, activations, normalizations, dropouts and resampling live in private modules
# (one screen each); F.* is this one namespace, so each is re-exported here.
from ._activations import (  # noqa: F401
    celu,
    celu_,
    elu,
    elu_,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    selu_,
    silu,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
    threshold_,
)
from ._conv_functional import conv1d, conv_transpose1d, conv_transpose2d  # noqa: F401
from ._losses import (  # noqa: F401
    _tensor,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    log_softmax,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
    softmax,
)
from ._norms import batch_norm, group_norm, instance_norm, layer_norm, normalize  # noqa: F401
from ._pooling import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
)
from ._resample import (  # noqa: F401
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)

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


def pad(input, pad, mode="constant", value=None):  # PyTorch's names
    """Pad the last len(pad) // 2 dims; pad = (left, right, top, bottom, ...) from the last dim.

    Shapes: (..., H, W) -> (..., H + top + bottom, W + left + right) for a 4-element pad.
    """
    pad = tuple(int(p) for p in pad)
    _pad_checks(input, pad, mode, value)
    return ops.Pad.apply(input, pad=pad, mode=mode, value=0.0 if value is None else value)


def relu(input, inplace=False):
    """max(0, x) element-wise."""
    _tensor("relu", "input", 1, input)
    if input.dtype == dtypes.bool:
        raise RuntimeError("Boolean inputs not supported for relu")
    if inplace:
        return input.relu_()
    return ops.Relu.apply(input)


def relu_(input):
    return relu(input, inplace=True)


def linear(input, weight, bias=None):
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
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        _expandable(bias, (rows, weight.shape[0]))
        return linear(input, weight) + bias
    return _addmm(input, weight.t(), bias)


def _addmm(x, wt, b):
    """x @ wt (+ b) with PyTorch's graph: (N, I) inputs go straight to AddmmBackward0 (or
    MmBackward0 without a bias); others are viewed as (rows, I) first and back after."""
    if x.ndim == 2:
        return L.Addmm.apply(b, x, wt) if b is not None else ops.matmul(x, wt)
    lead, out = x.shape[:-1], (wt.shape[1],)
    x2 = ops.reshape(x, (-1, x.shape[-1]),
                     kind="ViewBackward0" if b is not None or x.ndim > 1 else
                     "UnsqueezeBackward0")
    y = L.Addmm.apply(b, x2, wt) if b is not None else ops.matmul(x2, wt)
    kind = "ViewBackward0" if b is not None else \
        "UnsafeViewBackward0" if x.ndim > 2 else "SqueezeBackward4"
    return ops.reshape(y, lead + out, kind=kind)


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


def sigmoid(input):  # PyTorch's is input.sigmoid() too: a list fails there
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def flatten(input, start_dim=0, end_dim=-1):
    _tensor("flatten", "input", 1, input)
    return input.flatten(start_dim, end_dim)


def dropout(input, p=0.5, training=True, inplace=False):
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


# ----- channel-wise and alpha dropout
# PyTorch draws their masks as dropout above does (a bernoulli_(1 - p) fill divided by 1 - p),
# only over fewer elements: one per (sample, channel) for the feature dropouts. So their noise is
# dropout() of ones of the mask's shape: one random draw in the library, dropout's.

ALPHA = 1.7580993408473766          # -scale * alpha of SELU: the value a dropped unit takes


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _noise(x, p, feature):
    """F.dropout's scaled keep-mask (0 or 1 / (1 - p)), per channel when `feature`.

    Shapes: x (N, C, *) -> (N, C, 1, ..) when feature, else x's shape.
    """
    if feature and x.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = tuple(x.shape[:2]) + (1,) * (x.dim() - 2) if feature else tuple(x.shape)
    # RNG: the draw is F.dropout's (ops/layers.py Dropout), kept in step with PyTorch's
    return dropout(x.new_ones(shape), p, True)


def _feature_dropout(x, p, training, inplace):
    _check_p(p)
    if p == 0 or not training or x.numel() == 0:
        return x
    if p == 1:
        return x.mul_(0) if inplace else x * 0
    noise = _noise(x, p, feature=True)
    return x.mul_(noise) if inplace else x * noise


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels with probability p. Shapes: (N, C, L) or (C, L) -> same."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D "
                           f"input. Note that dropout1d exists to provide channel-wise dropout on "
                           f"inputs with 1 spatial dimension, a channel dimension, and an "
                           f"optional batch dimension (i.e. 2D or 3D inputs).")
    if input.dim() == 2:
        return _feature_dropout(input.unsqueeze(0), p, training, inplace).squeeze(0)
    return _feature_dropout(input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels with probability p. Shapes: (N, C, H, W) -> same.

    A 3-D input is read as (N, C, L), with PyTorch's warning, as PyTorch still does.
    """
    _check_p(p)
    if input.dim() not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, H, "
                      "W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels with probability p. Shapes: (N, C, D, H, W) or (C, D, H, W) -> same."""
    _check_p(p)
    if input.dim() not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.dim()}-D input to dropout3d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. 4D or 5D inputs).", stacklevel=2)
    if input.dim() != 5:
        return _feature_dropout(input.unsqueeze(0), p, training, inplace).squeeze(0)
    return _feature_dropout(input, p, training, inplace)


def _alpha_dropout(x, p, training, inplace, feature):
    """Dropped units take SELU's saturation value, then an affine map restores the mean and
    variance (Klambauer et al., 2017): y = a * (x * keep + alpha' * (1 - keep)) + b."""
    _check_p(p)
    if p == 0 or not training or x.numel() == 0:
        return x
    if p == 1:
        return x.mul_(0) if inplace else x * 0
    keep = _noise(x, p, feature) * (1 - p)          # exactly 0 or 1 again
    keep = (keep != 0).type(x.dtype)
    a = 1.0 / math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))
    b = (keep - 1) * (ALPHA * a) + ALPHA * a * p
    noise = keep * a
    return x.mul_(noise).add_(b) if inplace else x * noise + b


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU activations' mean and variance. Shapes: any -> same."""
    _check_p(p)
    _tensor("alpha_dropout", "input", 1, input)
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole channels. Shapes: (N, C, *) -> same."""
    _check_p(p)
    _tensor("feature_alpha_dropout", "input", 1, input)
    return _alpha_dropout(input, p, training, inplace, feature=True)
