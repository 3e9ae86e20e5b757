"""Building blocks of the mobile families: conv + norm + activation, squeeze-and-excitation."""
from ... import nn


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then norm_layer(out_channels), then activation_layer, as one Sequential.

    padding defaults to what keeps the size at stride 1 ((k - 1) // 2 * dilation); bias defaults
    to True only without a norm layer (a norm's shift makes a conv bias redundant).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None):
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                k = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
                d = dilation if isinstance(dilation, (tuple, list)) else (dilation,) * len(k)
                padding = tuple((k[i] - 1) // 2 * d[i] for i in range(len(k)))
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Rescale each channel by a gate computed from its global mean (Hu et al., 2018).

    Shapes: input (N, C, H, W) -> (N, C, H, W); the gate is (N, C, 1, 1).
    """

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.fc1(self.avgpool(input))
        return self.scale_activation(self.fc2(self.activation(scale)))

    def forward(self, input):
        return self._scale(input) * input
