"""Tensor's facts (devices, sizes, strides, new_* factories) and gradient hooks, as mixins.

Kept apart from tensor.py to keep that file readable; nothing here needs ops. Modules above
tensor.py (creation, multiprocessing) are reached by lookup at call time, not imported.
"""
import builtins
import sys
import weakref

from ._parse import dim as _dim


class Facts:
    """What a CPU tensor answers about itself, and x.new_zeros(...) and friends."""

    @property
    def is_cuda(self):
        return False

    def is_inference(self):
        """Whether the tensor was made in inference mode (torch.inference_mode)."""
        return self._inf

    is_xpu = is_mps = is_sparse = is_quantized = is_meta = is_cuda      # only the CPU is here

    def element_size(self):
        return self.array.itemsize

    @property
    def itemsize(self):
        return self.array.itemsize

    @property
    def nbytes(self):
        return self.array.nbytes

    def stride(self, dim=None):
        """Strides in elements, as PyTorch counts them (NumPy counts bytes)."""
        s = tuple(b // self.array.itemsize for b in self.array.strides)
        return s if dim is None else s[_dim(dim, self.ndim)]

    def data_ptr(self):
        return self.array.ctypes.data

    def type_as(self, other):
        return self.type(other.dtype)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return _new("tensor", self, dtype, requires_grad, data)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return _new("zeros", self, dtype, requires_grad, *size)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return _new("ones", self, dtype, requires_grad, *size)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return _new("empty", self, dtype, requires_grad, *size)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return _new("full", self, dtype, requires_grad, size, fill_value)


class Hooks:
    """register_hook, retain_grad, share_memory_ (gradient hooks run in autograd's engine)."""

    def register_hook(self, hook, _last=False):
        """Call hook(grad) when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self.grad_fn
        if node is None:
            self.__dict__.setdefault("_hooks", []).append(hook)
            return _Handle(self._hooks, hook)
        if node.hooks is None:
            node.hooks = []
        node.hooks.append((hook, self._weak(), _last))
        return _Handle(node.hooks, node.hooks[-1])

    def share_memory_(self):
        """Move the data into shared memory, so tensors sent to other processes share it."""
        return above("multiprocessing", "share_")(self)

    def is_shared(self):
        return above("multiprocessing", "is_shared")(self)

    def retain_grad(self):
        """Keep this non-leaf's gradient in .grad after backward, as a leaf's is."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.__dict__.get("_retains"):
            return
        self._retains = True
        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                t.grad = g.detach() if t.grad is None else t.grad + g
        self.register_hook(keep, _last=True)

    @property
    def retains_grad(self):
        return builtins.bool(self.__dict__.get("_retains"))

    def _weak(self):
        """A stand-in the node's hooks can hold without keeping self alive."""
        t = self._make(self.array)
        t._slot = self._slot
        return t


def _new(factory, like, dtype, requires_grad, *args):
    """x.new_zeros(...) and friends: the factory, with x's dtype unless one is given."""
    return above("creation", factory)(*args, dtype=dtype or like.dtype,
                                       requires_grad=requires_grad)


def above(module, name):
    """A name from a module above this one (creation, random), loaded by the time it is used:
    looked up, not imported, so the package keeps its one import cycle."""
    return getattr(sys.modules[f"tatamikomi.{module}"], name)


class _Handle:
    """What register_hook returns: remove() takes the hook off again."""

    def __init__(self, hooks, entry):
        self.hooks, self.entry = hooks, entry

    def remove(self):
        if self.entry in self.hooks:
            self.hooks.remove(self.entry)
