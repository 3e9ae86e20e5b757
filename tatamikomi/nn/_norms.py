"""nn.functional's normalizations: batch, instance, layer and group norm, and normalize.

Split from functional.py to keep each file readable; `nn.functional` re-exports every name.
"""
import math

import numpy as np

from .. import dtypes
from ..ops import layers as L
from ..ops import norm as N
from ._losses import _tensor


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
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
            running_mean._bump()                      # as PyTorch's in-place update does
            running_var._bump()
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


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each sample's channels by their own statistics (PyTorch's recipe: a batch norm
    of the (1, N*C, *) view, the running statistics averaged over the batch afterwards).

    Shapes: input (N, C, *), running_mean/running_var/weight/bias (C,) -> (N, C, *).
    """
    _tensor("instance_norm", "input", 1, input)
    if use_input_stats and math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.shape}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when "
                           "use_input_stats is false")
    n, c = input.shape[:2]

    def repeat(t):
        return None if t is None else t.repeat(n)

    stats = [repeat(t.detach()) if t is not None else None for t in (running_mean, running_var)]
    x = input.contiguous().view(1, n * c, *input.shape[2:])
    y = batch_norm(x, stats[0], stats[1], repeat(weight), repeat(bias), use_input_stats,
                   momentum, eps)
    for t, folded in zip((running_mean, running_var), stats):
        if t is not None and n:
            t.array[...] = folded.array.reshape(n, c).mean(axis=0)
    return y.view(*input.shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last len(normalized_shape) dims of each sample.

    Shapes: input (*, *normalized_shape), weight/bias normalized_shape -> input's shape.
    """
    _tensor("layer_norm", "input", 1, input)
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"layer_norm(): argument 'normalized_shape' (position 2) must be tuple "
                        f"of ints, not {type(normalized_shape).__name__}")
    shape = [int(n) for n in normalized_shape]
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and list(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{shape}")
    k = len(shape)
    if input.ndim < k or list(input.shape[-k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={shape}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"LayerNormKernelImpl\" not implemented for "
                                  f"'{input.dtype.torch_name}'")
    return N.LayerNorm.apply(input, weight, bias, k=k, eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each sample's channels in num_groups groups (Wu & He, 2018).

    Shapes: input (N, C, *), weight/bias (C,) -> (N, C, *).
    """
    _tensor("group_norm", "input", 1, input)
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    size = [input.size(0) * input.size(1) // num_groups, num_groups] + list(input.shape[2:])
    if size[0] * math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{size}")
    C = input.size(1)
    if C % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups="
                           f"{num_groups}")
    # PyTorch's bias message prints the weight's shape ([0] without a weight)
    shown = [0] if weight is None else list(weight.shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != C):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {shown} and input "
                               f"of shape {list(input.shape)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"GroupNormKernelImpl\" not implemented for "
                                  f"'{input.dtype.torch_name}'")
    return N.GroupNorm.apply(input, weight, bias, groups=num_groups, eps=eps)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    _tensor("normalize", "input", 1, input)
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    return input / denom
