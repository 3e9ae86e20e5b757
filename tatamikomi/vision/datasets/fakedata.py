"""FakeData: random images made from the index, the same ones torchvision's FakeData makes."""
from ... import creation, dtypes, random
from ..transforms import ToPILImage
from .vision import VisionDataset


class FakeData(VisionDataset):
    """size random PIL images of image_size (C, H, W) and their random int64 targets.

    Sample i is drawn after manual_seed(i + random_offset), standard normal pixels then the
    target, and the global generator is put back as it was: torch's draws, so the same images.
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size, self.num_classes = size, num_classes
        self.image_size, self.random_offset = image_size, random_offset

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        state = random.get_rng_state()
        random.manual_seed(index + self.random_offset)
        img = creation.randn(*self.image_size)
        target = creation.randint(0, self.num_classes, size=(1,), dtype=dtypes.int64)[0]
        random.set_rng_state(state)
        img = ToPILImage()(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target.item()

    def __len__(self):
        return self.size
