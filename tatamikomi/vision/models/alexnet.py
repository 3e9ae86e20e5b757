"""AlexNet as in Krizhevsky's "One weird trick" (2014): the single-tower 64-192-384-256-256."""
from ... import flatten, nn
from ._api import builder

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """Five convs, three max-pools, a 6x6 adaptive pool and three linears (61,100,840 params).

    Shapes: (N, 3, H, W) with H, W >= 63 -> (N, num_classes).
    """

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))


@builder
def alexnet(**kwargs):
    """AlexNet(**kwargs); PyTorch's default init (no family-specific scheme)."""
    return AlexNet(**kwargs)
