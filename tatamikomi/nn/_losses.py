"""nn.functional's softmax family and losses: PyTorch's checks, in its order, then our ops.

Split from functional.py to keep each file readable; `nn.functional` re-exports every name.
"""
import warnings

import numpy as np

from .. import dtypes
from ..dtypes import type_name
from ..ops import loss as losses
from ..ops.elementwise import broadcast_shapes
from ..tensor import Tensor, _dim


def _tensor(fn, name, pos, x, optional=False):
    """PyTorch's TypeError when an argument that must be a Tensor is something else."""
    if not isinstance(x, Tensor) and not (optional and x is None):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type_name(x)}")


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


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    x, axis = _softmax("log_softmax", input, dim, dtype)
    return losses.LogSoftmax.apply(x, axis=axis)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    x, axis = _softmax("softmax", input, dim, dtype)
    return losses.Softmax.apply(x, axis=axis)


def _softmax_dim(x, dim):
    if dim is not None:
        return dim
    return 0 if x.ndim in (0, 1, 3) else 1                # PyTorch's legacy implicit choice


def _legacy(size_average, reduce, reduction):
    """The reduction the deprecated size_average/reduce pair asks for (with PyTorch's warning),
    or reduction when both are None."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    out = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{out}' instead.", stacklevel=3)
    return out


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


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,
             reduce=None, reduction="mean"):
    """Negative log likelihood of the target classes. Shapes: (N, C, *), (N, *) -> ()."""
    reduction = _legacy(size_average, reduce, reduction)
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


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax then NLL, with class-index or class-probability targets and smoothing.

    Shapes: input (N, C, *) or (C,), target (N, *) class indices or input's shape
    probabilities -> () or (N, *) for reduction='none'.
    """
    reduction = _legacy(size_average, reduce, reduction)
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


# ----- regression and binary losses

def _size_warning(input, target):
    if target.size() != input.size():           # a list fails here, as in PyTorch
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def _expanded(input, target):
    """input and target broadcast to one shape (as torch.broadcast_tensors, differentiably)."""
    shape = broadcast_shapes(tuple(input.shape), tuple(target.shape))
    return input.expand(*shape), target.expand(*shape)


def _weighted_reduce(loss, weight, input, reduction):
    """PyTorch's Python path for a weight= on l1_loss/mse_loss/huber_loss."""
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                     "'sum'.")


def _pointwise(fn, kernel, x, t, reduction, **params):
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{x.dtype.torch_name}'")
    return losses.PointwiseLoss.apply(x, t, fn=fn, reduction=reduction, params=params)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean",
             weight=None):
    """Mean (or sum) of squared differences. Shapes: two shapes that broadcast -> ()."""
    _size_warning(input, target)
    reduction = _legacy(size_average, reduce, reduction)
    x, t = _expanded(input, target)             # PyTorch broadcasts before reading reduction
    if weight is not None:
        return _weighted_reduce((x - t) ** 2, weight, input, reduction)
    _check_reduction(reduction)
    return _pointwise("mse", "mse_cpu", x, t, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
            weight=None):
    """Mean (or sum) of absolute differences. Shapes: two shapes that broadcast -> ()."""
    _size_warning(input, target)
    reduction = _legacy(size_average, reduce, reduction)
    x, t = _expanded(input, target)
    if weight is not None:
        return _weighted_reduce((x - t).abs(), weight, input, reduction)
    _check_reduction(reduction)
    return _reduce((x - t).abs(), reduction)    # PyTorch's too is abs, then mean or sum


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    """Quadratic below beta, linear above (Girshick, 2015). Shapes: broadcastable pair -> ()."""
    _size_warning(input, target)
    reduction = _legacy(size_average, reduce, reduction)
    x, t = _expanded(input, target)
    if beta == 0.0:
        return l1_loss(x, t, reduction=reduction)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _pointwise("smooth_l1", "smooth_l1_cpu", x, t, reduction, beta=beta)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic below delta, delta-sloped linear above. Shapes: broadcastable pair -> ()."""
    _size_warning(input, target)
    x, t = _expanded(input, target)
    if weight is not None:
        if weight.size() != input.size():
            raise ValueError("Weights and input must have the same size.")
        loss = huber_loss(x, t, "none", delta) * weight
        if reduction == "mean":                     # PyTorch's: the plain mean, not by weight
            return loss.mean()
        if reduction in ("none", "sum"):
            return _reduce(loss, reduction)
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                         "'sum'.")
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise("huber", "huber_cpu", x, t, reduction, delta=delta)


def _constant(fn, name, t):
    """A weight the loss does not differentiate: PyTorch refuses one that requires grad."""
    if t is None:
        return None
    if t.requires_grad:
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument "
                           f"'{name}'. This input cannot have requires_grad True.")
    return t.array


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)), logs clamped at -100. Shapes: x, t (*) -> ()."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.size() != input.size():
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    if weight is not None:
        _broadcastable_to(weight, tuple(target.shape))
        weight = weight.expand(*broadcast_shapes(tuple(target.shape), tuple(weight.shape)))
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {target.dtype.torch_name} but expected "
                           f"{input.dtype.torch_name}")
    x = input.array
    if not ((x >= 0) & (x <= 1)).all():
        raise RuntimeError("all elements of input should be between 0 and 1")
    if not ((target.array >= 0) & (target.array <= 1)).all():
        raise RuntimeError("all elements of target should be between 0 and 1")
    w = _constant("binary_cross_entropy", "weight", weight)
    return losses.PointwiseLoss.apply(input, target, fn="bce", reduction=reduction,
                                      params={"weight": w})


def _broadcastable_to(t, shape):
    """torch.broadcast_shapes' error when t cannot broadcast with shape."""
    have = tuple(t.shape)
    for i in range(1, len(have) + 1):
        n, m = have[-i], (shape[-i] if i <= len(shape) else 1)
        if n != m and n != 1 and m != 1:
            raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at -{i}! "
                               f"Mismatching argument at index 1 had {t.shape}; but expected "
                               f"shape should be broadcastable to {list(shape)}")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(input), computed from the logits without overflow; pos_weight scales the
    positive term per class. Shapes: x, t (*), weight and pos_weight broadcast to them -> ()."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.size() != input.size():
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if pos_weight is not None:
        broadcast_shapes(tuple(pos_weight.shape), tuple(target.shape))
    if weight is not None:
        broadcast_shapes(tuple(input.shape), tuple(weight.shape))
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"result type {input.dtype.torch_name} can't be cast to the desired "
                           f"output type {target.dtype.torch_name}")
    params = {"weight": _constant("binary_cross_entropy_with_logits", "weight", weight),
              "pos_weight": _constant("binary_cross_entropy_with_logits", "pos_weight",
                                      pos_weight)}
    return losses.PointwiseLoss.apply(input, target, fn="bce_logits", reduction=reduction,
                                      params=params)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean",
           log_target=False):
    """KL(target || exp(input)) pointwise: target * (log target - input), input log-probs.

    Shapes: input, target broadcastable -> () (or their shape for reduction='none').
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    _check_reduction("sum" if reduction == "batchmean" else reduction)
    if not (input.dtype.is_floating_point and target.dtype.is_floating_point):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        out = target.exp() * (target - input)
    else:
        out = _xlogx(target) - target * input
    loss = _reduce(out, "sum" if reduction == "batchmean" else reduction)
    if reduction == "batchmean" and input.dim() != 0:
        loss = loss / input.size(0)
    return loss


def _xlogx(t):
    """t * log(t), 0 where t == 0 (xlogy(t, t)); differentiable where t > 0."""
    if not t.requires_grad:
        a = t.array
        with np.errstate(divide="ignore", invalid="ignore"):
            return Tensor._make(np.where(a == 0, np.zeros((), a.dtype), a * np.log(a)))
    zero = Tensor._make((t.array == 0))
    safe = t.masked_fill(zero, 1.0)
    return t * safe.log()
