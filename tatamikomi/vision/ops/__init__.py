"""torchvision.ops as the classification models use it: conv-norm-activation blocks,
squeeze-and-excitation and stochastic depth."""
from .misc import Conv2dNormActivation, SqueezeExcitation
from .stochastic_depth import StochasticDepth, stochastic_depth

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth", "stochastic_depth"]
