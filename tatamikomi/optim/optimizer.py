"""Optimizer: parameter groups, per-parameter state, zero_grad and state_dict as PyTorch's."""
import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor


# torch.typename(t) names a tensor by its legacy type, e.g. torch.FloatTensor
def _typename(obj):
    """The name torch.typename gives obj, so that our messages read as PyTorch's."""
    if isinstance(obj, Tensor):
        return obj.type()                           # tatamikomi.FloatTensor, as our reprs
    cls = type(obj)
    module = "" if cls.__module__ == "builtins" else cls.__module__ + "."
    return module + cls.__qualname__


def _class_repr(obj):
    """repr(type(obj)), with our tensor classes under the names PyTorch gives its own."""
    if isinstance(obj, Tensor):
        parameter = type(obj).__name__ == "Parameter"
        return f"<class '{'torch.nn.parameter.Parameter' if parameter else 'torch.Tensor'}'>"
    return repr(type(obj))


def _cast(param, value, key=None):
    """Copy value for param's state: tensors take param's dtype, except `step`, kept as saved."""
    if isinstance(value, Tensor):
        if key == "step" or not param.is_floating_point():
            return value
        return value.to(dtype=param.dtype)          # the same tensor when the dtype matches
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value


def _check_lr(lr):
    """PyTorch's checks of an lr argument (a number, or a one-element tensor)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _step_counter():
    """A new per-parameter step count: a float32 0-d tensor, as PyTorch keeps it."""
    return Tensor._make(np.zeros((), np.float32))


def _upgrade_steps(optimizer, **options):
    """After loading an old checkpoint: missing group options take these values, and a `step`
    saved as a Python number becomes the tensor PyTorch now keeps."""
    for group in optimizer.param_groups:
        for name, value in options.items():
            group.setdefault(name, value)
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "step" in state and not isinstance(state["step"], Tensor):
                state["step"] = Tensor._make(np.array(float(state["step"]), np.float32))


def _lerp(start, end, weight):
    """start.lerp_(end, weight) in place, with PyTorch's two formulas: each is exact at its end
    (weight 0 gives start, weight 1 gives end).

    Shapes: start, end (*), the same.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start *= -1
        start += end                                   # end - start, in place
        start *= -(1 - weight)
        start += end                                   # end - (end - start) * (1 - weight)


class Optimizer:
    """Base class: holds param_groups (dicts of 'params' and options) and state[param]."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __getstate__(self):
        # Only what defines the optimizer: a scheduler's step wrapper does not pickle.
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def add_param_group(self, param_group):
        """Add a group: 'params' plus any options; missing options take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {_class_repr(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params, names = list(params), []
        for i, p in enumerate(params):        # named_parameters() gives (name, param) pairs
            if isinstance(p, tuple) and len(p) == 2:
                names.append(p[0])
                params[i] = p[1]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable") and not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        """Drop every gradient (the default), or zero it in place with set_to_none=False."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()              # a zeroed grad is a leaf, as in PyTorch
                    p.grad.array.fill(0)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, p.grad.array, group)
                        p._bump()             # an in-place update, as PyTorch's counts it
        return loss

    def _update(self, p, g, group):
        """Update p.array in place from its gradient array g (a subclass's rule)."""
        raise NotImplementedError

    def state_dict(self):
        """PyTorch's layout: parameters become indices; state values are the live tensors."""
        index, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            # a parameter listed twice in one group takes its last position, as in PyTorch
            index.update({id(p): i for i, p in enumerate(group["params"], start)
                          if id(p) not in index})
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(group["params"])
            groups.append(packed)
        # PyTorch hands out references, not copies: deepcopy it to keep a snapshot.
        state = {index[id(k)] if isinstance(k, Tensor) else k: v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by state_dict() into this optimizer's parameters."""
        saved = deepcopy(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(a["params"]) != len(b["params"]) for a, b in zip(saved, self.param_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        params = dict(zip(chain.from_iterable(g["params"] for g in saved),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in params:
                state[params[k]] = _cast(params[k], v)
            else:
                state[k] = v
        for new, own in zip(saved, self.param_groups):
            new["params"] = own["params"]
            if "param_names" in own and "param_names" not in new:
                new["param_names"] = own["param_names"]
        self.__setstate__({"state": state, "param_groups": saved})

    def __repr__(self):
        s = f"{type(self).__name__} ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            s += "".join(f"    {k}: {group[k]}\n" for k in sorted(group) if k != "params")
        return s + ")"
