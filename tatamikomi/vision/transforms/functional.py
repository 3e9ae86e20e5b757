"""torchvision.transforms.functional: each op on a PIL image (by Pillow, as torchvision does) or
on a tensor image (..., C, H, W) (by NumPy, after torchvision's tensor formulas)."""
import math
import numbers

import numpy as np

from ...creation import from_numpy
from ...tensor import Tensor
from ._base import (
    _PIL_FILTERS,
    InterpolationMode,
    _check,
    _interp,
    _is_pil_image,
    _pil,
    _wrap,
    get_dimensions,
)
from ._color import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    rgb_to_grayscale,
    to_grayscale,
)
from ._resample import resample_hw

__all__ = ["InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_hue",
           "adjust_saturation", "center_crop", "crop", "erase", "get_dimensions",
           "get_image_num_channels", "get_image_size", "hflip", "normalize", "pad",
           "pil_to_tensor", "resize", "resized_crop", "rgb_to_grayscale", "rotate",
           "to_grayscale", "to_pil_image", "to_tensor", "vflip"]


# ----- sizes and conversion

def get_image_size(img):
    """[width, height]."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


def to_pil_image(pic, mode=None):
    """A tensor (C, H, W) or ndarray (H, W, C) as a PIL image; floats are scaled by 255 first.

    Shapes: (C, H, W) tensor or (H, W[, C]) array with C in 1..4.
    """
    Image = _pil()
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic.array[None] if pic.ndim == 2 else pic.array
        if array.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {array.shape[-3]} channels.")
        if array.dtype.kind == "f" and mode != "F":
            # torch's pic.mul(255).byte(): truncation toward zero, then the low byte
            array = (array * np.float32(255)).astype(np.int64).astype(np.uint8)
        npimg = np.transpose(array, (1, 2, 0))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        npimg = pic[:, :, None] if pic.ndim == 2 else pic
        if npimg.shape[-1] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {npimg.shape[-1]} "
                             "channels.")
        if npimg.dtype.kind == "f" and mode != "F":
            npimg = (npimg * 255).astype(np.uint8)
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    c = npimg.shape[2]
    if c == 1:
        npimg = npimg[:, :, 0]
        defaults = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}
        expected = defaults.get(npimg.dtype)
        if mode is not None and mode != expected and not (mode == "L" and expected):
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type "
                             f"{npimg.dtype}. Should be {expected}")
        mode = mode or expected
    elif npimg.dtype != np.uint8:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    else:
        permitted = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}[c]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for {c}D inputs")
        mode = mode or permitted[0]
    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    return Image.frombuffer(mode, (npimg.shape[1], npimg.shape[0]),
                            np.ascontiguousarray(npimg).tobytes(), "raw", mode, 0, 1) \
        if mode == "I;16" else Image.fromarray(np.ascontiguousarray(npimg), mode=mode)


def pil_to_tensor(pic):
    """The PIL image's pixels as a (C, H, W) tensor of their own dtype (no scaling)."""
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    array = np.array(pic, copy=True)
    array = array.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    return from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _pil_array(img):
    """(H, W[, C]) pixels of a PIL image, and a function back to a PIL image of its mode."""
    Image = _pil()
    mode = img.mode
    if mode == "P":
        raise NotImplementedError("palette images are not supported; convert('RGB') first")
    array = np.asarray(img)
    return array, lambda a: Image.fromarray(np.ascontiguousarray(a), mode=mode)


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
    if _is_pil_image(pic):
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


def _in_place_broadcast(shape, other):
    """Raise as torch's in-place x.sub_(other) does where other does not fit into shape."""
    n = max(len(shape), len(other))
    a, b = (1,) * (n - len(shape)) + shape, (1,) * (n - len(other)) + tuple(other)
    for d in range(n):
        if a[d] != b[d] and 1 not in (a[d], b[d]):
            raise RuntimeError(f"The size of tensor a ({a[d]}) must match the size of tensor b "
                               f"({b[d]}) at non-singleton dimension {d}")
    out = tuple(max(x, y) for x, y in zip(a, b))
    if out != shape:
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape "
                           f"{list(out)}")


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
    # torchvision subtracts and divides in place (on a clone), so a mean or std with more
    # channels than the image raises instead of broadcasting a grey image to three channels
    for v in (m, s):
        _in_place_broadcast(tuple(tensor.shape), v.shape)
    if inplace:
        np.subtract(tensor.array, m, out=tensor.array)
        np.divide(tensor.array, s, out=tensor.array)
        return tensor
    return (tensor - Tensor._make(m)) / Tensor._make(s)     # differentiable when x needs grad



# ----- geometry

def hflip(img):
    if isinstance(_check(img), Tensor):
        return _wrap(img.array[..., ::-1], img)
    return img.transpose(_pil().Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    if isinstance(_check(img), Tensor):
        return _wrap(img.array[..., ::-1, :], img)
    return img.transpose(_pil().Transpose.FLIP_TOP_BOTTOM)


def crop(img, top, left, height, width):
    """The height x width window at (top, left); parts outside the image are zeros."""
    if not isinstance(_check(img), Tensor):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    x = img.array
    if left < 0 or top < 0 or right > w or bottom > h:
        pad_ltrb = [max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0)]
        x = x[..., max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)]
        return pad(_wrap(x, img), pad_ltrb, fill=0)
    return _wrap(x[..., top:bottom, left:right], img)


def center_crop(img, output_size):
    """The central crop of output_size (h, w) or (s, s); zero-padded when the image is smaller."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    top = int(round((image_height - crop_height) / 2.0))
    left = int(round((image_width - crop_width) / 2.0))
    return crop(img, top, left, crop_height, crop_width)


def _padding_ltrb(padding):
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, numbers.Number):
        if not isinstance(padding, int):
            raise TypeError("Got inappropriate padding arg")
        return [padding] * 4
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    padding = list(padding)
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return padding


_NP_PAD = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad (left, top, right, bottom) with fill or by edge, reflect or symmetric copies.

    Shapes: (..., H, W) -> (..., H + top + bottom, W + left + right).
    """
    _check(img)
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    left, top, right, bottom = _padding_ltrb(padding)
    if padding_mode not in _NP_PAD:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if isinstance(img, Tensor):
        x = img.array
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        crop_neg = min(left, top, right, bottom) < 0
        if crop_neg:                                   # negative padding crops
            h, w = x.shape[-2:]
            x = x[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
            widths = [(a if a > 0 else 0, b if b > 0 else 0) for a, b in widths]
        if padding_mode == "constant":
            value = fill if isinstance(fill, numbers.Number) else fill[0]
            return _wrap(np.pad(x, widths, mode="constant", constant_values=value), img)
        return _wrap(np.pad(x, widths, mode=_NP_PAD[padding_mode]), img)
    array, back = _pil_array(img)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (array.ndim - 2)
    if padding_mode == "constant":
        if isinstance(fill, numbers.Number) or array.ndim == 2:
            value = fill if isinstance(fill, numbers.Number) else fill[0]
            return back(np.pad(array, widths, mode="constant", constant_values=value))
        out = np.stack([np.pad(array[..., c], widths[:2], constant_values=fill[c])
                        for c in range(array.shape[-1])], axis=-1)
        return back(out)
    return back(np.pad(array, widths, mode=padding_mode))


def _compute_resized_output_size(image_size, size, max_size=None):
    """[new_h, new_w]: size (h, w), or the smaller edge matched to size (an int) keeping the
    aspect ratio, the longer edge capped at max_size."""
    h, w = image_size
    if size is None or isinstance(size, int) or len(size) == 1:
        short, long = (w, h) if w <= h else (h, w)
        requested = size if isinstance(size, int) else (size[0] if size else max_size)
        if size is None:
            new_short, new_long = int(max_size * short / long), max_size
        else:
            new_short, new_long = requested, int(requested * long / short)
            if max_size is not None:
                if max_size <= requested:
                    raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                     f"requested size for the smaller edge size = {size}")
                if new_long > max_size:
                    new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        return [new_h, new_w]
    return [size[0], size[1]]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """img resized to size (see _compute_resized_output_size).

    PIL images are resized by Pillow; tensors by separable filters, as torch's interpolate
    (antialias widens the filter by the scale when shrinking, as Pillow does).
    """
    interpolation = _interp(interpolation)
    if isinstance(size, (list, tuple)) and len(size) not in (1, 2):
        raise ValueError("If size is a sequence, it should have 1 or 2 values")
    if not isinstance(size, (int, list, tuple)) and size is not None:
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    if max_size is not None and isinstance(size, (list, tuple)) and len(size) != 1:
        raise ValueError("max_size should only be passed if size specifies the length of the "
                         "smaller edge, i.e. size should be an int or a sequence of length 1 in "
                         "torchscript mode.")
    _, h, w = get_dimensions(img)
    out = _compute_resized_output_size((h, w), size, max_size)
    if [h, w] == out:
        return img
    if not isinstance(img, Tensor):
        if antialias is False:
            import warnings
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument "
                          "antialias is ignored.", stacklevel=2)
        return img.resize((out[1], out[0]), _PIL_FILTERS[interpolation.value])
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                             InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError("Tensor resize supports nearest, nearest-exact, bilinear and bicubic")
    x = img.array
    integral = x.dtype.kind in "ui"
    y = resample_hw(x.astype(np.float32) if x.dtype.kind != "f" else x, out,
                    interpolation.value, antialias)
    if integral:                                       # torchvision rounds back to the dtype
        info = np.iinfo(x.dtype)
        y = np.clip(np.round(y), info.min, info.max)
    return _wrap(y, img)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                 antialias=True):
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def _rotation_matrix(center, angle):
    """The inverse map (output -> input) of a counter-clockwise turn by angle degrees about
    center, measured from the image's middle: torchvision's _get_inverse_affine_matrix."""
    rot = math.radians(-angle)
    m = [math.cos(rot), math.sin(rot), 0.0, -math.sin(rot), math.cos(rot), 0.0]
    cx, cy = center
    m[2] += m[0] * -cx + m[1] * -cy + cx
    m[5] += m[3] * -cx + m[4] * -cy + cy
    return m


def _affine_source(matrix, h, w):
    """Input pixel coordinates of each output pixel, computed in float32 as torchvision's
    affine grid and grid_sample's unnormalising compute them (ties then round the same way).

    Shapes: -> (H, W) x and y.
    """
    f = np.float32
    theta = np.asarray(matrix, f).reshape(2, 3).T / np.array([0.5 * w, 0.5 * h], f)
    xs = (np.arange(w, dtype=f) - f((w - 1) / 2))[None, :]
    ys = (np.arange(h, dtype=f) - f((h - 1) / 2))[:, None]
    gx = xs * theta[0, 0] + ys * theta[1, 0] + theta[2, 0]
    gy = xs * theta[0, 1] + ys * theta[1, 1] + theta[2, 1]
    return ((gx + f(1)) * f(w) - f(1)) / f(2), ((gy + f(1)) * f(h) - f(1)) / f(2)


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """img rotated by angle degrees counter-clockwise about center (default: the middle)."""
    interpolation = _interp(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if not isinstance(img, Tensor):
        _check(img)
        bands = len(img.getbands())
        opts = {}
        if fill is not None:
            value = tuple([fill] * bands) if isinstance(fill, (int, float)) and bands > 1 \
                else fill
            opts["fillcolor"] = tuple(value) if isinstance(value, list) else value
        return img.rotate(angle, _PIL_FILTERS[interpolation.value], expand, center, **opts)
    if expand:
        raise NotImplementedError("rotate(expand=True) is not supported for tensors")
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError("Tensor rotate supports nearest and bilinear interpolation")
    x = img.array
    h, w = x.shape[-2:]
    # a given centre is measured from the corner; the matrix wants it from the middle
    c = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    sx, sy = _affine_source(_rotation_matrix(c, angle), h, w)
    return _wrap(_sample(x, sx, sy, interpolation.value, fill), img)


def _sample(x, sx, sy, mode, fill):
    """x sampled at source coordinates (sx, sy), as grid_sample with zeros outside; with a fill,
    blended by the share of each output that came from inside, as torchvision does.

    Shapes: x (..., H, W); sx, sy (H, W).
    """
    h, w = x.shape[-2:]
    xf = x.astype(np.float32)
    if mode == "nearest":
        # round half to even, as grid_sample(nearest) rounds with nearbyint
        ix, iy = np.rint(sx).astype(np.int64), np.rint(sy).astype(np.int64)
        mask = ((ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)).astype(np.float32)
        out = mask * xf[..., np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
    else:
        x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
        fx, fy = (sx - x0).astype(np.float32), (sy - y0).astype(np.float32)
        out = np.zeros(xf.shape, np.float32)
        mask = np.zeros(sx.shape, np.float32)
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                iy, ix = y0 + dy, x0 + dx
                ok = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
                wgt = np.where(ok, wy * wx, 0).astype(np.float32)
                out += wgt * xf[..., np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
                mask += wgt
    if fill is None:
        return out
    fills = np.asarray(fill, np.float32)
    if fills.ndim:
        fills = fills.reshape(-1, 1, 1)
    if mode == "nearest":
        mask = (mask > 0.5).astype(np.float32)
    return out * mask + (1.0 - mask) * fills


# ----- tensors only

def erase(img, i, j, h, w, v, inplace=False):
    """img with the h x w block at (i, j) replaced by v (a tensor broadcast to the block)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    out = img if inplace else Tensor._make(img.array.copy())
    value = v.array if isinstance(v, Tensor) else np.asarray(v)
    out.array[..., i:i + h, j:j + w] = value
    return out
