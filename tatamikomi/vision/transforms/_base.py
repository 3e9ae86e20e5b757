"""What the functional modules share: interpolation modes, PIL detection, argument checks."""
import enum

import numpy as np

from ...tensor import Tensor


class InterpolationMode(enum.Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTERS = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


def _pil():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _is_pil_image(img):
    Image = _pil()
    return Image is not None and isinstance(img, Image.Image)


def _check(img):
    """img itself when it is a PIL image or a tensor of at least 2 dims."""
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise TypeError(f"Tensor is not a torch image. Got {img.ndim} dimensions")
        return img
    if not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
    return img


def _wrap(array, like):
    """A tensor of array with like's dtype (torchvision's ops keep the image's dtype)."""
    return Tensor._make(np.ascontiguousarray(array.astype(like.array.dtype, copy=False)))


def _interp(mode):
    if isinstance(mode, int):                          # a PIL constant, as old code passes
        mode = {v: k for k, v in _PIL_FILTERS.items()}[mode]
        return InterpolationMode(mode)
    if not isinstance(mode, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a "
                        "corresponding Pillow integer constant")
    return mode


def get_dimensions(img):
    """[channels, height, width] of a PIL image or tensor image."""
    if isinstance(_check(img), Tensor):
        shape = img.shape
        return [1 if img.ndim == 2 else shape[-3], shape[-2], shape[-1]]
    return [len(img.getbands()), img.size[1], img.size[0]]
