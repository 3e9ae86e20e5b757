"""Shared by both sides of the torchvision check: parameters made from key names, inputs."""
import zlib

import numpy as np

SMALL = {"alexnet": 64, "googlenet": 64, "squeezenet1_0": 64, "squeezenet1_1": 64}
NAMES = ['alexnet', 'densenet121', 'densenet161', 'densenet169', 'densenet201', 'efficientnet_b0',
         'efficientnet_b1', 'efficientnet_b2', 'efficientnet_b3', 'efficientnet_b4',
         'efficientnet_b5', 'efficientnet_b6', 'efficientnet_b7', 'googlenet', 'mobilenet_v2',
         'mobilenet_v3_large', 'mobilenet_v3_small', 'resnet101', 'resnet152', 'resnet18',
         'resnet34', 'resnet50', 'resnext101_32x8d', 'resnext101_64x4d', 'resnext50_32x4d',
         'shufflenet_v2_x0_5', 'shufflenet_v2_x1_0', 'shufflenet_v2_x1_5', 'shufflenet_v2_x2_0',
         'squeezenet1_0', 'squeezenet1_1', 'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16',
         'vgg16_bn', 'vgg19', 'vgg19_bn', 'wide_resnet101_2', 'wide_resnet50_2']
FORWARD = ['alexnet', 'densenet121', 'efficientnet_b0', 'googlenet', 'mobilenet_v2',
           'mobilenet_v3_large', 'mobilenet_v3_small', 'resnet18', 'resnet50',
           'resnext50_32x4d', 'shufflenet_v2_x1_0', 'squeezenet1_0', 'squeezenet1_1', 'vgg11_bn',
           'wide_resnet50_2', 'densenet161', 'efficientnet_b3']


def value(key, shape):
    """A parameter or buffer from its key alone: the same on every machine."""
    rng = np.random.RandomState(zlib.crc32(key.encode()))
    if key.endswith("num_batches_tracked"):
        return np.array(3)
    if key.endswith("running_var"):
        return rng.uniform(0.5, 1.5, shape)
    n = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    scale = 1.0 / np.sqrt(max(n, 1))
    if key.endswith(("bias", "running_mean")):
        scale = 0.1
    return rng.standard_normal(shape) * scale


def image(size):
    return np.random.RandomState(123).standard_normal((2, 3, size, size))
