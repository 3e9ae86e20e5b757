"""Reverse-mode autograd: the Function node, grad mode, the backward walk and gradcheck."""
import threading
import weakref

import numpy as np

from . import dtypes

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
         "after they have already been freed). Saved intermediate values of the graph are freed "
         "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
         "backward through the graph a second time or if you need to access saved tensors after "
         "calling backward.")


class _Mode(threading.local):
    """Grad mode is per thread, as PyTorch's: every thread starts with recording on (and
    inference mode off)."""

    enabled = True
    inference = False


_mode = _Mode()
_several_outputs_made = False     # until a custom Function returns two tensors, no node looks
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


class inference_mode:  # noqa: N801 - PyTorch's public name
    """no_grad, and tensors made inside are inference tensors: autograd never sees them
    (saving one for backward, or writing one in place, outside is an error), as PyTorch's.
    inference_mode(False) turns both off. A context manager and a decorator, bare or called."""

    def __new__(cls, mode=True):
        if mode is None or isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)                          # @inference_mode without parentheses

    def __init__(self, mode=True):
        self.mode, self.prev = bool(mode), []

    def __enter__(self):
        self.prev.append((_mode.enabled, _mode.inference))
        _mode.enabled, _mode.inference = not self.mode, self.mode

    def __exit__(self, *exc):
        _mode.enabled, _mode.inference = self.prev.pop()

    def __call__(self, fn):
        mode = self.mode

        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper

    def clone(self):
        return type(self)(self.mode)


def is_inference_mode_enabled():
    return _mode.inference


INFERENCE_SAVED = ("Inference tensors cannot be saved for backward. Please do not use Tensors "
                   "created in inference mode in computation tracked by autograd. To work around "
                   "this, you can make a clone to get a normal tensor and use it in autograd, or "
                   "use `torch.no_grad()` instead of `torch.inference_mode()`.")


class _Context:
    """What a user's forward/backward may call on ctx (their node), as PyTorch's ctx offers."""

    @property
    def saved_tensors(self):
        if self.freed:
            raise RuntimeError(FREED)
        _check_versions(self)
        return tuple(self.saved)

    def mark_dirty(self, *tensors):
        self.dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def run_custom_backward(self, gy):
        """The user's backward on tensors, its results checked and made arrays again."""
        gys = [gy] if self.outputs == 1 else list(gy)
        like = next(t for t in self.inputs if t is not None)
        gys = [like._make(g) if g is not None else
               like._make(np.zeros(*meta)) if self.materialize_grads else None
               for g, meta in zip(gys, self.out_meta)]
        with _GradMode(False):
            res = type(self).backward(self, *gys)
        res = res if isinstance(res, tuple) else (res,)
        name, n = self.name(), len(self.inputs)
        if len(res) < n or any(r is not None for r in res[n:]):
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(res)})")
        out = []
        for i, (r, t) in enumerate(zip(res, self.inputs)):
            if r is None or t is None:
                if r is not None:
                    raise RuntimeError(f"function {name} returned a gradient different than "
                                       f"None at position {i + 1}, but the corresponding forward "
                                       "input was not a Variable")
                out.append(None)
                continue
            g = np.asarray(r.array, t.array.dtype)
            if g.shape != t.array.shape:
                try:
                    g = _sum_to(g, t.array.shape)
                except ValueError:
                    raise RuntimeError(f"Function {name} returned an invalid gradient at index "
                                       f"{i} - got {list(r.shape)} but expected shape "
                                       f"compatible with {list(t.shape)}") from None
            out.append(g)
        return tuple(out)


class Function(_Context):
    """One node of the graph: forward runs now on arrays, backward runs later on arrays.

    The node keeps its input tensors (for the leaves' .grad) and, separately, the nodes that made
    them at the time of the call: an in-place op later gives a tensor a new node, and the
    gradient must still flow to the one this op read.
    """

    versions = ()                                  # what backward checks: see _versions
    keeps = ()           # inputs whose version counts though the node saved something derived
    slots = None         # which output of each parent an input is, when a parent has several
    outputs = 1
    hooks = None         # gradient hooks of the output (Tensor.register_hook on a non-leaf)
    _custom = False      # a torch.autograd.Function subclass: see _apply_custom below

    def __init__(self, *inputs):
        self.inputs = inputs                       # Tensors, or None for an absent bias
        self.parents = tuple(None if t is None else t._node if t._base is None
                             else t._view_node() for t in inputs)
        self.needs_input_grad = tuple(t is not None and t._requires_grad for t in inputs)
        self.saved, self.freed = (), False
        if _several_outputs_made and any(t is not None and t._slot for t in inputs):
            self.slots = tuple(0 if t is None else t._slot for t in inputs)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self):
        """((node, output index), ...) per input, as PyTorch shows the graph: a leaf that
        requires grad appears as its AccumulateGrad, a constant as (None, 0)."""
        slots = self.slots or (0,) * len(self.parents)
        return tuple((p, k) if p is not None else
                     ((AccumulateGrad.of(t), 0) if t is not None and t._requires_grad
                      else (None, 0)) for t, p, k in zip(self.inputs, self.parents, slots))

    @property
    def metadata(self):
        if "_metadata" not in self.__dict__:
            self._metadata = {}
        return self._metadata

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
        if self._custom:
            return f"{type(self).__name__}Backward"
        return f"{type(self).__name__}Backward0"

    def label(self):
        """The node as PyTorch's messages name it: MulBackward0 is `Mul`."""
        name = self.name()
        return name[:-len("Backward0")] if name.endswith("Backward0") else \
            f"torch::autograd::{name}"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("forward"), staticmethod) or "setup_context" in cls.__dict__:
            cls._custom = True                    # PyTorch's API: forward(ctx, *tensors)

    @classmethod
    def apply(cls, *inputs, **params):
        if cls._custom:
            return _apply_custom(cls, inputs, params)
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


# ----- torch.autograd.Function subclasses: forward and backward on tensors, state on ctx

def _apply_custom(cls, args, kwargs):
    """Run a user's Function: forward on tensors without recording, then one node for it."""
    tensors = [a if hasattr(a, "_make") else None for a in args]
    ctx = object.__new__(cls)
    Function.__init__(ctx, *tensors)
    ctx.dirty, ctx.non_differentiable, ctx.materialize_grads = (), (), True
    with _GradMode(False):
        if "setup_context" in _defined(cls):
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    tracked = _mode.enabled and any(ctx.needs_input_grad)
    made, k = [], 0
    for o in outs:
        if not hasattr(o, "_make"):
            made.append(o)
            continue
        if any(o is t for t in tensors) and not any(o is d for d in ctx.dirty):
            o = o.detach()                         # an input handed back: a new tensor on it
        if tracked and not any(o is n for n in ctx.non_differentiable):
            o._node, o._requires_grad, o._base = ctx, True, None
            if k:
                global _several_outputs_made
                o._slot, _several_outputs_made = k, True
        made.append(o)
        k += 1
    ctx.outputs, ctx.out_meta = max(k, 1), [(o.array.shape, o.array.dtype) for o in made
                                            if hasattr(o, "_make")]
    for d in ctx.dirty:
        d._bump()
    if tracked:
        ctx.versions = tuple((i, t._vc, t._vc[0], t) for i, t in enumerate(ctx.saved)
                             if t is not None)
    else:
        ctx.inputs = ctx.parents = ctx.saved = ()
    return tuple(made) if isinstance(out, tuple) else made[0]


def _defined(cls):
    """Names defined by cls or a base below Function."""
    return {n for c in cls.__mro__ if c is not Function and c is not object for n in vars(c)}


def _sum_to(g, shape):
    """g summed down to shape, if shape broadcasts to g's; else ValueError."""
    if np.broadcast_shapes(shape, g.shape) != g.shape:
        raise ValueError(shape)
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1),
                 keepdims=True).reshape(shape)


def once_differentiable(fn):
    """PyTorch's marker for a backward that is not itself differentiable: ours never is."""
    return fn


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
                if t._inf:
                    raise RuntimeError(INFERENCE_SAVED)
                out.append((i, t._vc, t._vc[0], t))
                break
    return tuple(out)


def _check_versions(node):
    for i, counter, version, owner in node.versions:
        if counter[0] != version:
            # PyTorch names the node a saved output came from, or a saved input's grad_fn now
            maker = node if owner is None else owner.grad_fn
            a = owner.array if i < 0 else getattr(node.saved[i], "array", node.saved[i])
            made = "" if maker is None else f", which is output 0 of {maker.label()},"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [tatamikomi.{dtypes.from_numpy(a.dtype).torch_name}Tensor "
                f"{list(a.shape)}]{made} is at "
                f"version {counter[0]}; expected version {version} instead. Hint: enable anomaly "
                "detection to find the operation that failed to compute its gradient, with "
                "torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _consumers(roots):
    """For each node reachable from roots, how many edges of the graph deliver gradient to it."""
    count, stack = {id(r): 0 for r in roots}, list(roots)
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
    for hook in leaf.__dict__.get("_hooks", ()):
        g = _hooked(hook, leaf, g)
    with _accumulate_lock:
        if leaf.grad is None:
            leaf.grad = leaf._make(np.array(g, dtype=leaf.array.dtype, copy=True))
        else:
            leaf.grad.array += g


def _hooked(hook, t, g):
    """A gradient hook's result, or g when it returns None."""
    out = hook(t._make(g))
    return g if out is None else out.array


def _seed(t, gradient, k=0):
    """The gradient backward starts from at output t, checked as PyTorch checks it."""
    if gradient is None:
        if t.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return np.ones(t.shape, t.array.dtype)
    g = gradient.array if hasattr(gradient, "array") else np.asarray(gradient)
    if g.shape != t.array.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[{k}] has a shape of {type(t.shape)(g.shape)} "
            f"and output[{k}] has a shape of {t.shape}.")
    return g.astype(t.array.dtype, copy=False)


def _add(grads, node, slot, g):
    """Add g to the gradient waiting at node's output slot."""
    key = id(node)
    if node.outputs == 1:
        grads[key] = grads[key] + g if key in grads else g
        return
    slots = grads.setdefault(key, [None] * node.outputs)
    slots[slot] = g if slots[slot] is None else slots[slot] + g


def run_backward(outputs, seeds, retain_graph=False, inputs=None):
    """The engine: propagate seeds from outputs back through the graph.

    With inputs=None, gradients accumulate into the .grad of every leaf reached. With a list of
    tensors, nothing accumulates: the gradient of each is returned (None where none flowed),
    as torch.autograd.grad does. A node runs once every node that consumes its output has
    handed it a gradient: each node counts its consumers first, as PyTorch's engine does, so
    shared subexpressions get the sum of all their gradients before they pass anything on.
    """
    want = None if inputs is None else {id(t): None for t in inputs}
    grads, roots = {}, []
    for t, g in zip(outputs, seeds):
        node = t.grad_fn
        if node is None:
            _deliver(t, g, want)
            continue
        if node not in roots:
            roots.append(node)
        _add(grads, node, t._slot, g)
    nodes = {id(t.grad_fn): t for t in inputs or () if t.grad_fn is not None}
    waiting = _consumers(roots)
    ready = [r for r in roots if waiting[id(r)] == 0]
    while ready:
        node = ready.pop()
        gy = grads.pop(id(node), None)
        gins = ()
        if gy is not None:                 # a node nothing flowed into still frees its parents
            if node.hooks:
                gy = _run_hooks(node, gy)
            if id(node) in nodes:          # autograd.grad asked for this non-leaf's gradient
                want[id(nodes[id(node)])] = gy if node.outputs == 1 else gy[nodes[id(node)]._slot]
            if node.freed:
                raise RuntimeError(FREED)
            _check_versions(node)
            gins = node.backward(gy) if not node._custom else node.run_custom_backward(gy)
            gins = gins if isinstance(gins, tuple) else (gins,)
        slots = node.slots or (0,) * len(node.parents)
        for i, (t, parent) in enumerate(zip(node.inputs, node.parents)):
            gi = gins[i] if i < len(gins) else None
            if parent is None:
                if gi is not None and t is not None and t._requires_grad:
                    _deliver(t, gi, want)
                continue
            if gi is not None and node.needs_input_grad[i]:
                _add(grads, parent, slots[i], gi)
            waiting[id(parent)] -= 1
            if waiting[id(parent)] == 0:
                ready.append(parent)
        if not retain_graph:
            node.release()
    return None if want is None else [want[id(t)] for t in inputs]


def _deliver(leaf, g, want):
    if want is None:
        _accumulate(leaf, g)
    elif id(leaf) in want:
        for hook in leaf.__dict__.get("_hooks", ()):
            g = _hooked(hook, leaf, g)
        want[id(leaf)] = g if want[id(leaf)] is None else want[id(leaf)] + g


def _run_hooks(node, gy):
    """Hooks registered on the node's outputs (non-leaf tensors), in registration order, then
    retain_grad's (PyTorch runs those last, so .grad shows what the other hooks made)."""
    hooks = sorted(node.hooks, key=lambda h: h[2])           # stable: registration order kept
    if node.outputs == 1:
        for hook, t, _ in hooks:
            gy = _hooked(hook, t, gy)
        return gy
    gy = list(gy)
    for hook, t, _ in hooks:
        if gy[t._slot] is not None:
            gy[t._slot] = _hooked(hook, t, gy[t._slot])
    return gy


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's .grad that requires grad.

    torch.autograd.backward (one tensor or several, with their gradients) and Tensor.backward.
    With inputs, only those tensors' .grad receive gradient, as PyTorch's.
    """
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported: "
                                  "tatamikomi's backward works on arrays, not on tensors")
    tensors = [tensors] if hasattr(tensors, "array") else list(tensors)
    grads = grad_tensors if grad_tensors is not None else grad_variables
    grads = [grads] * len(tensors) if grads is None or hasattr(grads, "array") else list(grads)
    for k, t in enumerate(tensors):
        if not t.requires_grad:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not have "
                               "a grad_fn")
    seeds = [_seed(t, g, k) for k, (t, g) in enumerate(zip(tensors, grads))]
    if inputs is None:
        run_backward(tensors, seeds, bool(retain_graph))
        return
    inputs = [inputs] if hasattr(inputs, "array") else list(inputs)
    for t, gi in zip(inputs, run_backward(tensors, seeds, bool(retain_graph), inputs)):
        if gi is not None:
            _accumulate(t, gi)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of outputs with respect to inputs, returned and not accumulated."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported: "
                                  "tatamikomi's backward works on arrays, not on tensors")
    single = hasattr(outputs, "array")
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if hasattr(inputs, "array") else list(inputs)
    if grad_outputs is None or hasattr(grad_outputs, "array"):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for k, t in enumerate(outputs):
        if not t.requires_grad:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not have "
                               "a grad_fn")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds = [_seed(t, g, k) for k, (t, g) in enumerate(zip(outputs, grad_outputs))]
    found = run_backward(outputs, seeds, bool(retain_graph), inputs)
    if not (allow_unused or materialize_grads) and any(g is None for g in found):
        k = next(k for k, g in enumerate(found) if g is None)
        raise RuntimeError(f"The differentiated Tensor at index {k} appears to not have been "
                           "used in the graph. Set allow_unused=True if this is the desired "
                           "behavior.")
    return tuple(None if g is None and not materialize_grads else
                 t._make(np.zeros_like(t.array) if g is None else np.array(g, t.array.dtype))
                 for t, g in zip(inputs, found))


class AccumulateGrad:
    """A leaf as the graph shows it (next_functions): gradient that reaches it is added to
    .grad of `variable`. One per leaf, kept while anything holds it."""

    outputs, parents, next_functions, metadata = 1, (), (), {}

    def __init__(self, variable):
        self.variable = variable

    @classmethod
    def of(cls, leaf):
        node = leaf.__dict__.get("_acc")
        node = node() if node is not None else None
        if node is None:
            node = cls(leaf)
            leaf._acc = weakref.ref(node)
        return node

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


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
