"""tatamikomi.nn.functional: PyTorch's signatures and error messages over our ops."""
from .. import ops
from ..autograd import is_grad_enabled
from ..ops.conv import Conv2d, IntConv2d
from ..tensor import Tensor
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
    y = ops.matmul(input, weight.t())
    return y if bias is None else y + bias


__all__ = ["conv2d", "pad", "relu", "linear", "Tensor", "is_grad_enabled"]
