"""Output sizes, padding and parameter counts of conv and pooling layers, from one set of rules.

The conv size is ConvSpec's, the pooling size is kernels.pool.out_size (the one the layers
run), and 'same' padding is nn's own split: this module adds no second copy of any of them.
"""
import math

from ..kernels.pool import out_size
from ..kernels.spec import ConvSpec
from ..nn._conv_args import same_padding as _torch_same


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _result(pairs, args):
    """An int when every argument was an int, else a (height, width) tuple."""
    return pairs if any(isinstance(a, (tuple, list)) for a in args) else pairs[0]


def same_padding(kernel_size, dilation=1):
    """PyTorch's padding='same' per side (top, bottom, left, right): the odd one goes last."""
    return _torch_same(_pair(kernel_size), _pair(dilation))


def tf_same_padding(size, kernel_size, stride=1, dilation=1):
    """What TensorFlow's padding='SAME' pads per side (top, bottom, left, right).

    TF makes the output ceil(n / s) long and pads total = max((ceil(n/s) - 1)*s + k_eff - n, 0),
    the extra one on the bottom/right, as PyTorch's 'same' does; unlike PyTorch it allows s > 1.
    """
    sides = []
    for n, k, s, d in zip(_pair(size), _pair(kernel_size), _pair(stride), _pair(dilation)):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        sides += [total // 2, total - total // 2]
    return tuple(sides)


def conv_padding(padding, kernel_size, dilation=1, stride=1):
    """Per-side padding (top, bottom, left, right) for an int, a pair, 'valid' or 'same'."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if any(s != 1 for s in _pair(stride)):
            raise ValueError("padding='same' is not supported for strided convolutions")
        return same_padding(kernel_size, dilation)
    ph, pw = _pair(padding)
    return (ph, ph, pw, pw)


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """floor((n + pads - d*(k-1) - 1) / s) + 1 per axis: an int, or a tuple if any arg is a pair.

    padding may be an int, a pair, 'valid' or 'same' (stride 1 only, as PyTorch).
    """
    (H, W), (KH, KW) = _pair(size), _pair(kernel_size)
    pads = conv_padding(padding, kernel_size, dilation, stride)
    spec = ConvSpec(1, 1, H, W, 1, KH, KW, _pair(stride), pads, _pair(dilation))
    if min(spec.OH, spec.OW) < 1:
        raise ValueError(f"kernel {kernel_size} (dilation {dilation}) is larger than the padded "
                         f"input {size} (padding {padding})")
    return _result((spec.OH, spec.OW), (size, kernel_size, stride, padding, dilation))


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Pooling output size per axis with PyTorch's ceil_mode rule (stride defaults to kernel).

    ceil_mode rounds up, then drops a last window that would start past the input and its left
    padding: it could only cover right padding.
    """
    stride = kernel_size if stride is None else stride
    pairs = tuple(out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(
        _pair(size), _pair(kernel_size), _pair(stride), _pair(padding), _pair(dilation)))
    return _result(pairs, (size, kernel_size, stride, padding, dilation))


def conv_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    """O * (C / groups) * KH * KW weights, plus O biases."""
    KH, KW = _pair(kernel_size)
    return out_channels * (in_channels // groups) * KH * KW + (out_channels if bias else 0)


def effective_kernel(kernel_size, dilation=1):
    """d*(k-1) + 1: the span a dilated kernel covers, per axis."""
    return tuple(d * (k - 1) + 1 for k, d in zip(_pair(kernel_size), _pair(dilation)))
