"""Backend switches, as torch.backends: `tatamikomi.backends.conv.benchmark = True`."""
from . import conv

__all__ = ["conv"]
