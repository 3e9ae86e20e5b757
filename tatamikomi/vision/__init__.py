"""torchvision's surface for tatamikomi: `from tatamikomi.vision import datasets, transforms`."""
from . import datasets, transforms
