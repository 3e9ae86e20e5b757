"""Matrix product with NumPy's (and PyTorch's) 1-d and batch-broadcast rules."""
import math

import numpy as np

from ..autograd import Function
from .elementwise import unbroadcast


class MatMul(Function):
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad           # each gradient needs the other operand
        self.save_for_backward(a if need_b else None, b if need_a else None)
        self.ndims, self.shapes = (a.ndim, b.ndim), (a.shape, b.shape)
        return np.matmul(a, b)

    def name(self):                     # PyTorch's matmul dispatches by the operands' dims
        return {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0",
                (1, 2): "SqueezeBackward4"}.get(self.ndims, "UnsafeViewBackward0")

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


def check(a, b):
    """PyTorch's error, if any, for matmul of operands of shapes a and b (tuples).

    PyTorch folds the batch of an N-d @ 1-d or 2-d product into rows, so those mismatches
    are reported as matrix-vector or matrix-matrix ones; batched products check broadcasting
    of the batch dims first.
    """
    a, b = tuple(a), tuple(b)
    if not a or not b:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(a)}D and {len(b)}D")
    if len(a) == 1 and len(b) == 1:
        if a != b:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a[0]}] and src "
                               f"[{b[0]}] to have the same number of elements, but got {a[0]} "
                               f"and {b[0]} elements respectively")
        return
    rows = math.prod(a[:-1]) if len(a) > 1 else 1
    if len(b) == 1:
        if a[-1] != b[0]:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{a[-1]}), vec "
                               f"({b[0]})")
        return
    if len(b) == 2 and len(a) != 1 or len(a) == 1 and len(b) == 2:
        if a[-1] != b[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{a[-1]} and "
                               f"{b[0]}x{b[1]})")
        return
    a = (1,) + a if len(a) == 1 else a
    batch = _broadcast(a[:-2], b[:-2])
    if a[-1] != b[-2]:
        n = math.prod(batch)
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{n}, {a[-1]}] but got: [{n}, {b[-2]}].")


def _broadcast(a, b):
    """The broadcast of shapes a and b, with PyTorch's message for a mismatch."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    for i in reversed(range(n)):
        if a[i] != b[i] and 1 not in (a[i], b[i]):
            raise RuntimeError(f"The size of tensor a ({a[i]}) must match the size of tensor b "
                               f"({b[i]}) at non-singleton dimension {i}")
    return tuple(max(x, y) if 0 not in (x, y) else 0 for x, y in zip(a, b))


class Einsum(Function):
    """np.einsum with its gradient: for each operand, the einsum of gy with the others that
    yields that operand's subscripts (axes it alone sums over come back by broadcasting)."""

    def forward(self, *arrays, inputs, output):
        self.subs, self.out = inputs, output
        self.save_for_backward(*arrays)
        return np.asarray(np.einsum(f"{','.join(inputs)}->{output}", *arrays))

    def backward(self, gy):
        grads = []
        for i, (s, a) in enumerate(zip(self.subs, self.saved)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            if len(set(s)) != len(s) or "." in s:
                raise NotImplementedError("einsum backward with a repeated index or '...' in an "
                                          "operand")
            others = [(t, b) for j, (t, b) in enumerate(zip(self.subs, self.saved)) if j != i]
            seen = set(self.out) | {c for t, _ in others for c in t}
            kept = "".join(c for c in s if c in seen)
            g = np.einsum(",".join([self.out] + [t for t, _ in others]) + "->" + kept, gy,
                          *(b for _, b in others))
            if kept != s:                        # an axis only this operand had: broadcast back
                g = np.broadcast_to(np.expand_dims(g, [k for k, c in enumerate(s)
                                                       if c not in kept]), a.shape)
            grads.append(np.ascontiguousarray(g, gy.dtype))
        return tuple(grads)


def einsum(equation, *operands):
    """Einstein summation over the operands' labelled axes, as torch.einsum."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    lhs, _, out = eq.partition("->")
    inputs = lhs.split(",")
    if "->" not in eq:                  # implicit output: the labels used once, in order
        letters = [c for c in lhs if c.isalpha()]
        out = ("..." if "..." in lhs else "") + "".join(sorted(c for c in set(letters)
                                                             if letters.count(c) == 1))
    if len(inputs) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(operands) > len(inputs) else
                           "einsum(): fewer operands were provided than specified in the "
                           "equation")
    return Einsum.apply(*operands, inputs=tuple(inputs), output=out)


def mm(input, mat2):  # PyTorch's names
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix")
    return input @ mat2


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch{1 if input.ndim != 3 else 2} must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, "
                           f"{mat2.shape[1]}].")
    return input @ mat2


def mv(input, vec):
    return input @ vec


def dot(input, tensor):
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                           "tensors")
    return input @ tensor


def outer(input, vec2):
    return input.reshape(-1, 1) * vec2.reshape(1, -1)
