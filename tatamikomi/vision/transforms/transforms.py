"""Image transforms as torchvision's v1 API, on PIL images and tensor images (..., C, H, W).

The random ones live in _random.py and are re-exported here, as torchvision's module has them.
ToTensor, Normalize, RandomCrop and the flips also have `apply_batch`, which maps a whole batch
at once with the same arithmetic (and the same draws) per element; `batch_transform` says
whether a transform can be applied that way.
"""
import numbers
from collections.abc import Sequence

import numpy as np

from ...tensor import Tensor
from . import _draws
from . import functional as F
from ._random import (
    ColorJitter,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    _setup_size,
)
from .functional import InterpolationMode

__all__ = ["CenterCrop", "ColorJitter", "Compose", "Grayscale", "Lambda", "Normalize",
           "PILToTensor",
           "Pad", "RandomCrop", "RandomErasing", "RandomHorizontalFlip", "RandomResizedCrop",
           "RandomRotation", "RandomVerticalFlip", "Resize", "ToPILImage", "ToTensor",
           "batch_transform"]


class Compose:
    """Apply each transform in turn."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def apply_batch(self, images):
        """Each transform on the whole batch. Random ones draw their parameters first, sample
        by sample in the per-sample order (crop, flip, then the next sample's), so the batch
        and the per-sample path consume the generator alike and give the same pixels."""
        params, plan, d = {}, [], _sample_dims(images)
        for t in self.transforms:                 # every sample has the same dims at each step
            if hasattr(t, "n_words"):
                plan.append((t, d, t.n_words(d)))
            d = t.out_dims(d) if hasattr(t, "out_dims") else d
        if plan:
            per_sample = sum(k for _, _, k in plan)
            w = _draws.words(per_sample * len(images)).reshape(len(images), per_sample)
            start = 0
            for t, d, k in plan:
                params[id(t)] = t.from_words(w[:, start:start + k], d)
                start += k
        for t in self.transforms:
            images = t.apply_batch(images, params[id(t)]) if id(t) in params \
                else t.apply_batch(images)
        return images

    def __repr__(self):
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class ToTensor:
    """Convert an (H, W[, C]) uint8 array or PIL image to a float32 (C, H, W) tensor in [0, 1]."""

    def __call__(self, pic):
        return F.to_tensor(pic)

    def apply_batch(self, images):
        """Shapes: images (N, H, W) or (N, H, W, C) array or tensor -> (N, C, H, W)."""
        array = images.array if isinstance(images, Tensor) else np.asarray(images)
        if array.ndim not in (3, 4):
            raise ValueError(f"a batch of images should be 3/4 dimensional. Got {array.ndim} "
                             "dimensions.")
        array = array[:, None] if array.ndim == 3 else array.transpose(0, 3, 1, 2)
        return F._scale(np.ascontiguousarray(array))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize:
    """Normalize each channel: (x - mean) / std. Also takes a batch (N, C, H, W) as it is."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    apply_batch = __call__

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function (per sample only: it has no batch form)."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"


class ToPILImage:
    """A tensor (C, H, W) or ndarray (H, W, C) as a PIL image (see functional.to_pil_image)."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)

    def __repr__(self):
        return f"{type(self).__name__}({'' if self.mode is None else f'mode={self.mode}'})"


class PILToTensor:
    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Resize:
    """Resize to size (h, w), or the smaller edge to size (an int) keeping the aspect ratio."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = F._interp(interpolation)

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, interpolation="
                f"{self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


class CenterCrop:
    def __init__(self, size):
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def __call__(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


class Pad:
    def __init__(self, padding, fill=0, padding_mode="constant"):
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate padding arg")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        if padding_mode not in ["constant", "edge", "reflect", "symmetric"]:
            raise ValueError("Padding mode should be either constant, edge, reflect or "
                             "symmetric")
        if isinstance(padding, Sequence) and len(padding) not in [1, 2, 4]:
            raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class Grayscale:
    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self):
        return f"{type(self).__name__}(num_output_channels={self.num_output_channels})"


BATCHABLE = (ToTensor, Normalize)
RANDOM_BATCHABLE = (RandomCrop, RandomHorizontalFlip, RandomVerticalFlip)


def _sample_dims(images):
    """(C, H, W) of one image of a batch: (N, H, W[, C]) array or (N, C, H, W) tensor."""
    if isinstance(images, Tensor):
        return tuple(images.shape[1:])
    shape = np.shape(images)
    return (1 if len(shape) == 3 else shape[3], shape[1], shape[2])


def _random_ok(t):
    """A random transform whose batch form gives exactly its per-sample results."""
    if type(t) is RandomCrop:
        return isinstance(t.fill, numbers.Number) or len(set(t.fill)) == 1
    return type(t) in RANDOM_BATCHABLE


def batch_transform(transform):
    """transform's whole-batch form, or None when some part of it works per sample only."""
    # exact types: a subclass may override __call__ and no longer match apply_batch; random
    # transforms only at the top of a Compose, which draws for them in per-sample order
    if type(transform) is Compose:
        ok = all(type(t) in BATCHABLE or _random_ok(t)
                 or (type(t) is Compose and batch_transform(t) is not None
                     and not any(type(u) in RANDOM_BATCHABLE for u in t.transforms))
                 for t in transform.transforms)
    else:
        ok = type(transform) in BATCHABLE
    return transform.apply_batch if ok else None
