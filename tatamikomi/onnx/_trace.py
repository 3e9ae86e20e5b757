"""One forward run recorded op by op: each autograd Function call, its inputs, arguments and
result, so that export can write the same computation as ONNX nodes.

The model runs with grad recording on and its inputs requiring grad, so every op that depends on
an input goes through `Function.apply` and leaves a node. `record()` wraps `Function.apply` for
the duration of the run (export holds a lock: one trace at a time) and keeps, per node, what
the op was given. A tensor's producer is then its node, as autograd sees it, which also holds
after in-place ops (they hand their node to the tensor they overwrite).
"""
import contextlib
import threading

from ..autograd import Function, enable_grad

_lock = threading.Lock()


class Call:
    """One recorded op: its Function class, input tensors, keyword arguments and result."""

    __slots__ = ("cls", "node", "inputs", "parents", "params", "output")

    def __init__(self, cls, node, inputs, parents, params, output):
        self.cls, self.node, self.inputs, self.parents = cls, node, inputs, parents
        self.params, self.output = params, output

    def __repr__(self):
        return f"Call({self.cls.__name__}, {sorted(self.params)})"


@contextlib.contextmanager
def record():
    """`with record() as calls:` every Function.apply inside appends a Call to calls."""
    calls = []
    original = Function.__dict__["apply"]

    def apply(cls, *inputs, **params):
        y = original.__func__(cls, *inputs, **params)
        node = y._node if not isinstance(y, tuple) else None
        if node is not None and type(node) is cls:
            calls.append(Call(cls, node, inputs, node.parents, dict(params), y))
        return y

    with _lock, enable_grad():
        Function.apply = classmethod(apply)
        try:
            yield calls
        finally:
            Function.apply = original
