"""Module (registration, traversal, train/eval, state_dict, hooks, repr) and Parameter."""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import dtypes, multiprocessing
from ..autograd import no_grad
from ..device import check as check_device
from ..dtypes import invalid_arguments, type_name
from ..tensor import Size, Tensor
from . import _eval_plan, _hooks

GRAD_DTYPE = "Only Tensors of floating point and complex dtype can require gradients"


def _typename(obj):
    """torch.typename's name for obj: a tensor by its legacy type (tatamikomi.FloatTensor)."""
    return obj.type() if isinstance(obj, Tensor) else type_name(obj)


class Parameter(Tensor):
    """A tensor that a Module registers as one of its parameters (requires grad by default)."""

    def __new__(cls, data=None, requires_grad=True):
        if data is not None and not isinstance(data, Tensor):
            raise AttributeError(f"'{type_name(data)}' object has no attribute 'detach'")
        array = np.empty(0, np.float32) if data is None else data.array
        if requires_grad and array.dtype.kind not in "fc":
            raise RuntimeError(GRAD_DTYPE)
        p = object.__new__(cls)
        p.array, p._node, p.grad = array, None, None      # shares data's memory, as PyTorch
        p._base, p._vc = None, [0] if data is None else data._vc
        p._requires_grad = bool(requires_grad)
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self):
        return (Parameter, (Tensor._make(self.array), self.requires_grad))


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """load_state_dict's result; prints as PyTorch's does when every key matched."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")

    __str__ = __repr__


class _Handle:
    """Removes a registered hook."""

    def __init__(self, hooks, key):
        self.hooks, self.key = hooks, key

    def remove(self):
        self.hooks.pop(self.key, None)


class Module:
    """Base class of every layer: attributes that are Parameters or Modules register themselves."""

    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # ----- registration
    def __setattr__(self, name, value):
        # PyTorch's order: a Parameter, then a name already holding a parameter, a Module, a
        # name holding a child, a name holding a buffer. A value of the same kind replaces the
        # old one in place, so `model.fc = nn.Linear(...)` keeps fc where it was in children()
        # (torchvision's fine-tuning recipes slice children() by position); a name that
        # changes kind leaves its old store and goes last in the new one.
        d = self.__dict__
        if isinstance(value, Parameter):
            if "_parameters" not in d:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._leave(name, "_buffers", "_modules")
            d["_parameters"][name] = value
        elif name in d.get("_parameters", {}):
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            d["_parameters"][name] = None
        elif isinstance(value, Module):
            if "_modules" not in d:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._leave(name, "_parameters", "_buffers")
            d["_modules"][name] = value
        elif name in d.get("_modules", {}):
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (torch.nn.Module or None expected)")
            d["_modules"][name] = None
        elif name in d.get("_buffers", {}):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                "(torch.nn.Buffer, torch.Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _leave(self, name, *stores):
        """Drop name from the other stores (and a plain attribute that would shadow it)."""
        d = self.__dict__
        d.pop(name, None)
        for store in stores:
            d[store].pop(name, None)
        if "_buffers" in stores:
            d.get("_non_persistent", set()).discard(name)

    def __getattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(store)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, {}):
                del self.__dict__[store][name]
                return
        object.__delattr__(self, name)

    def _check_name(self, kind, store, name):
        """PyTorch's checks of a name about to be registered, in its order."""
        if store not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\"")
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in self.__dict__[store]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        self._check_name("parameter", "_parameters", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        self._check_name("buffer", "_buffers", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f"module name can't contain \".\", got: {name}")
        if name == "":
            raise KeyError("module name can't be empty string \"\"")
        self._modules[name] = module

    register_module = add_module

    # ----- traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if self in memo and remove_duplicate:
            return
        memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                           remove_duplicate)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        return (m for _, m in self.named_children())

    def _named(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, t in getattr(m, store).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mp}.{name}" if mp else name), t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ----- modes and conversions
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
            _eval_plan.forget(m)        # train() and eval() drop the eval path's packed weights
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {type_name(requires_grad)}")
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _convert(self, fn):
        """Change every floating parameter and buffer in place, keeping the objects."""
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is not None and t.dtype.is_floating_point:
                        t.array = fn(t).array
                        if t.grad is not None:
                            t.grad.array = fn(t.grad).array
        return self

    def to(self, *args, **kwargs):
        """to(dtype), to(device), to(device, dtype), to(tensor): floating dtypes only."""
        dtype = kwargs.get("dtype")
        if dtype is not None and not isinstance(dtype, dtypes.dtype):
            raise invalid_arguments("to", args, kwargs)
        for a in args + tuple(v for k, v in kwargs.items() if k == "device"):
            if isinstance(a, dtypes.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            elif a is not None:
                check_device("to", a)
        if dtype is None:
            return self
        if not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got "
                            f"desired dtype={dtype}")
        return self._convert(lambda t: t.detach().type(dtype))

    def cuda(self, device=None):
        """Raises as PyTorch's CPU build does: there is no GPU backend."""
        check_device("cuda", "cuda")

    def float(self):
        return self._convert(lambda t: t.detach().float())

    def double(self):
        return self._convert(lambda t: t.detach().double())

    def cpu(self):
        return self

    def type(self, dst_type):
        if isinstance(dst_type, str):                # 'torch.DoubleTensor', as PyTorch names it
            found = [d for d in dtypes.ALL if dst_type in (f"torch.{d.torch_name}Tensor",
                                                           f"tatamikomi.{d.torch_name}Tensor")]
            if not found:
                raise ValueError(f"invalid type: '{dst_type}'")
            dst_type = found[0]
        return self._convert(lambda t: t.detach().type(dst_type))

    # ----- state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        out = OrderedDict() if destination is None else destination
        # no de-duplication here: a module reachable by two names is saved under both
        for mp, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            skip = m.__dict__.get("_non_persistent", set())
            for store in (m._parameters, m._buffers):
                for name, t in store.items():
                    if t is not None and name not in skip:
                        key = f"{mp}.{name}" if mp else name
                        # a lazy module's placeholder is saved as itself, as PyTorch's
                        lazy = hasattr(t, "materialize")
                        out[key] = t if keep_vars or lazy else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self.state_dict(keep_vars=True)
        state_dict = self._fill_unversioned(state_dict, own)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for k, t in own.items():
            if k in state_dict:
                src = state_dict[k]
                if not isinstance(src, Tensor):
                    errors.append(f'While copying the parameter named "{k}", expected '
                                  f"torch.Tensor or Tensor-like object from checkpoint but "
                                  f"received {type(src)}")
                    continue
                if hasattr(t, "materialize") and not hasattr(src, "materialize"):
                    t.materialize(tuple(src.shape))          # a lazy parameter takes the shape
                if tuple(src.shape) != tuple(t.shape):
                    errors.append(f"size mismatch for {k}: copying a param with shape "
                                  f"{_torch_size(src.shape)} from checkpoint, the shape in "
                                  f"current model is {_torch_size(t.shape)}.")
                    continue
                with no_grad():
                    t.copy_(src)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" +
                               "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    def _fill_unversioned(self, state_dict, own):
        """Entries a module's older files lack (its `_added_in` names them by version), filled as
        PyTorch fills them when the file carries no newer version: BatchNorm's
        num_batches_tracked, absent from files written before it existed (old torchvision
        weights), keeps the module's own value instead of failing as a missing key."""
        meta = getattr(state_dict, "_metadata", None) or {}
        filled = None
        for prefix, m in self.named_modules():
            for name, (version, value) in getattr(m, "_added_in", {}).items():
                key = f"{prefix}.{name}" if prefix else name
                written = meta.get(prefix, {}).get("version")
                if key in own and key not in state_dict and (written is None or
                                                             written < version):
                    filled = dict(state_dict) if filled is None else filled
                    filled[key] = value(m)
        return state_dict if filled is None else filled

    # ----- calling
    def _hook(self, store, hook, prepend, kind=False):
        key = object()
        self.__dict__.setdefault(store, OrderedDict())[key] = (hook, kind)
        if prepend:
            self.__dict__[store].move_to_end(key, last=False)
        return _Handle(self.__dict__[store], key)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """hook(module, args, output) (or (module, args, kwargs, output)) after forward."""
        return self._hook("_forward_hooks", hook, prepend, with_kwargs)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) (or (module, args, kwargs)) before forward; may replace args."""
        return self._hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) once the inputs' gradients are computed."""
        return self._hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) when the outputs' gradients arrive; may replace them."""
        return self._hook("_backward_pre_hooks", hook, prepend)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            out = hook(self, args, kwargs) if with_kwargs else hook(self, args)
            if out is None:
                continue
            if with_kwargs:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {out}.")
                args, kwargs = out
            else:
                args = out if isinstance(out, tuple) else (out,)
        bw = None
        hooks = [h for h, _ in self.__dict__.get("_backward_hooks", {}).values()]
        pre = [h for h, _ in self.__dict__.get("_backward_pre_hooks", {}).values()]
        if hooks or pre:
            bw = _hooks.BackwardHook(self, hooks, pre)
            args = bw.setup_input(args)
        try:
            result = self.forward(*args, **kwargs)
        except RuntimeError as e:
            _locate(e, self, args)
            raise
        for hook, with_kwargs in list(self._forward_hooks.values()):
            out = hook(self, args, kwargs, result) if with_kwargs else hook(self, args, result)
            if out is not None:
                result = out
        return result if bw is None else bw.setup_output(result)

    # ----- lookup by dotted name
    def get_submodule(self, target):
        """The module at a dotted path ('layer1.0.conv1'); '' is self."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        p = getattr(mod, name)
        if not isinstance(p, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return p

    def get_buffer(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    def set_submodule(self, target, module, strict=False):
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def share_memory(self):
        """Move parameters, their gradients and buffers into shared memory (Hogwild training:
        worker processes given this module update one set of weights)."""
        return multiprocessing.share_module(self)

    # ----- printing
    def extra_repr(self):
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []       # inner empty lines stay, as PyTorch's
        children = [f"({name}): " + repr(m).replace("\n", "\n  ")
                    for name, m in self._modules.items()]
        if len(lines) == 1 and not children:
            return f"{self._get_name()}({lines[0]})"
        if not lines and not children:
            return f"{self._get_name()}()"
        return self._get_name() + "(\n  " + "\n  ".join(lines + children) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules) |
                      set(self._buffers))


def _locate(e, module, args):
    """Append (or lengthen) a hint line naming the layer a forward failed in, and its input.

    PyTorch's message stays the first line; each enclosing module that re-raises prefixes
    the child's attribute name, so the outermost call leaves the full path ('features.3').
    """
    info = getattr(e, "_tatamikomi_layer", None)
    if info is None:
        shape = list(args[0].shape) if args and isinstance(args[0], Tensor) else None
        info = e._tatamikomi_layer = {"base": str(e), "path": "", "leaf": module,
                                      "inner": module, "shape": shape}
    else:
        name = next((n for n, m in module._modules.items() if m is info["inner"]), None)
        if name is None:
            return
        info["path"] = name + ("." + info["path"] if info["path"] else "")
        info["inner"] = module
    if not info["path"]:
        return
    where = f"Hint: raised in layer '{info['path']}' ({type(info['leaf']).__name__})"
    if info["shape"] is not None:
        where += f", whose input has size {info['shape']}"
    e.args = (info["base"] + "\n" + where,) + e.args[1:]


def _torch_size(shape):
    """Shapes in load_state_dict messages, printed as our Size prints."""
    return repr(Size(shape))
