"""VGG (Simonyan & Zisserman, 2014): configurations A, B, D, E = VGG-11, 13, 16, 19."""
from ... import flatten, nn
from ._api import builder

__all__ = ["VGG", "make_layers", "cfgs", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn"]

# the paper's Table 1: output channels of each 3x3 conv, "M" a 2x2 max-pool
cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512,
          512, 512, "M"],
}


def make_layers(cfg, batch_norm=False):
    """The conv stack of one configuration: conv3x3 (+ BatchNorm2d) + ReLU, or max-pool."""
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        layers += [nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else \
            [nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features, a 7x7 adaptive pool, then 25088 -> 4096 -> 4096 -> num_classes.

    Shapes: (N, 3, H, W) with H, W >= 32 -> (N, num_classes).
    """

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))


def _vgg(cfg, batch_norm, **kwargs):
    return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)


@builder
def vgg11(**kwargs):
    """VGG-11 (configuration A)."""
    return _vgg("A", False, **kwargs)


@builder
def vgg11_bn(**kwargs):
    """VGG-11 with batch normalization."""
    return _vgg("A", True, **kwargs)


@builder
def vgg13(**kwargs):
    """VGG-13 (configuration B)."""
    return _vgg("B", False, **kwargs)


@builder
def vgg13_bn(**kwargs):
    """VGG-13 with batch normalization."""
    return _vgg("B", True, **kwargs)


@builder
def vgg16(**kwargs):
    """VGG-16 (configuration D)."""
    return _vgg("D", False, **kwargs)


@builder
def vgg16_bn(**kwargs):
    """VGG-16 with batch normalization."""
    return _vgg("D", True, **kwargs)


@builder
def vgg19(**kwargs):
    """VGG-19 (configuration E)."""
    return _vgg("E", False, **kwargs)


@builder
def vgg19_bn(**kwargs):
    """VGG-19 with batch normalization."""
    return _vgg("E", True, **kwargs)
