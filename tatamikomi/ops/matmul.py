"""Matrix product with NumPy's (and PyTorch's) 1-d and batch-broadcast rules."""
import numpy as np

from ..autograd import Function
from .elementwise import unbroadcast


class MatMul(Function):
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad           # each gradient needs the other operand
        self.save_for_backward(a if need_b else None, b if need_a else None)
        self.ndims, self.shapes = (a.ndim, b.ndim), (a.shape, b.shape)
        return np.matmul(a, b)

    # Promote 1-d operands to matrices so one rule serves: ga = gy b^T, gb = a^T gy,
    # then undo the promotion and sum over broadcast batch axes.
    def backward(self, gy):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        (na, nb), (sa, sb) = self.ndims, self.shapes
        if na == 1 and nb == 1:                          # a dot product: gy is a scalar
            return gy * b if need_a else None, gy * a if need_b else None
        sa2 = (1,) + sa if na == 1 else sa               # 1-d operands as matrices
        sb2 = sb + (1,) if nb == 1 else sb
        if na == 1:
            gy = np.expand_dims(gy, -2)
        if nb == 1:
            gy = np.expand_dims(gy, -1)
        ga = gb = None
        if need_a:
            ga = unbroadcast(np.matmul(gy, np.swapaxes(b.reshape(sb2), -1, -2)), sa2)
            ga = ga.reshape(sa)
        if need_b:
            gb = unbroadcast(np.matmul(np.swapaxes(a.reshape(sa2), -1, -2), gy), sb2)
            gb = gb.reshape(sb)
        return ga, gb
