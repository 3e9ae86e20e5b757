"""EfficientNet B0-B7 (Tan & Le, 2019): MBConv blocks with squeeze-and-excitation, scaled in
width and depth together."""
import copy
import math
from functools import partial

from ... import flatten, nn
from ..ops.misc import Conv2dNormActivation, SqueezeExcitation
from ..ops.stochastic_depth import StochasticDepth
from ._api import _init_mobile, _make_divisible, builder

__all__ = ["EfficientNet", "MBConv", "MBConvConfig", "efficientnet_b0", "efficientnet_b1",
           "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
           "efficientnet_b6", "efficientnet_b7"]


class MBConvConfig:
    """One stage of the paper's Table 1, scaled: channels by width_mult (rounded to 8),
    repeats by depth_mult (rounded up)."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 width_mult=1.0, depth_mult=1.0, block=None):
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = self.adjust_depth(num_layers, depth_mult)
        self.block = MBConv if block is None else block

    def __repr__(self):
        return (f"{self.__class__.__name__}(expand_ratio={self.expand_ratio}, "
                f"kernel={self.kernel}, stride={self.stride}, "
                f"input_channels={self.input_channels}, out_channels={self.out_channels}, "
                f"num_layers={self.num_layers}, block={self.block.__name__})")

    @staticmethod
    def adjust_channels(channels, width_mult, min_value=None):
        return _make_divisible(channels * width_mult, 8, min_value)

    @staticmethod
    def adjust_depth(num_layers, depth_mult):
        return int(math.ceil(num_layers * depth_mult))


class MBConv(nn.Module):
    """Expand (1x1, SiLU), depthwise (k x k, SiLU), squeeze-excite, project (1x1); the
    shortcut, when it exists, passes through stochastic depth first."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer, se_layer=SqueezeExcitation):
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers = []
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel,
                                           stride=cnf.stride, groups=expanded,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded, squeeze_channels,
                               activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNet(nn.Module):
    """A 3x3/2 SiLU stem, one Sequential per stage, a 1x1 conv to 4x, pool, dropout, linear.

    The drop probability of block i (of n) is stochastic_depth_prob * i / n.
    Shapes: (N, 3, H, W) -> (N, num_classes).
    """

    def __init__(self, inverted_residual_setting, dropout, stochastic_depth_prob=0.2,
                 num_classes=1000, norm_layer=None, last_channel=None):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, (list, tuple)) and all(
                isinstance(s, MBConvConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        layers = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels,
                                       kernel_size=3, stride=2, norm_layer=norm_layer,
                                       activation_layer=nn.SiLU)]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:            # later blocks of a stage keep the width and the size
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(last_out, num_classes))
        _init_mobile(self, _linear_uniform)

    def _forward_impl(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))

    def forward(self, x):
        return self._forward_impl(x)


def _efficientnet_conf(width_mult, depth_mult):
    """B0's stages (expand, kernel, stride, in, out, repeats), scaled for B1-B7."""
    conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [conf(1, 3, 1, 32, 16, 1), conf(6, 3, 2, 16, 24, 2), conf(6, 5, 2, 24, 40, 2),
            conf(6, 3, 2, 40, 80, 3), conf(6, 5, 1, 80, 112, 3), conf(6, 5, 2, 112, 192, 4),
            conf(6, 3, 1, 192, 320, 1)]


def _efficientnet(width_mult, depth_mult, dropout, kwargs, tf_norm=False):
    if tf_norm:                  # B5-B7's ported weights expect TensorFlow's BN settings
        kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    return EfficientNet(_efficientnet_conf(width_mult, depth_mult),
                        kwargs.pop("dropout", dropout), **kwargs)


@builder
def efficientnet_b0(**kwargs):
    """EfficientNet-B0: width 1.0, depth 1.0, dropout 0.2 (224 px)."""
    return _efficientnet(1.0, 1.0, 0.2, kwargs)


@builder
def efficientnet_b1(**kwargs):
    """EfficientNet-B1: width 1.0, depth 1.1, dropout 0.2 (240 px)."""
    return _efficientnet(1.0, 1.1, 0.2, kwargs)


@builder
def efficientnet_b2(**kwargs):
    """EfficientNet-B2: width 1.1, depth 1.2, dropout 0.3 (288 px)."""
    return _efficientnet(1.1, 1.2, 0.3, kwargs)


@builder
def efficientnet_b3(**kwargs):
    """EfficientNet-B3: width 1.2, depth 1.4, dropout 0.3 (300 px)."""
    return _efficientnet(1.2, 1.4, 0.3, kwargs)


@builder
def efficientnet_b4(**kwargs):
    """EfficientNet-B4: width 1.4, depth 1.8, dropout 0.4 (380 px)."""
    return _efficientnet(1.4, 1.8, 0.4, kwargs)


@builder
def efficientnet_b5(**kwargs):
    """EfficientNet-B5: width 1.6, depth 2.2, dropout 0.4 (456 px)."""
    return _efficientnet(1.6, 2.2, 0.4, kwargs, tf_norm=True)


@builder
def efficientnet_b6(**kwargs):
    """EfficientNet-B6: width 1.8, depth 2.6, dropout 0.5 (528 px)."""
    return _efficientnet(1.8, 2.6, 0.5, kwargs, tf_norm=True)


@builder
def efficientnet_b7(**kwargs):
    """EfficientNet-B7: width 2.0, depth 3.1, dropout 0.5 (600 px)."""
    return _efficientnet(2.0, 3.1, 0.5, kwargs, tf_norm=True)


def _linear_uniform(m):
    """EfficientNet's Linear init: uniform within 1 / sqrt(out_features), bias zero."""
    r = 1.0 / math.sqrt(m.out_features)
    nn.init.uniform_(m.weight, -r, r)
    nn.init.zeros_(m.bias)
