"""Reverse-mode autograd: the Function node, grad mode, the backward walk and gradcheck."""
import threading

import numpy as np

from . import dtypes

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
         "after they have already been freed). Saved intermediate values of the graph are freed "
         "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
         "backward through the graph a second time or if you need to access saved tensors after "
         "calling backward.")


class _Mode(threading.local):
    """Grad mode is per thread, as PyTorch's: every thread starts with recording on."""

    enabled = True


_mode = _Mode()
# Two threads running backward into one model add into the same .grad arrays (Hogwild-style
# training does this on purpose); the check-then-set of a first gradient and the += must not
# interleave, or one thread's gradient is lost.
_accumulate_lock = threading.Lock()


def is_grad_enabled():
    return _mode.enabled


class _GradMode:
    """A context manager (and decorator) that sets grad mode inside, restoring it on exit."""

    def __init__(self, mode):
        self.mode, self.prev = mode, []          # a stack: one object may be entered twice

    def __enter__(self):
        self.prev.append(_mode.enabled)
        _mode.enabled = bool(self.mode)

    def __exit__(self, *exc):
        _mode.enabled = self.prev.pop()

    def __call__(self, fn):
        mode = self.mode

        def wrapper(*args, **kwargs):
            with _GradMode(mode):                    # a fresh context per call: re-entrant
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class no_grad(_GradMode):  # noqa: N801 - PyTorch's public name
    """Disable graph recording: results of ops do not require grad."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):  # noqa: N801
    """Re-enable graph recording inside no_grad."""

    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradMode):  # noqa: N801
    """Set grad mode now (`set_grad_enabled(False)` as a statement), or for a with-block."""

    def __init__(self, mode):
        super().__init__(mode)
        self.before = _mode.enabled               # as PyTorch's: the call itself sets the mode
        _mode.enabled = bool(mode)

    def __enter__(self):
        self.prev.append(self.before)             # the block restores what the call replaced
        _mode.enabled = bool(self.mode)

    def __call__(self, fn):
        _mode.enabled = self.before               # as a decorator, the call changes nothing
        return super().__call__(fn)


class Function:
    """One node of the graph: forward runs now on arrays, backward runs later on arrays.

    The node keeps its input tensors (for the leaves' .grad) and, separately, the nodes that made
    them at the time of the call: an in-place op later gives a tensor a new node, and the
    gradient must still flow to the one this op read.
    """

    versions = ()                                  # what backward checks: see _versions
    keeps = ()           # inputs whose version counts though the node saved something derived

    def __init__(self, *inputs):
        self.inputs = inputs                       # Tensors, or None for an absent bias
        self.parents = tuple(None if t is None else t._node if t._base is None
                             else t._view_node() for t in inputs)
        self.needs_input_grad = tuple(t is not None and t._requires_grad for t in inputs)
        self.saved, self.freed = (), False

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def release(self):
        """Free saved arrays after a backward without retain_graph."""
        if self.saved:
            self.saved, self.versions, self.freed = (), (), True

    def resave(self, old, replace, owner):
        """Saved arrays that are `old` become replace(old), checked at owner's version (if any).

        How an in-place op keeps its node's saved values right after writing into a tensor.
        """
        hit = [i for i, a in enumerate(self.saved) if a is old]
        if not hit:
            return
        self.saved = tuple(replace(a) if i in hit else a for i, a in enumerate(self.saved))
        self.versions = tuple(v for v in self.versions if v[0] not in hit)
        if owner is not None:                    # owner's memory now holds a saved output
            self.versions += tuple((i, owner._vc, owner._vc[0], None) for i in hit)

    def name(self):
        return f"{type(self).__name__}Backward0"

    def label(self):
        """The node as PyTorch's messages name it: MulBackward0 is `Mul`."""
        name = self.name()
        return name[:-len("Backward0")] if name.endswith("Backward0") else \
            f"torch::autograd::{name}"

    @classmethod
    def apply(cls, *inputs, **params):
        node = cls(*inputs)
        out = node.forward(*(None if t is None else t.array for t in inputs), **params)
        tracked = _mode.enabled and any(node.needs_input_grad)
        # Tensor._make, reached through an input: the engine sits below tensor.py and never
        # imports it (tensor.py's import of ops is the core's one cycle).
        src = next(t for t in inputs if t is not None)
        y = src._make(out, requires_grad=tracked, node=node if tracked else None)
        if getattr(node, "is_view", False):
            src._view_into(y, cls, params)
        if not tracked:
            node.inputs = node.parents = node.saved = ()   # keep nothing alive without a graph
        elif node.saved or node.keeps:
            node.versions = _versions(node, y)
        return y

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError


def _versions(node, y):
    """What backward will check: the version of every saved array that is an input's or y's.

    An in-place op bumps its tensor's version counter; if a saved array changed after the save,
    backward would silently use the new values, so PyTorch refuses, and so do we. Each record is
    (saved index, counter, version, owner): owner is the input tensor, or None for y.
    """
    out = [(-1, node.inputs[k]._vc, node.inputs[k]._vc[0], node.inputs[k]) for k in node.keeps]
    for i, a in enumerate(node.saved):
        if a is y.array:
            out.append((i, y._vc, y._vc[0], None))
            continue
        for t in node.inputs:
            if t is not None and a is t.array:
                out.append((i, t._vc, t._vc[0], t))
                break
    return tuple(out)


def _check_versions(node):
    for i, counter, version, owner in node.versions:
        if counter[0] != version:
            # PyTorch names the node a saved output came from, or a saved input's grad_fn now
            maker = node if owner is None else owner.grad_fn
            a = owner.array if i < 0 else node.saved[i]
            made = "" if maker is None else f", which is output 0 of {maker.label()},"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [torch.{dtypes.from_numpy(a.dtype).torch_name}Tensor {list(a.shape)}]{made} is at "
                f"version {counter[0]}; expected version {version} instead. Hint: enable anomaly "
                "detection to find the operation that failed to compute its gradient, with "
                "torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _consumers(root):
    """For each node reachable from root, how many edges of the graph deliver gradient to it."""
    count, stack = {id(root): 0}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent is None:
                continue
            if id(parent) not in count:
                count[id(parent)] = 0
                stack.append(parent)
            count[id(parent)] += 1
    return count


def _accumulate(leaf, g):
    """leaf.grad += g, creating it on the first gradient (thread-safe)."""
    with _accumulate_lock:
        if leaf.grad is None:
            leaf.grad = leaf._make(np.array(g, dtype=leaf.array.dtype, copy=True))
        else:
            leaf.grad.array += g


def backward(root, gradient=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) into every leaf's .grad that requires grad.

    A node runs once every node that consumes its output has handed it a gradient: each node
    counts its consumers first, as PyTorch's engine does, so shared subexpressions get the sum of
    all their gradients before they pass anything on.
    """
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
    waiting = _consumers(root._node)
    grads, ready = {id(root._node): g}, [root._node]
    while ready:
        node = ready.pop()
        gy = grads.pop(id(node), None)
        gins = ()
        if gy is not None:                 # a node nothing flowed into still frees its parents
            if node.freed:
                raise RuntimeError(FREED)
            _check_versions(node)
            gins = node.backward(gy)
            gins = gins if isinstance(gins, tuple) else (gins,)
        for i, (t, parent) in enumerate(zip(node.inputs, node.parents)):
            gi = gins[i] if i < len(gins) else None
            if parent is None:
                if gi is not None and t is not None and t._requires_grad:
                    _accumulate(t, gi)
                continue
            if gi is not None and node.needs_input_grad[i]:
                key = id(parent)
                grads[key] = grads[key] + gi if key in grads else gi
            waiting[id(parent)] -= 1
            if waiting[id(parent)] == 0:
                ready.append(parent)
        if not retain_graph:
            node.release()


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare backward's Jacobian with central finite differences, as torch.autograd.gradcheck.

    Shapes: inputs a tuple of tensors; fn returns one tensor or a tuple of tensors.
    """
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in inputs if getattr(t, "requires_grad", False)]

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
                yk.backward(yk._make(onehot.reshape(yk.shape)))
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
