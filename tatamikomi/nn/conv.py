"""Conv layers: Conv1d/2d, ConvTranspose1d/2d and their lazy forms, as torch.nn's.

Each holds weight and bias and calls its functional form; a conv pads first for the non-zero
padding modes (then convolves with padding 0), as PyTorch does.
"""
import math

from .. import creation
from ..autograd import _mode
from . import _eval_plan, init
from . import functional as F
from ._conv_args import same_padding
from .lazy import LazyModuleMixin
from .module import Module, Parameter
from .parameter import UninitializedParameter

PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _single(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class _ConvNd(Module):
    """What every conv layer shares: PyTorch's construction checks, parameters, init, repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None):
        super().__init__()
        # PyTorch validates only these at construction (ValueError, in this order); the rest
        # of the arguments are stored as given and the functional form rejects them at forward.
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid_padding_strings = {"same", "valid"}
        if isinstance(padding, str):
            if padding not in valid_padding_strings:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{valid_padding_strings}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        valid_padding_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_padding_modes:
            raise ValueError(f"padding_mode must be one of {valid_padding_modes}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.transposed, self.output_padding = dilation, transposed, output_padding
        self.groups, self.padding_mode = groups, padding_mode
        # F.pad's order: the last axis first, (left, right, top, bottom)
        if padding == "same":
            sides = same_padding(kernel_size, dilation)
            pairs = [sides[i:i + 2] for i in range(0, len(sides), 2)]
            self._reversed_padding_repeated_twice = [p for q in reversed(pairs) for p in q]
        elif padding == "valid":
            self._reversed_padding_repeated_twice = [0, 0] * len(kernel_size)
        else:
            self._reversed_padding_repeated_twice = tuple(
                p for q in reversed(padding) for p in (q, q))
        shape = ((in_channels, out_channels // groups) if transposed else
                 (out_channels, in_channels // groups)) + tuple(kernel_size)
        kw = dict(dtype=dtype, device=device)
        self.weight = Parameter(creation.empty(*shape, **kw))
        self.bias = Parameter(creation.empty(out_channels, **kw)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))      # gain * sqrt(3/fan_in) = that
        if self.bias is not None:
            fan_in = self.weight.shape[1:].numel()
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _padded(self, input):  # PyTorch's argument name
        """The input padded by the padding mode, or None for 'zeros' (the conv pads itself)."""
        if self.padding_mode == "zeros":
            return None
        return F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution layer, as torch.nn.Conv1d.

    Shapes: input (N, C, W) or (C, W) -> (N, O, OW) or (O, OW).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, _single(kernel_size), _single(stride),
                         padding if isinstance(padding, str) else _single(padding),
                         _single(dilation), False, (0,), groups, bias, padding_mode, device,
                         dtype)

    def forward(self, input):
        x = self._padded(input)
        if x is None:
            return F.conv1d(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        return F.conv1d(x, self.weight, self.bias, self.stride, (0,), self.dilation,
                        self.groups)


class Conv2d(_ConvNd):
    """2-d convolution layer, as torch.nn.Conv2d.

    Shapes: input (N, C, H, W) or (C, H, W) -> (N, O, OH, OW) or (O, OH, OW).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, _pair(kernel_size), _pair(stride),
                         padding if isinstance(padding, str) else _pair(padding),
                         _pair(dilation), False, (0, 0), groups, bias, padding_mode, device,
                         dtype)

    _eval_conv = True           # runs packed, and fuses what follows, in eval (_eval_plan)

    def forward(self, input):
        if not self.training and not _mode.enabled:     # eval without autograd: packed
            y = _eval_plan.conv_alone(self, input)
            if y is not None:
                return y
        x = self._padded(input)
        if x is None:
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation,
                        self.groups)


class _ConvTransposeNd(_ConvNd):
    """A transposed conv: only zero padding, and output_size= picks the output_padding."""

    def __init__(self, *args, padding_mode, **kwargs):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(*args, padding_mode=padding_mode, **kwargs)

    def _output_padding(self, input, output_size, dims):
        """output_padding, or the one that makes the output output_size (PyTorch's checks and
        messages): each axis can grow by up to stride - 1 past the smallest output."""
        if output_size is None:
            return self.output_padding
        lead = 2 if input.dim() == dims + 2 else 1          # batch and channels, or channels
        if len(output_size) == lead + dims:
            output_size = output_size[lead:]
        if len(output_size) != dims:
            raise ValueError(f"ConvTranspose{dims}D: for {input.dim()}D input, output_size must "
                             f"have {dims} or {lead + dims} elements (got {len(output_size)})")
        lo = [(input.size(d + lead) - 1) * self.stride[d] - 2 * self.padding[d]
              + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(dims)]
        hi = [lo[d] + self.stride[d] - 1 for d in range(dims)]
        for d, size in enumerate(output_size):
            if size < lo[d] or size > hi[d]:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {lo} to {hi} (for an input of "
                                 f"{input.size()[2:]})")
        return [output_size[d] - lo[d] for d in range(dims)]


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution layer, as torch.nn.ConvTranspose1d.

    Shapes: input (N, C, W) or (C, W) -> (N, O, OW) or (O, OW).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, _single(kernel_size), _single(stride),
                         _single(padding), _single(dilation), True, _single(output_padding),
                         groups, bias, padding_mode=padding_mode, device=device, dtype=dtype)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size, 1)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution layer ("deconvolution"), as torch.nn.ConvTranspose2d.

    Shapes: input (N, C, H, W) or (C, H, W) -> (N, O, OH, OW) or (O, OH, OW).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, _pair(kernel_size), _pair(stride),
                         _pair(padding), _pair(dilation), True, _pair(output_padding), groups,
                         bias, padding_mode=padding_mode, device=device, dtype=dtype)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size, 2)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)


class _LazyConvMixin(LazyModuleMixin):
    """in_channels from the first input (input.shape[1], or [0] unbatched), then the weight."""

    dims = 2

    def _lazy_parameters(self, bias, device, dtype):
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        n = self.dims + 1
        if input.dim() not in (n, n + 1):
            raise RuntimeError(f"Expected {n}D (unbatched) or {n + 1}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        self.in_channels = input.shape[1] if input.dim() == n + 1 else input.shape[0]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        io = ((self.in_channels, self.out_channels // self.groups) if self.transposed else
              (self.out_channels, self.in_channels // self.groups))
        self.weight.materialize(io + tuple(self.kernel_size))
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


class LazyConv1d(_LazyConvMixin, Conv1d):
    """A Conv1d whose in_channels is its first input's channels."""

    cls_to_become, dims = Conv1d, 1

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device=device, dtype=dtype)
        self.out_channels = out_channels
        self._lazy_parameters(bias, device, dtype)


class LazyConv2d(_LazyConvMixin, Conv2d):
    """A Conv2d whose in_channels is its first input's channels."""

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device=device, dtype=dtype)
        self.out_channels = out_channels
        self._lazy_parameters(bias, device, dtype)


class LazyConvTranspose1d(_LazyConvMixin, ConvTranspose1d):
    """A ConvTranspose1d whose in_channels is its first input's channels."""

    cls_to_become, dims = ConvTranspose1d, 1

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device=device, dtype=dtype)
        self.out_channels = out_channels
        self._lazy_parameters(bias, device, dtype)


class LazyConvTranspose2d(_LazyConvMixin, ConvTranspose2d):
    """A ConvTranspose2d whose in_channels is its first input's channels."""

    cls_to_become = ConvTranspose2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device=device, dtype=dtype)
        self.out_channels = out_channels
        self._lazy_parameters(bias, device, dtype)
