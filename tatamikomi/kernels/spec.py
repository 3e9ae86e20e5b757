"""ConvSpec: one convolution's shapes and arguments, normalized and frozen."""
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class ConvSpec:
    """A 2-d convolution problem, batched, NCHW, zero padding already resolved to four sides.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW) -> y (N, O, OH, OW).
    """

    N: int
    C: int
    H: int
    W: int
    O: int
    KH: int
    KW: int
    stride: tuple = (1, 1)            # (sh, sw)
    padding: tuple = (0, 0, 0, 0)     # (top, bottom, left, right): 'same' can be uneven
    dilation: tuple = (1, 1)          # (dh, dw)
    groups: int = 1
    dtype: str = "float32"            # "float32" | "float64"

    @classmethod
    def make(cls, x_shape, w_shape, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
             groups=1, dtype="float32"):
        """Build a spec from array shapes; a 2-tuple padding means (ph, pw) on both sides."""
        N, C, H, W = x_shape
        O, _, KH, KW = w_shape
        if len(padding) == 2:
            padding = (padding[0], padding[0], padding[1], padding[1])
        return cls(N, C, H, W, O, KH, KW, tuple(stride), tuple(padding), tuple(dilation),
                   groups, str(dtype))

    @cached_property                    # kernels ask many times a call; a spec never changes
    def OH(self):
        pt, pb, _, _ = self.padding
        return (self.H + pt + pb - self.dilation[0] * (self.KH - 1) - 1) // self.stride[0] + 1

    @cached_property
    def OW(self):
        _, _, pl, pr = self.padding
        return (self.W + pl + pr - self.dilation[1] * (self.KW - 1) - 1) // self.stride[1] + 1

    @property
    def kernel_size(self):
        return (self.KH, self.KW)

    @cached_property
    def x_shape(self):
        return (self.N, self.C, self.H, self.W)

    @cached_property
    def w_shape(self):
        return (self.O, self.C // self.groups, self.KH, self.KW)

    @cached_property
    def y_shape(self):
        return (self.N, self.O, self.OH, self.OW)

    @cached_property
    def macs(self):
        """Multiply-accumulates of the forward pass (FLOPs = 2 x MACs)."""
        return self.N * self.O * self.OH * self.OW * (self.C // self.groups) * self.KH * self.KW
