"""Containers: Sequential and ModuleList."""
from collections import OrderedDict

from .module import Module


class _Listed(Module):
    """Children named "0", "1", ...: len, iteration and append shared by the containers."""

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
        return mods[idx][1]

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
        mods = list(self._modules.values())
        return ModuleList(mods[idx]) if isinstance(idx, slice) else mods[idx]

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self
