"""tatamikomi.nn: Module, Parameter and the layers, as torch.nn."""
from . import functional, init
from .activation import ReLU
from .container import ModuleList, Sequential
from .conv import Conv2d
from .module import Module, Parameter

__all__ = ["Conv2d", "Module", "ModuleList", "Parameter", "ReLU", "Sequential", "functional",
           "init"]
