"""The colour ops of transforms.functional: PIL images through Pillow, tensors by
torchvision's blend and HSV formulas."""
import numpy as np

from ...tensor import Tensor
from ._base import _check, _pil, _wrap, get_dimensions


def _bound(x):
    return 1.0 if x.dtype.kind == "f" else float(np.iinfo(x.dtype).max)


def _blend(x1, x2, ratio, like):
    bound = _bound(like.array)
    y = np.clip(ratio * x1 + (1.0 - ratio) * x2, 0, bound)
    return _wrap(y, like)


def _gray(x):
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    return (0.2989 * r + 0.587 * g + 0.114 * b)[..., None, :, :]


def rgb_to_grayscale(img, num_output_channels=1):
    """Luma (ITU-R 601-2) of an RGB image, in 1 or 3 channels."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if not isinstance(_check(img), Tensor):
        Image = _pil()
        gray = img.convert("L")
        if num_output_channels == 3:
            return Image.fromarray(np.dstack([np.asarray(gray)] * 3), "RGB")
        return gray
    x = img.array
    c = get_dimensions(img)[0]
    if c not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found {c}")
    if c == 3:
        g = _gray(x.astype(np.float32) if x.dtype.kind != "f" else x)
        g = g.astype(x.dtype) if x.dtype.kind == "f" else np.floor(g).astype(x.dtype)
    else:
        g = x.copy()
    if num_output_channels == 3:
        g = np.broadcast_to(g, g.shape[:-3] + (3,) + g.shape[-2:])
    return _wrap(g, img)


to_grayscale = rgb_to_grayscale


def _enhance(img, kind, factor):
    from PIL import ImageEnhance
    return getattr(ImageEnhance, kind)(img).enhance(factor)


def adjust_brightness(img, brightness_factor):
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    if not isinstance(_check(img), Tensor):
        return _enhance(img, "Brightness", brightness_factor)
    x = img.array
    return _blend(x, 0.0, brightness_factor, img)


def adjust_contrast(img, contrast_factor):
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    if not isinstance(_check(img), Tensor):
        return _enhance(img, "Contrast", contrast_factor)
    x = img.array
    c = get_dimensions(img)[0]
    gray = rgb_to_grayscale(img).array if c == 3 else x
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    mean = gray.astype(dtype).mean(axis=(-3, -2, -1), keepdims=True)
    return _blend(x, mean, contrast_factor, img)


def adjust_saturation(img, saturation_factor):
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    if not isinstance(_check(img), Tensor):
        return _enhance(img, "Color", saturation_factor)
    if get_dimensions(img)[0] == 1:
        return img
    return _blend(img.array, rgb_to_grayscale(img).array, saturation_factor, img)


def _rgb2hsv(x):
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = x.max(axis=-3), x.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3)


def _hsv2rgb(x):
    h, s, v = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros(x.shape, x.dtype)
    for k, (a, b, c) in enumerate(table):
        m = i == k
        out[..., 0, :, :] += m * a
        out[..., 1, :, :] += m * b
        out[..., 2, :, :] += m * c
    return out


def adjust_hue(img, hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if not isinstance(_check(img), Tensor):
        Image = _pil()
        mode = img.mode
        if mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        # uint8 wrap-around turns the hue circle; the shift is truncated as a C cast would
        np_h = (np.asarray(h).astype(np.int64) + int(hue_factor * 255)) % 256
        h = Image.fromarray(np_h.astype(np.uint8), "L")
        return Image.merge("HSV", (h, s, v)).convert(mode)
    if get_dimensions(img)[0] == 1:
        return img
    x = img.array
    integral = x.dtype.kind != "f"
    xf = x.astype(np.float32) / np.float32(255) if integral else x
    hsv = _rgb2hsv(xf)
    hsv[..., 0, :, :] = np.fmod(hsv[..., 0, :, :] + hue_factor, 1.0)
    hsv[..., 0, :, :] += hsv[..., 0, :, :] < 0          # Python's % (torch's remainder)
    y = _hsv2rgb(hsv)
    if integral:
        y = (y * 255.0).astype(x.dtype)
    return _wrap(y, img)
