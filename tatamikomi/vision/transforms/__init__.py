"""torchvision.transforms (v1) for tatamikomi: `from tatamikomi.vision import transforms`."""
from . import functional
from .functional import InterpolationMode
from .transforms import (
                         BATCHABLE,
                         CenterCrop,
                         ColorJitter,
                         Compose,
                         Grayscale,
                         Lambda,
                         Normalize,
                         Pad,
                         PILToTensor,
                         RandomCrop,
                         RandomErasing,
                         RandomHorizontalFlip,
                         RandomResizedCrop,
                         RandomRotation,
                         RandomVerticalFlip,
                         Resize,
                         ToPILImage,
                         ToTensor,
                         batch_transform,
)

__all__ = ["CenterCrop", "ColorJitter", "Compose", "Grayscale", "InterpolationMode", "Lambda",
           "Normalize", "PILToTensor", "Pad", "RandomCrop", "RandomErasing",
           "RandomHorizontalFlip", "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip",
           "Resize", "ToPILImage", "ToTensor", "functional"]
