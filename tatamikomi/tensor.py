"""Tensor = ndarray + grad + requires_grad + the node that made it; Size."""
import builtins
import collections
import re

import numpy as np

from . import dtypes
from ._parse import dim as _dim
from ._parse import int_tuple, is_int
from ._print import tensor_repr
from ._tensor_draws import Draws
from ._tensor_more import Facts, Hooks
from .autograd import _mode, backward, is_grad_enabled
from .device import check as _check_device
from .device import device as _device

LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
INFERENCE_INPLACE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You "
                     "can make a clone to get a normal tensor before doing inplace update.See "
                     "https://github.com/pytorch/rfcs/pull/17 for more details.")
NUMPY_GRAD = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
_minmax = collections.namedtuple("return_types", ["values", "indices"])


class Size(tuple):
    """A shape: a tuple that prints as `tatamikomi.Size([1, 8, 5, 5])`."""

    def __repr__(self):
        return f"tatamikomi.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, i):
        out = super().__getitem__(i)
        return Size(out) if isinstance(i, slice) else out

    def numel(self):
        return int(np.prod(self, dtype=np.int64))


def _shape_arg(fn, shape, name="shape"):
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) alike, with PyTorch's parser's errors."""
    return int_tuple(fn, name, 1, shape[0] if len(shape) == 1 else list(shape))


def _int_arg(fn, dim, name="dim", pos=2):
    """An optional int argument, as PyTorch's parser checks it."""
    if dim is not None and not is_int(dim):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be int, not "
                        f"{dtypes.type_name(dim)}")
    return dim


def _index(i):
    """A NumPy index from a PyTorch one: tensors become arrays."""
    if isinstance(i, tuple):
        return tuple(_index(j) for j in i)
    if isinstance(i, Tensor):
        return i.array
    if isinstance(i, list):
        return np.asarray([j.item() if isinstance(j, Tensor) else j for j in i])
    return i


class Tensor(Facts, Hooks, Draws):
    """An n-dimensional array that can record the ops applied to it for backward."""

    __array_ufunc__ = None          # make NumPy defer `ndarray * Tensor` to our reflected ops
    __hash__ = object.__hash__
    _slot = 0                       # which output of its node (nodes of custom Functions: many)
    _inf = False                    # made in inference mode (autograd.inference_mode)

    def __init__(self, *args, **kwargs):
        raise TypeError("use tatamikomi.tensor(...) or a factory such as tatamikomi.zeros(...)")

    @staticmethod
    def _make(array, requires_grad=False, node=None):
        """A plain Tensor (never a subclass such as Parameter) around array."""
        t = object.__new__(Tensor)
        t.array = array if isinstance(array, np.ndarray) else np.asarray(array)
        t._requires_grad, t._node, t._grad = requires_grad, node, None
        t._base, t._vc = None, [0]          # a view's base tensor; the version counter views share
        if _mode.inference:
            t._inf = True
        return t

    # ----- views and versions (PyTorch's semantics for in-place ops through views)
    def _view_into(self, y, op, params):
        """Record y, made from self by the view op `op(**params)`, as a view of self's base."""
        if not np.may_share_memory(y.array, self.array):
            return                                          # the op had to copy
        if y._inf or self._inf:     # a view is of its base's kind, inference or normal
            y._inf = self._inf
        y._base = self if self._base is None else self._base
        y._vc, y._seen = self._vc, self._vc[0]
        y._steps = (self._steps if self._base is not None else ()) + ((op, params),)

    def _replay(self, steps):
        """The view `steps` of self, recorded anew (self is a base)."""
        t = self
        for op, params in steps:
            t = op.apply(t, **params)
        return t

    def _view_node(self):
        """A view's node; re-derived from its base when the base was written in place since."""
        if self._seen != self._vc[0]:
            self._seen = self._vc[0]
            if self._base._requires_grad and is_grad_enabled():
                self._node, self._requires_grad = self._base._replay(self._steps)._node, True
        return self._node

    @property
    def _version(self):
        return self._vc[0]

    # ----- properties and conversions
    @property
    def shape(self):
        return Size(self.array.shape)

    def size(self, dim=None):
        if dim is not None and self.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self.shape if dim is None else self.array.shape[_dim(dim, self.ndim)]

    @property
    def ndim(self):
        return self.array.ndim

    def dim(self):
        return self.array.ndim

    def numel(self):
        return int(self.array.size)

    nelement = numel

    @property
    def dtype(self):
        return dtypes.from_numpy(self.array.dtype)

    @property
    def device(self):
        return _device("cpu")

    def is_floating_point(self):
        return self.dtype.is_floating_point

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if self._node is not None and not flag:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if flag and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = builtins.bool(flag)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._inf and not _mode.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside "
                               "InferenceMode is not allowed.")
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, g):
        if g is not None:
            if not isinstance(g, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {dtypes.type_name(g)}")
            if g.dtype != self.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype "
                                   f"'{g.dtype.c_name}' to a tensor with grad_dtype "
                                   f"'{self.dtype.torch_name}'. The gradient must match the "
                                   "tensor's grad_dtype (defaults to the tensor's dtype). You can "
                                   "set the tensor's grad_dtype attribute with a specific dtype, "
                                   "or None to allow any dtype. Set grad_dtype with caution. "
                                   "Diverging the dtypes of a tensor and its gradient may break "
                                   "downstream systems that assume they match.")
            if g.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(g.shape)}' "
                                   f"to a tensor of size '{list(self.shape)}'. Please ensure "
                                   "that the gradient and the tensor are the same size")
        self._grad = g

    @property
    def grad_fn(self):
        return self._node if self._base is None else self._view_node()

    @property
    def data(self):
        return Tensor._make(self.array)

    @data.setter
    def data(self, other):
        self.array = other.array

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted "
                               "to Scalar")
        return self.array.reshape(()).item()

    def tolist(self):
        return self.array.tolist()

    def numpy(self, *, force=False):
        if self.requires_grad and not force:
            raise RuntimeError(NUMPY_GRAD)
        return self.array

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def detach(self):
        t = Tensor._make(self.array)
        t._vc = self._vc                     # shares the version counter, as PyTorch's detach
        return t

    def detach_(self):
        self._node, self._requires_grad = None, False
        return self

    def clone(self, *, memory_format=None):
        return ops.Cast.apply(self, dtype=self.array.dtype, kind="CloneBackward0") \
            if self.requires_grad else \
            Tensor._make(self.array.copy())

    def cpu(self):
        return self

    def to(self, *args, **kwargs):
        """to(dtype), to(device), to(device, dtype), to(other) — only the CPU exists here."""
        dtype = kwargs.get("dtype")
        if dtype is not None and not isinstance(dtype, dtypes.dtype):
            raise dtypes.invalid_arguments("to", (), {"dtype": dtype})
        for a in args + tuple(v for k, v in kwargs.items() if k == "device"):
            if isinstance(a, dtypes.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            else:
                if isinstance(a, str) and not re.fullmatch(r"[a-zA-Z_]+(:(0|[1-9]\d*))?", a):
                    raise RuntimeError(f"Invalid device string: '{a}'")
                _check_device("to", a)                # 'cpu' passes, 'cuda' fails as PyTorch
        copy = kwargs.get("copy", False)
        if dtype is None or dtype == self.dtype:
            return self.clone() if copy else self
        return self.type(dtype)

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        _check_device("cuda", "cuda")                     # PyTorch's CPU build refuses

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:                    # the legacy type name, as PyTorch's x.type()
            return f"tatamikomi.{self.dtype.torch_name}Tensor"
        if isinstance(dtype, str):                       # x.type('torch.DoubleTensor')
            named = {f"{p}.{d.torch_name}Tensor": d for d in dtypes.ALL
                     for p in ("torch", "tatamikomi")}
            if dtype not in named:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = named[dtype]
        if dtype == self.dtype:
            return self
        return ops.Cast.apply(self, dtype=dtype.np)

    def float(self):
        return self.type(dtypes.float32)

    def double(self):
        return self.type(dtypes.float64)

    def long(self):
        return self.type(dtypes.int64)

    def int(self):
        return self.type(dtypes.int32)

    def bool(self):
        return self.type(dtypes.bool)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __index__(self):
        if self.array.size != 1 or self.dtype.is_floating_point or self.dtype == dtypes.bool:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def _scalar(self):
        if self.array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return builtins.bool(self.item())

    def __repr__(self):
        return tensor_repr(self)

    def __format__(self, spec):
        return self.item().__format__(spec) if self.ndim == 0 else repr(self)

    def __reduce__(self):
        return (_rebuild, (self.array, self.requires_grad))

    # ----- shape
    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
            raise NotImplementedError("view(dtype) is not supported")
        flat = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if not all(is_int(s) for s in flat):
            raise dtypes.invalid_arguments("view", shape)
        return ops.reshape(self, tuple(int(s) for s in flat), copy=False)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape(self, *shape):
        return ops.reshape(self, _shape_arg("reshape", shape))

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def permute(self, *dims):
        return ops.permute(self, _shape_arg("permute", dims, "dims"))

    def transpose(self, dim0, dim1):
        return ops.transpose(self, dim0, dim1)

    @property
    def T(self):  # PyTorch's name
        return self.permute(*reversed(range(self.ndim)))

    def t(self):
        return ops.transpose(self, 0, 1, kind="TBackward0") if self.ndim == 2 else self

    def squeeze(self, dim=None):
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return ops.unsqueeze(self, dim)

    def expand(self, *shape):
        return ops.expand(self, _shape_arg("expand", shape, "size"))

    def expand_as(self, other):
        return self.expand(other.shape)

    def contiguous(self, memory_format=None):
        if self.array.flags.c_contiguous:
            return self
        return ops.Contiguous.apply(self)

    def is_contiguous(self, memory_format=None):
        return builtins.bool(self.array.flags.c_contiguous)

    def __getitem__(self, index):
        return ops.getitem(self, _index(index))

    def __setitem__(self, index, value):
        ops.setitem(self, _index(index), value)

    # ----- arithmetic (broadcasting, PyTorch's type promotion)
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return self.neg()

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __lt__(self, other):
        return ops.compare(np.less, self, other)

    def __le__(self, other):
        return ops.compare(np.less_equal, self, other)

    def __gt__(self, other):
        return ops.compare(np.greater, self, other)

    def __ge__(self, other):
        return ops.compare(np.greater_equal, self, other)

    def __eq__(self, other):
        return ops.compare(np.equal, self, other)

    def __ne__(self, other):
        return ops.compare(np.not_equal, self, other)

    def __invert__(self):
        return Tensor._make(~self.array)

    def __and__(self, other):
        return ops.compare(np.logical_and if self.dtype == dtypes.bool else np.bitwise_and,
                           self, other)

    def __or__(self, other):
        return ops.compare(np.logical_or if self.dtype == dtypes.bool else np.bitwise_or,
                           self, other)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def equal(self, other):
        return self.shape == other.shape and builtins.bool((self.array == other.array).all())

    def relu(self):
        return ops.Relu.apply(self)

    def softmax(self, dim, dtype=None):
        x = self if dtype is None else self.type(dtype)
        return ops.loss.Softmax.apply(x, axis=_dim(dim, x.ndim))

    def log_softmax(self, dim, dtype=None):
        x = self if dtype is None else self.type(dtype)
        return ops.loss.LogSoftmax.apply(x, axis=_dim(dim, x.ndim))

    def clamp(self, min=None, max=None):  # PyTorch's names
        return ops.clamp(self, min, max)

    clip = clamp

    # ----- reductions
    def sum(self, dim=None, keepdim=False, dtype=None):
        t = self if dtype is None else self.type(dtype)
        return ops.reduce(ops.Sum, t, dim, keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        t = self if dtype is None else self.type(dtype)
        if not t.dtype.is_floating_point:
            which = "Input" if dtype is None else "Optional"
            raise RuntimeError(f"mean(): could not infer output dtype. {which} dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{t.dtype.torch_name}")
        return ops.reduce(ops.Mean, t, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        return ops.extreme(self, dim, keepdim, largest=True, pair=_minmax)

    def min(self, dim=None, keepdim=False):
        return ops.extreme(self, dim, keepdim, largest=False, pair=_minmax)

    def argmax(self, dim=None, keepdim=False):
        return ops.arg_extreme(self, _int_arg("argmax", dim), keepdim, largest=True)

    def argmin(self, dim=None, keepdim=False):
        return ops.arg_extreme(self, _int_arg("argmin", dim), keepdim, largest=False)

    # ----- in place (PyTorch refuses these on a leaf that requires grad while recording)
    def _check_inplace(self):
        if self._inf and not _mode.inference:
            raise RuntimeError(INFERENCE_INPLACE)
        if not (self._requires_grad and is_grad_enabled()):
            return
        if self._base is None and self._node is None:
            raise RuntimeError(LEAF_INPLACE)
        if self._base is not None and self._base._requires_grad and self._base._node is None:
            raise RuntimeError("a view of " + LEAF_INPLACE)

    def _alias(self):
        """Another handle on self's current value and node: what an in-place op reads."""
        t = Tensor._make(self.array, self._requires_grad, self.grad_fn)
        t._vc = self._vc
        return t

    def _assign(self, result):
        """Write result into self's memory (its views see it), bump the version; when recording,
        self's node becomes result's, and a view's base gets a CopySlices node over the view."""
        if result.dtype.category > self.dtype.category:
            raise RuntimeError(f"result type {result.dtype.torch_name} can't be cast to the "
                               f"desired output type {self.dtype.torch_name}")
        if result.array.shape != self.array.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(result.shape)}")
        node = result._node if result._requires_grad and is_grad_enabled() else None
        if node is not None:        # what the op saved of self's old value must survive the write
            node.resave(self.array, lambda a: a.copy(), None)
        np.copyto(self.array, result.array, casting="unsafe")
        self._bump()
        if node is None:
            return self
        # a saved output is self's value now: keep self's memory and check self's version
        node.resave(result.array, lambda a: self.array, self)
        if self._base is None:
            self._node, self._requires_grad = node, True
            return self
        base = self._base
        base._node = ops.CopySlices.apply(base._alias(), result, steps=self._steps)._node
        base._requires_grad = True
        self._node, self._requires_grad = base._replay(self._steps)._node, True
        self._seen = self._vc[0]
        return self

    def _bump(self):
        self._vc[0] += 1

    def copy_(self, src, non_blocking=False):
        self._check_inplace()
        src = src if isinstance(src, Tensor) else Tensor._make(np.asarray(src))
        if src.requires_grad and is_grad_enabled():
            return self._assign(ops.Cast.apply(src.expand(self.shape), dtype=self.array.dtype))
        np.copyto(self.array, np.broadcast_to(src.array, self.array.shape), casting="unsafe")
        self._bump()
        return self

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace()
        if is_grad_enabled() and (self._requires_grad or getattr(value, "requires_grad", False)):
            # recorded, so that no gradient reaches what was overwritten
            return self._assign(ops.where(np.zeros((), bool), self._alias(), value))
        self.array[...] = value.item() if isinstance(value, Tensor) else value
        self._bump()
        return self

    def add_(self, other, *, alpha=1):
        self._check_inplace()
        return self._assign(self._alias() + (other * alpha if alpha != 1 else other))

    def sub_(self, other, *, alpha=1):
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        self._check_inplace()
        return self._assign(self._alias() * other)

    def div_(self, other):
        self._check_inplace()
        return self._assign(self._alias() / other)

    def clamp_(self, min=None, max=None):
        self._check_inplace()
        return self._assign(self._alias().clamp(min, max))

    def relu_(self):
        self._check_inplace()
        return self._assign(self._alias().relu())

def _rebuild(array, requires_grad):
    return Tensor._make(array, requires_grad=requires_grad)


from . import ops  # noqa: E402 - the one back-edge: ops build Tensors, Tensor methods call ops

# ops may be half-imported here (the package imports it first); its submodules are whole
from .ops import indexing as _indexing  # noqa: E402
from .ops import math as _math  # noqa: E402
from .ops import matmul as _matmul  # noqa: E402
from .ops import shape as _shape  # noqa: E402
from .ops import stats as _stats  # noqa: E402


def _math_methods(name, keeps_int):
    """x.sin() and x.sin_() for one row of ops.math.UNARY."""
    node = _math.NODES[name]

    def method(self):
        if keeps_int is None and not self.dtype.is_floating_point:
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                      f"'{self.dtype.torch_name}'")
        return node.apply(self if keeps_int else ops.as_float(self))

    def inplace(self):
        self._check_inplace()
        return self._assign(method(self._alias()))
    method.__name__, inplace.__name__ = name, name + "_"
    method.__doc__ = f"Element-wise {name}; the derivative is in ops/math.py."
    return method, inplace


for _name, _row in _math.UNARY.items():
    _method, _inplace = _math_methods(_name, _row[3])
    setattr(Tensor, _name, _method)
    setattr(Tensor, _name + "_", _inplace)


# Methods that are the ops' own functions, tensor first: x.gather(1, i) is gather(x, 1, i).
for _fn in (_indexing.gather, _indexing.scatter, _indexing.scatter_add, _indexing.index_select,
            _indexing.masked_fill, _indexing.topk, _indexing.sort, _indexing.argsort,
            _indexing.nonzero, _shape.split, _shape.chunk, _shape.unbind, _shape.narrow,
            _shape.flip, _shape.roll, _shape.repeat, _shape.tile, _shape.repeat_interleave,
            _shape.movedim, _stats.var, _stats.std, _stats.prod, _stats.cumsum, _stats.amax,
            _stats.amin, _stats.norm, _stats.logsumexp, _stats.all, _stats.any,
            _stats.count_nonzero, _matmul.mm, _matmul.bmm, _matmul.mv, _matmul.dot,
            _matmul.outer):
    setattr(Tensor, _fn.__name__, _fn)


def _inplace_of(name):
    def inplace(self, *args, **kwargs):
        self._check_inplace()
        return self._assign(getattr(self._alias(), name)(*args, **kwargs))
    inplace.__name__ = name + "_"
    return inplace


for _name in ("scatter", "scatter_add", "masked_fill"):
    setattr(Tensor, _name + "_", _inplace_of(_name))


def _numpy_names(fn):
    """Accept NumPy's axis= and keepdims= for dim= and keepdim=, as PyTorch does."""
    def method(*args, **kwargs):
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)
    method.__name__, method.__doc__, method.__wrapped__ = fn.__name__, fn.__doc__, fn
    return method


for _name in ("sum", "mean", "argmax", "argmin", "max", "min", "std", "var", "amax", "amin",
              "prod", "cumsum", "softmax", "log_softmax", "squeeze", "unsqueeze", "all", "any",
              "logsumexp", "flatten", "size", "chunk", "split", "unbind", "cat"):
    if hasattr(Tensor, _name):
        setattr(Tensor, _name, _numpy_names(getattr(Tensor, _name)))
