"""Pooling as autograd Functions over the kernels in kernels/pool.py."""
from ..autograd import Function
from ..kernels import pool
from ..kernels.pool import out_size  # noqa: F401 - the one output-size rule, for nn.functional
from ..tensor import Tensor


class MaxPool2d(Function):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW), given the kernel's output and winners."""

    def forward(self, x, *, y, winners, geom=None):
        self.winners, self.x_shape = winners, x.shape
        self.geom = geom          # (kernel, stride, padding, dilation, ceil_mode), for tools/
        return y

    def backward(self, gy):
        return pool.max_backward(gy, self.winners, self.x_shape)


def max_pool(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True):
    """Max pooling and, when asked, the flat index of each window's winner.

    Shapes: x (N, C, H, W) -> y (N, C, OH, OW), indices (N, C, OH, OW) int64 or None.
    """
    y, winners = pool.max_forward(x.array, kernel, stride, padding, dilation, ceil_mode)
    geom = (kernel, stride, padding, dilation, ceil_mode)
    idx = Tensor._make(pool.max_indices(winners, x.shape)) if return_indices else None
    return MaxPool2d.apply(x, y=y, winners=winners, geom=geom), idx


class AvgPool2d(Function):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW)."""

    def forward(self, x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor):
        self.args = (kernel, stride, padding, count_include_pad, divisor)
        self.x_shape, self.geom = x.shape, (kernel, stride, padding, (1, 1), ceil_mode)
        return pool.avg_forward(x, kernel, stride, padding, ceil_mode, count_include_pad,
                                divisor)

    def backward(self, gy):
        return pool.avg_backward(gy, self.x_shape, *self.args)


class AdaptiveAvgPool2d(Function):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW)."""

    def forward(self, x, *, output_size):
        self.x_shape, self.output_size = x.shape, output_size
        return pool.adaptive_avg_forward(x, output_size)

    def backward(self, gy):
        return pool.adaptive_avg_backward(gy, self.x_shape)
