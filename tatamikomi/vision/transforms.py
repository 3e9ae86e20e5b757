"""Image transforms as torchvision's: Compose, ToTensor, Normalize, Lambda.

ToTensor and Normalize also have `apply_batch`, which maps a whole batch at once with the same
arithmetic per element; `batch_transform` says whether a transform can be applied that way.
"""
import numpy as np

from ..creation import from_numpy
from ..tensor import Tensor


def _pil_image_class():
    """PIL.Image.Image if Pillow is installed, else None (Pillow is optional)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image.Image


class Compose:
    """Apply each transform in turn."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def apply_batch(self, images):
        for t in self.transforms:
            images = t.apply_batch(images)
        return images

    def __repr__(self):
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


def _pil_to_array(pic):
    """An (H, W, C) array of a PIL image's pixels; mode "1" (bits) becomes 0 or 255."""
    array = np.array(pic, copy=True)
    if pic.mode == "1":
        array = array.astype(np.uint8) * 255
    return array.reshape(pic.size[1], pic.size[0], len(pic.getbands()))


def to_tensor(pic):
    """An image as a CxHxW tensor; uint8 pixels are scaled to float32 in [0, 1].

    Shapes: pic (H, W) or (H, W, C) array, or a PIL image -> (C, H, W).
    """
    pil = _pil_image_class()
    if pil is not None and isinstance(pic, pil):
        array = _pil_to_array(pic)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    return _scale(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _scale(array):
    # torchvision divides uint8 by 255 in float32 and leaves every other dtype as it is
    if array.dtype == np.uint8:
        return from_numpy(array.astype(np.float32) / np.float32(255))
    return from_numpy(array)


class ToTensor:
    """Convert an (H, W[, C]) uint8 array or PIL image to a float32 (C, H, W) tensor in [0, 1]."""

    def __call__(self, pic):
        return to_tensor(pic)

    def apply_batch(self, images):
        """Shapes: images (N, H, W) or (N, H, W, C) array or tensor -> (N, C, H, W)."""
        array = images.array if isinstance(images, Tensor) else np.asarray(images)
        if array.ndim not in (3, 4):
            raise ValueError(f"a batch of images should be 3/4 dimensional. Got {array.ndim} "
                             "dimensions.")
        array = array[:, None] if array.ndim == 3 else array.transpose(0, 3, 1, 2)
        return _scale(np.ascontiguousarray(array))

    def __repr__(self):
        return f"{type(self).__name__}()"


def normalize(tensor, mean, std, inplace=False):
    """(tensor - mean) / std per channel. Shapes: tensor (..., C, H, W), mean and std (C,)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if tensor.ndim < 2:
        raise TypeError("Tensor is not a torch image.")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    # mean and std are cast to the image's dtype first, as torchvision does, so a tiny std can
    # round to zero in float16 and is caught here
    dt = tensor.array.dtype
    m, s = np.asarray(mean, dtype=dt), np.asarray(std, dtype=dt)
    if (s == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to "
                         "division by zero.")
    if m.ndim == 1:
        m = m.reshape(-1, 1, 1)
    if s.ndim == 1:
        s = s.reshape(-1, 1, 1)
    if inplace:
        np.subtract(tensor.array, m, out=tensor.array)
        np.divide(tensor.array, s, out=tensor.array)
        return tensor
    return (tensor - Tensor._make(m)) / Tensor._make(s)     # differentiable when x needs grad


class Normalize:
    """Normalize each channel: (x - mean) / std. Also takes a batch (N, C, H, W) as it is."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return normalize(tensor, self.mean, self.std, self.inplace)

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


BATCHABLE = (ToTensor, Normalize)


def batch_transform(transform):
    """transform's whole-batch form, or None when some part of it works per sample only."""
    # exact types: a subclass may override __call__ and no longer match apply_batch
    if type(transform) is Compose:
        ok = all(batch_transform(t) is not None for t in transform.transforms)
    else:
        ok = type(transform) in BATCHABLE
    return transform.apply_batch if ok else None
