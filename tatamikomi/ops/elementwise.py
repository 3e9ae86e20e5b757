"""Element-wise ops with broadcasting: add sub mul div pow relu cast clamp maximum where."""
import numpy as np

from ..autograd import Function
from ..kernels import elementwise as loops


def unbroadcast(g, shape):
    """Sum g over the axes broadcasting added or stretched, so it has `shape` again.

    Shapes: g (broadcast shape) -> (shape).
    """
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def broadcast_shapes(a, b):
    """The broadcast of two shapes, or PyTorch's RuntimeError naming the first bad dimension."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    for i in reversed(range(n)):                     # PyTorch reports the last bad dim
        p, q = a[i], b[i]
        if p != q and p != 1 and q != 1:
            raise RuntimeError(f"The size of tensor a ({p}) must match the size of tensor b ({q}) "
                               f"at non-singleton dimension {i}")
    return tuple(q if p == 1 else p for p, q in zip(a, b))


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b, *, kind="SubBackward0"):
        self.shapes, self.kind = (a.shape, b.shape), kind      # number - tensor is RsubBackward1
        return a - b

    def name(self):
        return self.kind

    def backward(self, gy):
        gb = -unbroadcast(gy, self.shapes[1]) if self.needs_input_grad[1] else None
        return unbroadcast(gy, self.shapes[0]), gb


class Mul(Function):
    # Each gradient needs only the other operand: keep just those (an in-place write to an
    # operand nothing needs must not fail backward's version check, as in PyTorch).
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)
        self.shapes = a.shape, b.shape
        return a * b

    def backward(self, gy):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(gy * b, self.shapes[0]) if need_a else None,
                unbroadcast(gy * a, self.shapes[1]) if need_b else None)


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a if self.needs_input_grad[1] else None, b)
        self.shapes = a.shape, b.shape
        return a / b

    def backward(self, gy):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        ga = gy / b
        return (unbroadcast(ga, self.shapes[0]) if need_a else None,
                unbroadcast(-ga * a / b, self.shapes[1]) if need_b else None)


class Pow(Function):
    def forward(self, a, b, *, kind="PowBackward1"):
        self.kind = kind                # PyTorch: 0 tensor ** number, 1 tensors, 2 number ** tensor
        y = a ** b
        self.save_for_backward(a, b, y if self.needs_input_grad[1] else None)
        return y

    # d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a (PyTorch gives 0 where a == 0 and b >= 0)
    def name(self):
        return self.kind

    def backward(self, gy):
        a, b, y = self.saved
        need_a, need_b = self.needs_input_grad
        ga = unbroadcast(gy * b * a ** (b - 1), a.shape) if need_a else None
        gb = None
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = np.where((a == 0) & (b >= 0), 0, gy * y * np.log(a)).astype(y.dtype)
            gb = unbroadcast(gb, b.shape)
        return ga, gb


class Relu(Function):
    def forward(self, a):
        y = loops.relu(a)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        return loops.relu_backward(gy, self.saved[0])


class Cast(Function):
    """A dtype conversion (or a copy, as clone()); the gradient flows back in the source dtype."""

    def forward(self, a, *, dtype, kind="ToCopyBackward0"):
        self.src, self.kind = a.dtype, kind
        return a.astype(dtype)

    def name(self):
        return self.kind

    def backward(self, gy):
        return gy.astype(self.src)


class Clamp(Function):
    def name(self):
        return "ClampBackward1"

    def forward(self, a, *, lo, hi):
        y = np.clip(a, lo, hi)
        self.save_for_backward((y == a) if lo is None or hi is None else (a >= lo) & (a <= hi))
        return y

    def backward(self, gy):             # a where, not a product: NaN or inf in gy stays out
        return np.where(self.saved[0], gy, np.zeros((), gy.dtype))


class Extremum(Function):
    """maximum / minimum of two tensors. PyTorch's gradient rule: a tie gives each side half,
    the losing side gets 0, and both get all of it where a comparison fails (NaN)."""

    def forward(self, a, b, *, largest):
        self.save_for_backward(a, b)
        self.largest = largest
        return np.maximum(a, b) if largest else np.minimum(a, b)

    def name(self):
        return "MaximumBackward0" if self.largest else "MinimumBackward0"

    def backward(self, gy):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        g = np.where(a == b, gy / 2, gy).astype(gy.dtype, copy=False)
        zero = np.zeros((), gy.dtype)
        a_loses, b_loses = (a < b, a > b) if self.largest else (a > b, a < b)
        return (unbroadcast(np.where(a_loses, zero, g), a.shape) if need_a else None,
                unbroadcast(np.where(b_loses, zero, g), b.shape) if need_b else None)


class Where(Function):
    """cond ? a : b with a fixed boolean condition."""

    def forward(self, a, b, *, cond):
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return np.where(cond, a, b)

    def backward(self, gy):
        zero = np.zeros((), gy.dtype)
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(np.where(self.cond, gy, zero), self.shapes[0]) if need_a else None,
                unbroadcast(np.where(self.cond, zero, gy), self.shapes[1]) if need_b else None)
