"""Activation modules."""
from . import functional as F
from .module import Module


class ReLU(Module):
    """max(0, x) element-wise. Shapes: any -> same."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""
