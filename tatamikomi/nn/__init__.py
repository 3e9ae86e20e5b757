"""tatamikomi.nn: Module, Parameter and the layers, as torch.nn."""
from . import functional, init
from .activation import ReLU
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv2d
from .layers import (
                     AdaptiveAvgPool2d,
                     AvgPool2d,
                     BatchNorm2d,
                     Dropout,
                     Flatten,
                     Identity,
                     Linear,
                     LogSoftmax,
                     MaxPool2d,
                     Sigmoid,
                     Softmax,
                     Tanh,
)
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss",
           "Dropout", "Flatten", "Identity", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d",
           "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ParameterDict",
           "ParameterList", "ReLU", "Sequential", "Sigmoid",
           "Softmax", "Tanh", "functional", "init"]
