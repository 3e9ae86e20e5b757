"""The random transforms: crops, flips, resized crops, rotations, colour jitter and erasing.

They draw from the global generator with torch's calls in torchvision's order
(torch.rand, torch.randint, torch.empty().uniform_, torch.randperm), so after the same
manual_seed they choose what torchvision's would. RandomCrop and the flips also have a
batch form (n_words, from_words, apply_batch) that Compose.apply_batch uses.
"""
import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from ... import creation
from ...tensor import Tensor
from . import _draws
from . import functional as F
from .functional import InterpolationMode


def _setup_size(size, error_msg):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size


def _draw_uniform(lo, hi):
    """torch.empty(1).uniform_(lo, hi).item()."""
    return creation.empty(1).uniform_(lo, hi).item()


def _draw_below(n):
    """torch.randint(0, n, size=(1,)).item()."""
    return creation.randint(0, n, size=(1,)).item()


def _coin(p):
    """torch.rand(1) < p: one float32 draw, compared in float32 as torch compares it."""
    return np.float32(creation.rand(1).item()) < np.float32(p)


def _log_ratio(ratio):
    """torch.log(torch.tensor(ratio)): float32 logs, as torchvision takes them."""
    return [float(v) for v in np.log(np.asarray(ratio, np.float32))]


def _exp32(v):
    """torch.exp of a float32 tensor: the float32 rounding of the exact exponential."""
    return float(np.float32(math.exp(float(np.float32(v)))))


class RandomCrop:
    """A size crop at a random place, after optional padding (and padding up to size)."""

    @staticmethod
    def get_params(img, output_size):
        """(top, left, h, w): one randint for the row, then one for the column."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _draw_below(h - th + 1), _draw_below(w - tw + 1), th, tw

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        self.size = tuple(_setup_size(size, "Please provide only two dimensions (h, w) for "
                                            "size."))
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"

    # ----- the batch form (see Compose.apply_batch)
    def _pads(self, h, w):
        """(left, top, right, bottom) of the padding and pad_if_needed before the crop."""
        ltrb = F._padding_ltrb(self.padding) if self.padding is not None else [0, 0, 0, 0]
        h, w = h + ltrb[1] + ltrb[3], w + ltrb[0] + ltrb[2]
        if self.pad_if_needed and w < self.size[1]:
            ltrb[0] += self.size[1] - w
            ltrb[2] += self.size[1] - w
            w = self.size[1]
        if self.pad_if_needed and h < self.size[0]:
            ltrb[1] += self.size[0] - h
            ltrb[3] += self.size[0] - h
        return ltrb

    def _padded(self, dims):
        c, h, w = dims
        left, top, right, bottom = self._pads(h, w)
        h, w = h + top + bottom, w + left + right
        th, tw = self.size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        return h, w

    def n_words(self, dims):
        """get_params's words per sample: a row and a column, none when the crop is whole."""
        h, w = self._padded(dims)
        whole = (h, w) == tuple(self.size)
        if not whole and max(h - self.size[0], w - self.size[1]) + 1 >= _draws.SMALL:
            raise ValueError("crop offsets this large have no batch form")
        return 0 if whole else 2

    def from_words(self, w, dims):
        """(top, left) per sample. Shapes: w (N, n_words) uint32 -> (N, 2) int64."""
        h, ww = self._padded(dims)
        if w.shape[1] == 0:
            return np.zeros((len(w), 2), np.int64)
        return np.stack([_draws.below(w[:, 0], h - self.size[0] + 1),
                         _draws.below(w[:, 1], ww - self.size[1] + 1)], axis=1)

    def out_dims(self, dims):
        return (dims[0], *self.size)

    def apply_batch(self, images, params):
        """Shapes: (N, H, W[, C]) array or (N, C, H, W) tensor -> the same with the crop size."""
        tensor = isinstance(images, Tensor)
        x = images.array if tensor else np.asarray(images)
        axes = (x.ndim - 2, x.ndim - 1) if tensor else (1, 2)
        left, top, right, bottom = self._pads(x.shape[axes[0]], x.shape[axes[1]])
        if left or top or right or bottom:
            widths = [(0, 0)] * x.ndim
            widths[axes[0]], widths[axes[1]] = (top, bottom), (left, right)
            mode = self.padding_mode
            fill = self.fill if isinstance(self.fill, numbers.Number) else self.fill[0]
            x = np.pad(x, widths, mode="constant", constant_values=fill) if mode == "constant" \
                else np.pad(x, widths, mode=mode)
        th, tw = self.size
        ij = np.asarray(params, np.intp).reshape(-1, 2)
        rows = ij[:, :1] + np.arange(th)                 # (N, th)
        cols = ij[:, 1:] + np.arange(tw)                 # (N, tw)
        n = np.arange(len(x))[:, None, None]
        if tensor:                                        # (N, ..., H, W)
            lead = x.reshape(len(x), -1, *x.shape[-2:])
            out = lead[n, :, rows[:, :, None], cols[:, None, :]]      # (N, th, tw, K)
            out = np.moveaxis(out, 3, 1).reshape(*x.shape[:-2], th, tw)
            return Tensor._make(np.ascontiguousarray(out))
        return np.ascontiguousarray(x[n, rows[:, :, None], cols[:, None, :]])


class RandomHorizontalFlip:
    _axis = -1                                           # of the image's (H, W)

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        return F.hflip(img) if _coin(self.p) else img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"

    def n_words(self, dims):
        return 1

    def from_words(self, w, dims):
        """Whether each sample flips: torch.rand(1) < p, compared in float32."""
        return _draws.uniform01(w[:, 0]) < np.float32(self.p)

    def apply_batch(self, images, params):
        """The drawn samples flipped. Shapes: (N, H, W[, C]) array or (N, C, H, W) tensor."""
        tensor = isinstance(images, Tensor)
        x = (images.array if tensor else np.asarray(images)).copy()
        axis = (x.ndim + self._axis) if tensor else (2 if self._axis == -1 else 1)
        flip = np.asarray(params, bool)
        x[flip] = np.flip(x[flip], axis)
        return Tensor._make(x) if tensor else x


class RandomVerticalFlip(RandomHorizontalFlip):
    _axis = -2

    def __call__(self, img):
        return F.vflip(img) if _coin(self.p) else img


class RandomResizedCrop:
    """A crop of random area (scale) and aspect ratio, resized to size."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)", stacklevel=2)
        self.interpolation = F._interp(interpolation)
        self.antialias, self.scale, self.ratio = antialias, scale, ratio

    @staticmethod
    def get_params(img, scale, ratio):
        """(top, left, h, w): up to 10 tries of (area, log-ratio, row, column), then the
        central crop of the nearest allowed ratio."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = _log_ratio(ratio)
        for _ in range(10):
            target_area = area * _draw_uniform(scale[0], scale[1])
            aspect_ratio = _exp32(_draw_uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                return _draw_below(height - h + 1), _draw_below(width - w + 1), h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation,
                              antialias=self.antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, "
                f"scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


def _setup_angle(x, name, req_sizes=(2,)):
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        x = [-x, x]
    elif not isinstance(x, Sequence) or len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length "
                         f"{' or '.join(str(s) for s in req_sizes)}.")
    return [float(d) for d in x]


class RandomRotation:
    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        self.interpolation = F._interp(interpolation)
        if center is not None and (not isinstance(center, Sequence) or len(center) != 2):
            raise ValueError("center should be a sequence of length 2.")
        if fill is None:
            fill = 0
        elif not isinstance(fill, (Sequence, numbers.Number)):
            raise TypeError("Fill should be either a sequence or a number.")
        self.center, self.expand, self.fill = center, expand, fill

    @staticmethod
    def get_params(degrees):
        return float(_draw_uniform(float(degrees[0]), float(degrees[1])))

    def __call__(self, img):
        fill = self.fill
        if isinstance(img, Tensor):
            channels = F.get_dimensions(img)[0]
            fill = [float(fill)] * channels if isinstance(fill, (int, float)) \
                else [float(f) for f in fill]
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self):
        s = (f"{type(self).__name__}(degrees={self.degrees}, interpolation="
             f"{self.interpolation.value}, expand={self.expand}")
        if self.center is not None:
            s += f", center={self.center}"
        if self.fill is not None:
            s += f", fill={self.fill}"
        return s + ")"


class ColorJitter:
    """Brightness, contrast, saturation and hue changed by random factors, in a random order."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5),
                                     clip_first_on_zero=False)

    @staticmethod
    def _check_input(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound}, but got {value}.")
        if value[0] == value[1] == center:            # the identity: nothing is drawn
            return None
        return tuple(value)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """(order, b, c, s, h): randperm(4) first, then one uniform per factor in use."""
        fn_idx = creation.randperm(4)
        factors = [None if r is None else float(_draw_uniform(r[0], r[1]))
                   for r in (brightness, contrast, saturation, hue)]
        return (fn_idx, *factors)

    def __call__(self, img):
        fn_idx, *factors = self.get_params(self.brightness, self.contrast, self.saturation,
                                           self.hue)
        ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for k in fn_idx.tolist():
            if factors[k] is not None:
                img = ops[k](img, factors[k])
        return img

    def __repr__(self):
        return (f"{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class RandomErasing:
    """With probability p, a random rectangle of a tensor image set to value (or noise)."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)", stacklevel=2)
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """(i, j, h, w, v); per try: area, log-ratio, then noise (value None), row, column."""
        img_c, img_h, img_w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = img_h * img_w
        log_ratio = _log_ratio(ratio)
        for _ in range(10):
            erase_area = area * _draw_uniform(scale[0], scale[1])
            aspect_ratio = _exp32(_draw_uniform(log_ratio[0], log_ratio[1]))
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                v = creation.empty([img_c, h, w]).normal_()
            else:
                v = Tensor._make(np.asarray(value, np.float32)[:, None, None])
            return _draw_below(img_h - h + 1), _draw_below(img_w - w + 1), h, w, v
        return 0, 0, img_h, img_w, img

    def __call__(self, img):
        if not _coin(self.p):
            return img
        if isinstance(self.value, (int, float)):
            value = [float(self.value)]
        elif isinstance(self.value, str):
            value = None
        else:
            value = [float(v) for v in self.value]
        if value is not None and len(value) not in (1, img.shape[-3]):
            raise ValueError("If value is a sequence, it should have either a single value or "
                             f"{img.shape[-3]} (number of input channels)")
        x, y, h, w, v = self.get_params(img, scale=self.scale, ratio=self.ratio, value=value)
        return F.erase(img, x, y, h, w, v, self.inplace)

    def __repr__(self):
        return (f"{type(self).__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
                f"value={self.value}, inplace={self.inplace})")
