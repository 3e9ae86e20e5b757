"""Matrix product with NumPy's (and PyTorch's) 1-d and batch-broadcast rules."""
import numpy as np

from ..autograd import Function
from .elementwise import unbroadcast


class MatMul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.matmul(a, b)

    # Promote 1-d operands to matrices so one rule serves: ga = gy b^T, gb = a^T gy,
    # then undo the promotion and sum over broadcast batch axes.
    def backward(self, gy):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:                  # a dot product: gy is a scalar
            return gy * b if need_a else None, gy * a if need_b else None
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            gy = np.expand_dims(gy, -2)
        if b.ndim == 1:
            gy = np.expand_dims(gy, -1)
        ga = gb = None
        if need_a:
            ga = unbroadcast(np.matmul(gy, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if need_b:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), gy), b2.shape).reshape(b.shape)
        return ga, gb
