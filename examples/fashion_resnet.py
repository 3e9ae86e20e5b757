"""A ResNet-10 for Fashion-MNIST: torchvision's ResNet with one BasicBlock per stage.

    python -m tatamikomi train --dataset fashion-mnist --model examples/fashion_resnet.py:ResNet10 \
        --augment --schedule cosine --epochs 3

train repeats the grey channel to the three the stem expects. The ImageNet stem (7x7 conv at
stride 2, then a stride-2 max-pool) would leave 7x7 maps for the first stage; on small images
the usual change is a 3x3 stem at stride 1, as here, so the first stage sees 14x14 maps.
"""
from tatamikomi import nn
from tatamikomi.vision.models.resnet import BasicBlock, ResNet


class ResNet10(ResNet):
    """ResNet(BasicBlock, [1, 1, 1, 1]) with a 3x3 stride-1 stem: 4.9 M parameters.

    Shapes: (N, 3, 28, 28) -> (N, 10) logits.
    """

    def __init__(self, num_classes=10):
        super().__init__(BasicBlock, [1, 1, 1, 1], num_classes=num_classes)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
