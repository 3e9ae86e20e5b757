"""Instance normalization modules: each sample's channels by their own statistics."""
import warnings

from . import functional as F
from .batchnorm import _NormBase


class _InstanceNorm(_NormBase):
    """Unlike BatchNorm, no affine parameters and no running statistics by default."""

    no_batch_dim = None                         # the input rank without a batch dimension

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def _check_input_dim(self, input):
        ok = (self.no_batch_dim, self.no_batch_dim + 1)
        if input.dim() not in ok:
            raise ValueError(f"expected {ok[0]}D or {ok[1]}D input (got {input.dim()}D input)")

    def _apply(self, input):
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight,
                               self.bias, self.training or not self.track_running_stats,
                               self.momentum if self.momentum is not None else 0.0, self.eps)

    def forward(self, input):
        self._check_input_dim(input)
        dim = input.dim() - self.no_batch_dim
        if input.size(dim) != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={dim} to match num_features "
                                 f"({self.num_features}), but got: {input.size(dim)}.")
            warnings.warn(f"input's size at dim={dim} does not match num_features. You can "
                          "silence this warning by not passing in num_features, which is not "
                          "used because affine=False", stacklevel=2)
        if input.dim() == self.no_batch_dim:
            return self._apply(input.unsqueeze(0)).squeeze(0)
        return self._apply(input)


class InstanceNorm1d(_InstanceNorm):
    """Shapes: (N, C, L) or (C, L) -> same."""

    no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Shapes: (N, C, H, W) or (C, H, W) -> same."""

    no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Shapes: (N, C, D, H, W) or (C, D, H, W) -> same."""

    no_batch_dim = 4
