"""Containers: Sequential and ModuleList."""
import operator
from collections import OrderedDict

from ..dtypes import type_name
from .module import Module


class _Listed(Module):
    """Children named "0", "1", ...: indexing, len, iteration, mutation shared by containers."""

    def _key(self, idx):
        n, idx = len(self._modules), operator.index(idx)    # PyTorch's TypeError for 'a', 1.5
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return list(self._modules)[idx % n]

    def __setitem__(self, idx, module):
        key = self._key(idx)
        if not isinstance(module, Module):
            raise TypeError(f"cannot assign '{type_name(module)}' as child module '{key}' "
                            "(torch.nn.Module or None expected)")
        self._modules[key] = module

    def __delitem__(self, idx):
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._key(idx)]
        for k in keys:
            del self._modules[k]
        self._renumber(list(self._modules.values()))

    def _renumber(self, modules):
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type_name(module)} is not a Module subclass")
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)
        return self

    def extend(self, modules):
        if not hasattr(modules, "__iter__"):
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, "
                            f"but got {type_name(modules)}")
        for m in modules:
            self.append(m)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class Sequential(_Listed):
    """Modules applied in order; indexable, sliceable, iterable."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def __getitem__(self, idx):
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return self._modules[self._key(idx)]

    def insert(self, index, module):
        if not -len(self) <= index <= len(self):
            raise IndexError(f"Index out of range: {index}")
        return super().insert(index, module)

    def forward(self, input):  # noqa: A002
        for m in self._modules.values():
            input = m(input)
        return input


class ModuleList(_Listed):
    """A list of modules, registered so their parameters are found."""

    def __init__(self, modules=None):
        super().__init__()
        for m in modules or ():
            self.append(m)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[self._key(idx)]
