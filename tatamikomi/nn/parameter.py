"""Parameter and the placeholders lazy modules hold until their first forward infers a shape."""
from .. import creation
from ..tensor import Tensor
from .module import Parameter

__all__ = ["Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]

UNSHAPED = ("Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")


class _Uninitialized:
    """No shape yet: materialize(shape) gives the tensor memory and its final class."""

    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        self.array = creation.empty(*shape, dtype=dtype or self.dtype).array
        self._vc[0] += 1
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(UNSHAPED)

    def size(self, dim=None):
        raise RuntimeError(UNSHAPED)

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    """A Parameter whose shape the first forward decides."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return Parameter.__new__(cls, creation.empty(0, device=device, dtype=dtype),
                                 requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape the first forward decides."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        t = creation.empty(0, device=device, dtype=dtype, requires_grad=requires_grad)
        t.__class__ = cls
        t.persistent = persistent
        return t

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass


def is_lazy(t):
    return isinstance(t, _Uninitialized)
