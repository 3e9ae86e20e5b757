"""ShuffleNetV2 (Ma et al., 2018): split channels, convolve half, concatenate, shuffle."""
from ... import cat, nn, transpose
from ._api import builder

__all__ = ["ShuffleNetV2", "InvertedResidual", "channel_shuffle", "shufflenet_v2_x0_5",
           "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


def channel_shuffle(x, groups):
    """Interleave the channels of `groups` groups, so the next split mixes both branches.

    Shapes: (N, C, H, W) -> (N, C, H, W); channel g * (C // groups) + i moves to i * groups + g.
    """
    N, C, H, W = x.size()
    x = x.view(N, groups, C // groups, H, W)
    return transpose(x, 1, 2).contiguous().view(N, -1, H, W)


def depthwise_conv(i, o, kernel_size, stride=1, padding=0, bias=False):
    return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)


class InvertedResidual(nn.Module):
    """The ShuffleNetV2 unit: stride 1 splits the input in two halves, stride 2 feeds both
    branches the whole input (and halves the size)."""

    def __init__(self, inp, oup, stride):
        super().__init__()
        if not (1 <= stride <= 3):
            raise ValueError("illegal stride value")
        self.stride = stride
        branch_features = oup // 2
        if self.stride == 1 and inp != branch_features << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} "
                             "values. If stride == 1 then inp should be equal to oup // 2 << 1.")
        if self.stride > 1:
            self.branch1 = nn.Sequential(
                depthwise_conv(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if self.stride > 1 else branch_features, branch_features,
                      kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True),
            depthwise_conv(branch_features, branch_features, kernel_size=3, stride=self.stride,
                           padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, padding=0,
                      bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = cat((x1, self.branch2(x2)), dim=1)
        else:
            out = cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """conv1 (3x3/2), max-pool, stages 2-4, conv5 (1x1), global mean, fc.

    Shapes: (N, 3, H, W) -> (N, num_classes).
    """

    def __init__(self, stages_repeats, stages_out_channels, num_classes=1000,
                 inverted_residual=InvertedResidual):
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        input_channels, output_channels = 3, self._stage_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for name, repeats, output_channels in zip(("stage2", "stage3", "stage4"), stages_repeats,
                                                  self._stage_out_channels[1:]):
            seq = [inverted_residual(input_channels, output_channels, 2)]
            seq += [inverted_residual(output_channels, output_channels, 1)
                    for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*seq))
            input_channels = output_channels
        output_channels = self._stage_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        self.fc = nn.Linear(output_channels, num_classes)

    def _forward_impl(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))            # global average pool

    def forward(self, x):
        return self._forward_impl(x)


def _shufflenetv2(*args, **kwargs):
    return ShuffleNetV2(*args, **kwargs)


@builder
def shufflenet_v2_x0_5(**kwargs):
    """ShuffleNetV2 with 0.5x output channels."""
    return _shufflenetv2([4, 8, 4], [24, 48, 96, 192, 1024], **kwargs)


@builder
def shufflenet_v2_x1_0(**kwargs):
    """ShuffleNetV2 with 1.0x output channels."""
    return _shufflenetv2([4, 8, 4], [24, 116, 232, 464, 1024], **kwargs)


@builder
def shufflenet_v2_x1_5(**kwargs):
    """ShuffleNetV2 with 1.5x output channels."""
    return _shufflenetv2([4, 8, 4], [24, 176, 352, 704, 1024], **kwargs)


@builder
def shufflenet_v2_x2_0(**kwargs):
    """ShuffleNetV2 with 2.0x output channels."""
    return _shufflenetv2([4, 8, 4], [24, 244, 488, 976, 2048], **kwargs)
