"""Utilities with PyTorch's names: `tatamikomi.utils.data`, `tatamikomi.utils.checkpoint`."""
from . import checkpoint, data
