"""torchvision.utils: make_grid (images tiled into one) and save_image (that grid as a PNG)."""
import contextlib
import math
import os
import tempfile

import numpy as np

from ..creation import stack
from ..tensor import Tensor


def _normalize(x, value_range):
    """Clamp x to value_range (default: its own min and max), then map it onto [0, 1]."""
    low, high = value_range if value_range is not None else (float(x.min()), float(x.max()))
    np.clip(x, low, high, out=x)
    x -= low
    x /= max(high - low, 1e-5)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """The images side by side, nrow to a row, padding pixels apart, on pad_value.

    Shapes: (B, C, H, W), (C, H, W) or (H, W), or a list of (C, H, W) ->
    (C', rows * (H + padding) + padding, cols * (W + padding) + padding), C' = 3 for C = 1.
    """
    if isinstance(tensor, list):
        tensor = stack(tensor, dim=0)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    x = tensor.array
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        x = (np.concatenate([x] * 3, 0) if x.shape[0] == 1 else x)[None]
    if x.ndim == 4 and x.shape[1] == 1:
        x = np.concatenate([x] * 3, 1)
    if normalize is True:
        x = x.copy()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max "
                            "are numbers")
        for part in (x if scale_each else [x]):
            _normalize(part, value_range)
    if x.shape[0] == 1:
        return Tensor._make(np.ascontiguousarray(x[0]))
    nmaps = x.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = x.shape[2] + padding, x.shape[3] + padding
    grid = np.full((x.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=x.dtype)
    for k in range(nmaps):
        top, left = (k // xmaps) * height + padding, (k % xmaps) * width + padding
        grid[:, top:top + height - padding, left:left + width - padding] = x[k]
    return Tensor._make(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """make_grid(tensor, **kwargs) written as an image (PNG unless the name or format says
    otherwise); [0, 1] floats become bytes as round(255 x), clamped. A path is written
    atomically: a reader sees the old file or the whole new one."""
    from PIL import Image
    grid = make_grid(tensor, **kwargs).array
    # torchvision's grid.mul(255).add_(0.5).clamp_(0, 255) then a truncating cast to uint8
    pixels = np.clip(grid * np.float32(255) + np.float32(0.5), 0, 255).astype(np.uint8)
    im = Image.fromarray(np.ascontiguousarray(pixels.transpose(1, 2, 0)))
    if not isinstance(fp, (str, os.PathLike)):
        im.save(fp, format=format)
        return
    path = os.fspath(fp)
    fmt = format or Image.registered_extensions().get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise ValueError(f"unknown file extension: {os.path.splitext(path)[1]}")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                               prefix=f".{os.path.basename(path)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            im.save(f, format=fmt)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
