"""nn.functional's resampling: interpolate (and the upsample aliases) and pixel (un)shuffle,
with PyTorch's checks in its order.

Split from functional.py to keep each file readable; `nn.functional` re-exports every name.
"""
import numbers
import warnings

import numpy as np

from .. import dtypes
from ..dtypes import type_name
from ..ops import resample as R
from ._losses import _tensor
from ._pooling import adaptive_avg_pool2d

INTERPOLATING = "linear | bilinear | bicubic | trilinear"
MODES = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact")
# (mode, input rank) -> the node PyTorch names, and how each axis is resampled
KINDS = {("nearest", 3): "UpsampleNearest1D", ("nearest", 4): "UpsampleNearest2D",
         ("nearest", 5): "UpsampleNearest3D", ("nearest-exact", 3): "UpsampleNearestExact1D",
         ("nearest-exact", 4): "UpsampleNearestExact2D",
         ("nearest-exact", 5): "UpsampleNearestExact3D", ("linear", 3): "UpsampleLinear1D",
         ("bilinear", 4): "UpsampleBilinear2D", ("trilinear", 5): "UpsampleTrilinear3D",
         ("bicubic", 4): "UpsampleBicubic2D"}
NEEDS = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _sizes(input, size, scale_factor, recompute_scale_factor):
    """(output sizes, the scales the kernels use or None), as F.interpolate derives them."""
    dim = input.dim() - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{spatial} and output size of {size}. Please provide input "
                                 f"tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 f"(o1, o2, ...,oK) format.")
            if not all(isinstance(s, numbers.Integral) for s in size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, "
                                f"int] or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            out = [int(s) for s in size]
        else:
            out = [int(size)] * dim
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return out, None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of {spatial} "
                             f"and scale_factor of shape {scale_factor}. Please provide input "
                             f"tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, "
                             f"s2, ...,sK) format.")
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * dim
    out = [int(n * s) for n, s in zip(spatial, scales)]          # truncated, as PyTorch
    return out, (None if recompute_scale_factor else scales)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial dims to size (or by scale_factor) with PyTorch's index rules.

    Shapes: (N, C, *in) with 1 to 3 spatial dims -> (N, C, *out).
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"align_corners option can only be set with the interpolating "
                             f"modes: {INTERPOLATING}")
    elif align_corners is None:
        align_corners = False
    out, scales = _sizes(input, size, scale_factor,
                         recompute_scale_factor or (mode == "area" and size is None))
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                         "and requires a 4-D tensor as input")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not implemented in tatamikomi")
    if mode == "area" and input.dim() == 4:
        return adaptive_avg_pool2d(input, out)
    kind = KINDS.get((mode, input.dim()))
    if kind is None:
        if mode in NEEDS and input.dim() in (3, 4, 5):
            raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                      f"{NEEDS[mode]}D input")
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.dim()}D) for the modes: {MODES} (got {mode})")
    _check_sizes(input, out)
    if not input.dtype.is_floating_point and not (mode.startswith("nearest") and
                                                   input.dtype == dtypes.uint8):
        layout = "channels_last" if input.dim() == 4 else "out_frame"
        raise NotImplementedError(f"\"{kind.lower().replace('upsample', 'upsample_')}_"
                                  f"{layout}\" not implemented for '{input.dtype.torch_name}'")
    return R.Interpolate.apply(input, plans=_plans(input, out, scales, mode, align_corners),
                               kind=kind + "Backward0")


def _check_sizes(x, out):
    ins = x.shape[2:]
    if min(ins) > 0 and min(out) > 0:
        return
    names = "DHW"[3 - len(ins):]
    if len(ins) == 1:
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input (W: "
                           f"{ins[0]}) and output (W: {out[0]})")
    i = ", ".join(f"{n}: {v}" for n, v in zip(names, ins))
    o = ", ".join(f"{n}: {v}" for n, v in zip(names, out))
    raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({i}) "
                       f"output ({o})")


def _plans(x, out, scales, mode, align_corners):
    """One (how, array) per spatial axis for ops.resample.Interpolate."""
    dt = x.array.dtype.type if x.dtype.is_floating_point else np.float32
    plans = []
    for k, (n, m) in enumerate(zip(x.shape[2:], out)):
        s = None if scales is None else scales[k]
        if mode.startswith("nearest"):
            plans.append(("index", R.nearest_index(n, m, s, exact=mode == "nearest-exact")))
        elif mode == "bicubic":
            plans.append(("matrix", R.cubic_matrix(n, m, align_corners, s, dt)))
        else:
            plans.append(("matrix", R.linear_matrix(n, m, align_corners, s, dt)))
    return plans


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _int_arg(fn, name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{fn}(): argument '{name}' (position 2) must be int, not "
                        f"{type_name(v)}")
    return int(v)


def pixel_shuffle(input, upscale_factor):
    """Move r*r channel groups into r x r pixel blocks (Shi et al., 2016).

    Shapes: (*, C*r*r, H, W) -> (*, C, H*r, W*r).
    """
    _tensor("pixel_shuffle", "input", 1, input)
    r = _int_arg("pixel_shuffle", "upscale_factor", upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    C = input.shape[-3]
    if C % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={C} "
                           f"is not divisible by {r * r}")
    return R.PixelShuffle.apply(input, r=r, down=False)


def pixel_unshuffle(input, downscale_factor):
    """The inverse of pixel_shuffle. Shapes: (*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    _tensor("pixel_unshuffle", "input", 1, input)
    r = _int_arg("pixel_unshuffle", "downscale_factor", downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for name, axis in (("height", -2), ("width", -1)):
        n = input.shape[axis]
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({axis})={n} is not divisible "
                               f"by {r}")
    return R.PixelShuffle.apply(input, r=r, down=True)
