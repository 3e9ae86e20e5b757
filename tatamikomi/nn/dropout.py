"""Dropout modules: element-wise, channel-wise (1d/2d/3d) and alpha dropout."""
from . import functional as F
from .module import Module


class _DropoutNd(Module):
    """The probability check and repr every dropout module shares."""

    fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return type(self).fn(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability p while training. Shapes: any -> same."""

    fn = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels while training. Shapes: (N, C, L) or (C, L) -> same."""

    fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels while training. Shapes: (N, C, H, W) -> same."""

    fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels while training. Shapes: (N, C, D, H, W) or (C, D, H, W) -> same."""

    fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU activations' mean and variance. Shapes: any -> same."""

    fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """alpha_dropout of whole channels. Shapes: (N, C, *) -> same."""

    fn = staticmethod(F.feature_alpha_dropout)
