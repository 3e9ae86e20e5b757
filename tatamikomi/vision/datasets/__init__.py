"""torchvision.datasets for tatamikomi: the IDX family (MNIST, FashionMNIST, KMNIST, EMNIST),
CIFAR10/100, FakeData and the folder datasets, with torchvision's constructors and layouts."""
from . import utils
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .mnist import (
                    EMNIST,
                    GZIP_RATIO,
                    KMNIST,
                    MIRRORS,
                    MNIST,
                    RAW_MD5S,
                    RAW_SHAPES,
                    RESOURCES,
                    FashionMNIST,
                    read_idx,
)
from .utils import CHECK_MD5, _write_atomic, check_integrity, check_md5
from .vision import StandardTransform, VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "DatasetFolder", "EMNIST", "FakeData", "FashionMNIST",
           "ImageFolder", "KMNIST", "MNIST", "VisionDataset"]
