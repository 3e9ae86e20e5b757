"""nn.functional's conv1d and transposed convs, with PyTorch's signatures, checks and messages.

conv1d runs as conv2d with H = 1; conv_transpose1d/2d run as the input gradient of the conv
they transpose (ops/conv.py). `nn.functional` re-exports every name; conv2d lives there.
"""
from ..ops.conv import Conv2d, ConvTranspose2d, IntConv2d
from . import _conv_args


def conv1d(*args, **kwargs):
    """1-d cross-correlation of input with weight, as torch.nn.functional.conv1d.

    Shapes: input (N, C, W) or (C, W), weight (O, C // groups, KW), bias (O,)
    -> (N, O, OW) or (O, OW).
    """
    x, w, b, stride, padding, dilation, groups = _conv_args.parse(args, kwargs, "conv1d")
    sides = None
    if isinstance(padding, str):
        sides = _conv_args.check_string(x, w, stride, padding, dilation, groups, "conv1d")
    spec = _conv_args.check(x, w, b, stride, padding, dilation, groups, sides, "conv1d")
    op = Conv2d if x.dtype.is_floating_point else IntConv2d
    return _unbatched(x, 3, lambda x3: op.apply(x3, w, b, spec=spec))


def conv_transpose1d(*args, **kwargs):
    """1-d transposed convolution, as torch.nn.functional.conv_transpose1d.

    Shapes: input (N, C, W) or (C, W), weight (C, O // groups, KW), bias (O,)
    -> (N, O, OW) or (O, OW), OW = (W - 1)*stride - 2*padding + dilation*(KW - 1) + 1
    + output_padding.
    """
    return _transposed("conv_transpose1d", args, kwargs)


def conv_transpose2d(*args, **kwargs):
    """2-d transposed convolution ("deconvolution"), as torch.nn.functional.conv_transpose2d.

    Shapes: input (N, C, H, W) or (C, H, W), weight (C, O // groups, KH, KW), bias (O,)
    -> (N, O, OH, OW) or (O, OH, OW), per axis out = (in - 1)*stride - 2*padding
    + dilation*(kernel - 1) + 1 + output_padding.
    """
    return _transposed("conv_transpose2d", args, kwargs)


def _transposed(fn, args, kwargs):
    x, w, b, stride, padding, output_padding, groups, dilation = \
        _conv_args.parse_transposed(args, kwargs, fn)
    spec = _conv_args.check_transposed(x, w, b, stride, padding, output_padding, groups,
                                       dilation, fn)
    return _unbatched(x, int(fn[-2]) + 2, lambda xb: ConvTranspose2d.apply(xb, w, b, spec=spec))


def _unbatched(x, batched_ndim, run):
    """run(x) on a batch; an unbatched x as a batch of one, as PyTorch graphs it."""
    if x.ndim == batched_ndim:
        return run(x)
    return run(x.unsqueeze(0)).squeeze(0)


conv1d.__signature__ = _conv_args.SIGNATURE
conv_transpose1d.__signature__ = _conv_args.TRANSPOSED_SIGNATURE
conv_transpose2d.__signature__ = _conv_args.TRANSPOSED_SIGNATURE
