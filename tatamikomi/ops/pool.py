"""Pooling as autograd Functions over the kernels in kernels/pool.py.

Each takes a batch (N, C, H, W) or one map (C, H, W) as one node, as PyTorch's pooling does
(its unbatched graph has no squeeze around the pool); the kernels always see a batch. The
nodes carry PyTorch's names: MaxPool2DWithIndicesBackward0 and the like.
"""
from ..autograd import Function, is_grad_enabled
from ..kernels import pool
from ..kernels.pool import out_size  # noqa: F401 - the one output-size rule, for nn.functional
from ..tensor import Tensor


def _batch(a):
    """One map as a batch of one. Shapes: (C, H, W) -> (1, C, H, W); a batch as it is."""
    return a.reshape((1,) + a.shape) if a.ndim == 3 else a


def _like(y, x):
    """A batch result as x has it: one map when x is. Shapes: (1, C, OH, OW) -> (C, OH, OW)."""
    return y.reshape(y.shape[1:]) if x.ndim == 3 else y


class MaxPool2d(Function):
    """Shapes: x (N, C, H, W) -> y (N, C, OH, OW), given the kernel's output and winners."""

    def forward(self, x, *, y, winners, geom=None):
        self.winners, self.x_shape = winners, x.shape
        self.geom = geom          # (kernel, stride, padding, dilation, ceil_mode), for tools/
        return y

    def backward(self, gy):
        gx = pool.max_backward(_batch(gy), self.winners, _batch_shape(self.x_shape))
        return gx.reshape(self.x_shape)

    def name(self):
        return "MaxPool2DWithIndicesBackward0"


def max_pool(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True):
    """Max pooling and, when asked, the flat index of each window's winner.

    Shapes: x (N, C, H, W) or (C, H, W) -> y (N, C, OH, OW) or (C, OH, OW), indices like y,
    int64, or None.
    """
    x4 = _batch(x.array)
    if not return_indices and not (is_grad_enabled() and x.requires_grad):
        y, _ = pool.max_forward(x4, kernel, stride, padding, dilation, ceil_mode, winners=False)
        return x._make(_like(y, x)), None
    y, winners = pool.max_forward(x4, kernel, stride, padding, dilation, ceil_mode)
    geom = (kernel, stride, padding, dilation, ceil_mode)
    idx = Tensor._make(_like(pool.max_indices(winners, x4.shape), x)) if return_indices else None
    return MaxPool2d.apply(x, y=_like(y, x), winners=winners, geom=geom), idx


class AvgPool2d(Function):
    """Shapes: x (N, C, H, W) or (C, H, W) -> y (N, C, OH, OW) or (C, OH, OW)."""

    def forward(self, x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor):
        self.args = (kernel, stride, padding, count_include_pad, divisor)
        self.x_shape, self.geom = x.shape, (kernel, stride, padding, (1, 1), ceil_mode)
        return _like(pool.avg_forward(_batch(x), kernel, stride, padding, ceil_mode,
                                      count_include_pad, divisor), x)

    def backward(self, gy):
        gx = pool.avg_backward(_batch(gy), _batch_shape(self.x_shape), *self.args)
        return gx.reshape(self.x_shape)

    def name(self):
        return "AvgPool2DBackward0"


class AdaptiveAvgPool2d(Function):
    """Shapes: x (N, C, H, W) or (C, H, W) -> y (N, C, OH, OW) or (C, OH, OW)."""

    def forward(self, x, *, output_size):
        self.x_shape, self.output_size = x.shape, output_size
        return _like(pool.adaptive_avg_forward(_batch(x), output_size), x)

    def backward(self, gy):
        gx = pool.adaptive_avg_backward(_batch(gy), _batch_shape(self.x_shape))
        return gx.reshape(self.x_shape)

    def name(self):
        return "AdaptiveAvgPool2DBackward0"


def _batch_shape(shape):
    return (1,) + tuple(shape) if len(shape) == 3 else tuple(shape)
