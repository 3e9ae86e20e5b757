"""Reverse-mode autograd: the Function node, grad mode, the backward walk and gradcheck."""
import numpy as np

_grad_enabled = True

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
         "after they have already been freed). Saved intermediate values of the graph are freed "
         "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
         "backward through the graph a second time or if you need to access saved tensors after "
         "calling backward.")


def is_grad_enabled():
    return _grad_enabled


class set_grad_enabled:  # noqa: N801 - PyTorch's public name
    """Context manager (and decorator) that sets grad mode, restoring the old mode on exit."""

    def __init__(self, mode=True):
        self.mode = mode

    def __enter__(self):
        global _grad_enabled
        self.prev, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):         # a fresh context per call: re-entrant
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class no_grad(set_grad_enabled):  # noqa: N801
    """Disable graph recording: results of ops do not require grad."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):  # noqa: N801
    """Re-enable graph recording inside no_grad."""

    def __init__(self):
        super().__init__(True)


class Function:
    """One node of the graph: forward runs now on arrays, backward runs later on arrays."""

    def __init__(self, *inputs):
        self.inputs = inputs                       # Tensors, or None for an absent bias
        self.needs_input_grad = tuple(t is not None and t.requires_grad for t in inputs)
        self.saved, self.freed = (), False

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def release(self):
        """Free saved arrays after a backward without retain_graph."""
        if self.saved:
            self.saved, self.freed = (), True

    def name(self):
        return f"{type(self).__name__}Backward0"

    @classmethod
    def apply(cls, *inputs, **params):
        from .tensor import Tensor
        node = cls(*inputs)
        out = node.forward(*(None if t is None else t.array for t in inputs), **params)
        tracked = _grad_enabled and any(node.needs_input_grad)
        if not tracked:
            node.inputs = node.saved = ()          # keep nothing alive when there is no graph
        return Tensor._make(out, requires_grad=tracked, node=node if tracked else None)

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError


def _topo(root):
    """Nodes reachable from root, each after every node that feeds gradient into it."""
    order, seen, stack = [], {id(root)}, [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        stack.append((node, True))
        for t in node.inputs:
            child = None if t is None else t._node
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append((child, False))
    return order[::-1]


def _accumulate(leaf, g):
    if leaf.grad is None:
        from .tensor import Tensor
        leaf.grad = Tensor._make(np.array(g, dtype=leaf.array.dtype, copy=True))
    else:
        leaf.grad.array += g


def backward(root, gradient=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) into every leaf's .grad that requires grad."""
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn")
    if gradient is None:
        if root.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        g = np.ones(root.shape, root.array.dtype)
    else:
        g = gradient.array if hasattr(gradient, "array") else np.asarray(gradient)
        if g.shape != root.array.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[0] has a shape of {type(root.shape)(g.shape)} "
                f"and output[0] has a shape of {root.shape}.")
        g = g.astype(root.array.dtype, copy=False)
    if root._node is None:
        return _accumulate(root, g)
    grads = {id(root._node): g}
    for node in _topo(root._node):
        gy = grads.pop(id(node), None)
        if gy is None:
            continue
        if node.freed:
            raise RuntimeError(FREED)
        gins = node.backward(gy)
        gins = gins if isinstance(gins, tuple) else (gins,)
        for t, gi in zip(node.inputs, gins):
            if t is None or gi is None or not t.requires_grad:
                continue
            if t._node is None:
                _accumulate(t, gi)
            elif id(t._node) in grads:
                grads[id(t._node)] = grads[id(t._node)] + gi
            else:
                grads[id(t._node)] = gi
        if not retain_graph:
            node.release()


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare backward's Jacobian with central finite differences, as torch.autograd.gradcheck.

    Shapes: inputs a tuple of tensors; fn returns one tensor or a tuple of tensors.
    """
    from .tensor import Tensor
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]

    def outputs():
        out = fn(*inputs)
        return out if isinstance(out, (tuple, list)) else (out,)

    for k, y in enumerate(outputs()):
        for j, x in enumerate(diff):
            numerical = np.zeros((x.numel(), y.numel()))
            flat = x.array.reshape(-1)               # a view: perturb in place
            for i in range(x.numel()):
                old = flat[i]
                flat[i] = old + eps
                hi = outputs()[k].array.astype(np.float64).reshape(-1)
                flat[i] = old - eps
                lo = outputs()[k].array.astype(np.float64).reshape(-1)
                flat[i] = old
                numerical[i] = (hi - lo) / (2 * eps)
            analytical = np.zeros_like(numerical)
            for i in range(y.numel()):
                for t in diff:
                    t.grad = None
                yk = outputs()[k]
                onehot = np.zeros(yk.numel(), yk.array.dtype)
                onehot[i] = 1
                yk.backward(Tensor._make(onehot.reshape(yk.shape)))
                if x.grad is not None:
                    analytical[:, i] = x.grad.array.reshape(-1)
            for t in diff:
                t.grad = None
            if not np.allclose(analytical, numerical, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {k} with respect to input "
                                     f"{j},\nnumerical:{numerical}\nanalytical:{analytical}\n")
    return True


class GradcheckError(RuntimeError):
    """Raised by gradcheck when backward disagrees with finite differences."""
