"""CopySlices: an in-place op on a view, seen from the view's base."""
from ..autograd import Function


def view_of(a, steps):
    """The view `steps` (view ops and their arguments) of array a.

    Shapes: a (base shape) -> (the view's shape), sharing a's memory.
    """
    for op, params in steps:
        a = op.forward(object.__new__(op), a, **params)    # view ops keep nothing they need
    return a


class CopySlices(Function):
    """The base after a write into its view: its gradient splits into the view's part, which
    goes to the in-place result, and the rest, which goes to the base's old value."""

    def forward(self, base, result, *, steps):
        self.steps = steps
        return base                                         # the write already happened

    def backward(self, gy):
        gb = gy.copy()
        region = view_of(gb, self.steps)
        gr = region.copy()
        region[...] = 0
        return gb, gr

    def name(self):
        return "CopySlices"
