"""Padding modules: constant, zero, reflection, replication and circular, 1-d to 3-d.

Each holds a padding tuple (left, right, top, bottom, front, back), two entries per padded
dim from the last dim backwards, and calls F.pad.
"""
from . import functional as F
from .module import Module


def _ntuple(padding, n):
    if isinstance(padding, (tuple, list)):
        return tuple(padding)
    return (padding,) * n


class _PadNd(Module):
    """Shapes: (*, D, H, W) -> (*, D + front + back, H + top + bottom, W + left + right)."""

    dims, mode = 1, "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(padding, 2 * self.dims)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


def _family(base, mode, doc):
    """The 1d, 2d and 3d classes of one padding mode."""
    return [type(f"{base}{n}d", (_PadNd,), {"dims": n, "mode": mode, "__doc__": doc,
                                             "__module__": __name__}) for n in (1, 2, 3)]


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with value."""

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with value."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with value."""

    dims = 3


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros."""

    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros."""

    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros."""

    dims = 3


ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = _family(
    "ReflectionPad", "reflect", "Pad by mirroring the input at its edges (edge not repeated).")
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = _family(
    "ReplicationPad", "replicate", "Pad by repeating the input's edge values.")
CircularPad1d, CircularPad2d, CircularPad3d = _family(
    "CircularPad", "circular", "Pad by wrapping the input around.")
