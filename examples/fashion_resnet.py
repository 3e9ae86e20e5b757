"""A ResNet-10 for Fashion-MNIST: torchvision's ResNet with one BasicBlock per stage.

    python -m tatamikomi train --dataset fashion-mnist --model examples/fashion_resnet.py:ResNet10 \
        --augment --schedule cosine --epochs 3

train repeats the grey channel to the three the stem expects. At 28x28 the stem and max-pool
leave 7x7 maps for the first stage: about a tenth of resnet18's work at 224x224 per image.
"""
from tatamikomi.vision.models.resnet import BasicBlock, ResNet


class ResNet10(ResNet):
    """ResNet(BasicBlock, [1, 1, 1, 1]) with 10 classes: 4.9 M parameters.

    Shapes: (N, 3, 28, 28) -> (N, 10) logits.
    """

    def __init__(self, num_classes=10):
        super().__init__(BasicBlock, [1, 1, 1, 1], num_classes=num_classes)
