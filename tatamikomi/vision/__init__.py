"""torchvision's surface for tatamikomi: `import tatamikomi.vision as torchvision`."""
from . import datasets, models, ops, transforms, utils
