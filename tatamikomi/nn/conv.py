"""nn.Conv2d: holds weight and bias, pads for non-zero padding modes, calls F.conv2d."""
import math

from .. import creation
from . import functional as F
from . import init
from ._conv_args import same_padding
from .module import Module, Parameter

PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class Conv2d(Module):
    """2-d convolution layer, as torch.nn.Conv2d.

    Shapes: input (N, C, H, W) or (C, H, W) -> (N, O, OH, OW) or (O, OH, OW).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        # PyTorch validates only these at construction (ValueError, in this order); the rest
        # of the arguments are stored as given and F.conv2d rejects them at forward time.
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
            if padding == "same" and any(s != 1 for s in _pair(stride)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        valid_padding_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_padding_modes:
            raise ValueError(f"padding_mode must be one of {valid_padding_modes}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.dilation, self.groups, self.padding_mode = _pair(dilation), groups, padding_mode
        self.transposed, self.output_padding = False, (0, 0)
        if padding == "same":                       # F.pad order: (left, right, top, bottom)
            t, b, left, right = same_padding(self.kernel_size, self.dilation)
            self._reversed_padding_repeated_twice = [left, right, t, b]
        elif padding == "valid":
            self._reversed_padding_repeated_twice = [0, 0, 0, 0]
        else:                                       # each axis twice, the last axis first
            self._reversed_padding_repeated_twice = tuple(
                p for q in reversed(self.padding) for p in (q, q))
        shape = (out_channels, in_channels // groups) + self.kernel_size
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

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        if self.padding_mode == "zeros":
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        x = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation,
                        self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
