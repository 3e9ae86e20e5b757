"""Utilities with PyTorch's names: `tatamikomi.utils.data`."""
from . import data
