"""torchvision.models' classification families, with torchvision's constructors, module names
and state_dict keys: `from tatamikomi.vision import models; models.resnet18(num_classes=10)`.

Builders take weights=None only (no pretrained download); list_models() names them all and
get_model(name, **kwargs) builds one.
"""
# the submodules by name, as torchvision's; `alexnet` and `googlenet` then name the builders
from . import (
               densenet,
               efficientnet,
               mobilenetv2,
               mobilenetv3,
               resnet,
               shufflenetv2,
               squeezenet,
               vgg,
)
from ._api import get_model, get_model_builder, list_models
from ._weights import *  # noqa: F403 - ResNet18_Weights and the rest, get_weight
from .alexnet import AlexNet, alexnet
from .densenet import DenseNet, densenet121, densenet161, densenet169, densenet201
from .efficientnet import (
               EfficientNet,
               efficientnet_b0,
               efficientnet_b1,
               efficientnet_b2,
               efficientnet_b3,
               efficientnet_b4,
               efficientnet_b5,
               efficientnet_b6,
               efficientnet_b7,
)
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from .mobilenetv2 import MobileNetV2, mobilenet_v2
from .mobilenetv3 import MobileNetV3, mobilenet_v3_large, mobilenet_v3_small
from .resnet import (
               ResNet,
               resnet18,
               resnet34,
               resnet50,
               resnet101,
               resnet152,
               resnext50_32x4d,
               resnext101_32x8d,
               resnext101_64x4d,
               wide_resnet50_2,
               wide_resnet101_2,
)
from .shufflenetv2 import (
               ShuffleNetV2,
               shufflenet_v2_x0_5,
               shufflenet_v2_x1_0,
               shufflenet_v2_x1_5,
               shufflenet_v2_x2_0,
)
from .squeezenet import SqueezeNet, squeezenet1_0, squeezenet1_1
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "get_model", "get_model_builder", "list_models",
    "AlexNet", "alexnet", "DenseNet", "densenet121", "densenet161", "densenet169", "densenet201",
    "EfficientNet", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
    "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
    "GoogLeNet", "GoogLeNetOutputs", "googlenet", "MobileNetV2", "mobilenet_v2",
    "MobileNetV3", "mobilenet_v3_large", "mobilenet_v3_small",
    "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
    "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
    "ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0", "SqueezeNet", "squeezenet1_0", "squeezenet1_1",
    "VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
]
