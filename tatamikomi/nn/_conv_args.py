"""conv2d's argument checks: PyTorch's exception types, messages and order, in one place.

The order matters because PyTorch reports the first failing check; it was learned by running
PyTorch 2.13 on every bad input (tests/test_conv_errors.py keeps us honest).
"""
import inspect

import numpy as np

from ..kernels.spec import ConvSpec
from ..tensor import Tensor

SIGNATURE = inspect.Signature([
    inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    inspect.Parameter("weight", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    *(inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
      for n, d in (("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1),
                   ("groups", 1)))])


def _type_name(v):
    if isinstance(v, Tensor):
        return type(v).__name__
    if isinstance(v, np.ndarray):
        return "numpy.ndarray"
    return type(v).__name__


def _invalid(args, kwargs):
    # PyTorch lists the keywords last to first
    got = [_type_name(a) for a in args] + [f"{k}={_type_name(v)}"
                                           for k, v in reversed(kwargs.items())]
    return TypeError(
        f"conv2d() received an invalid combination of arguments - got ({', '.join(got)}), but "
        "expected one of:\n * (Tensor input, Tensor weight, Tensor bias = None, tuple of ints "
        "stride = 1, tuple of ints padding = 0, tuple of ints dilation = 1, int groups = 1)\n"
        " * (Tensor input, Tensor weight, Tensor bias = None, tuple of ints stride = 1, str "
        "padding = \"valid\", tuple of ints dilation = 1, int groups = 1)\n")


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) or (
        isinstance(v, Tensor) and v.ndim == 0 and not v.dtype.is_floating_point)


# PyTorch unpacks integer arguments into int64: anything outside overflows.
INT64 = range(-2 ** 63, 2 ** 63)
OVERFLOW = "Overflow when unpacking long long"


def _int_list(v, allow_str=False):
    """Whether v matches 'tuple of ints' in the signature: an int, a str where allowed, or a
    tuple/list whose first element is an int (the parser looks at no other element)."""
    if allow_str and isinstance(v, str) or _is_int(v):
        return True
    return isinstance(v, (tuple, list)) and (len(v) == 0 or _is_int(v[0]))


def _unpack(name, v):
    """A matched 'tuple of ints' argument as a list, an int repeated for both axes."""
    if isinstance(v, str):
        return v
    if _is_int(v):
        if int(v) not in INT64:
            raise ValueError(OVERFLOW)
        return [int(v)] * 2
    for i, e in enumerate(v):
        if not _is_int(e):
            why = f'type must be tuple of ints,but got {type(e).__name__}"'
        elif int(e) not in INT64:               # PyTorch's next lines are its C++ stack trace
            why = f"{OVERFLOW}\nEvery value must lie in [-2**63, 2**63)."
        else:
            continue
        raise TypeError(f"conv2d(): argument '{name}' failed to unpack the object at pos {i + 1} "
                        f'with error "{why}')
    return [int(e) for e in v]


_NAMES = tuple(SIGNATURE.parameters)
_DEFAULTS = {n: p.default for n, p in SIGNATURE.parameters.items() if p.default is not p.empty}


def _bind(args, kwargs):
    """SIGNATURE.bind(...).apply_defaults() for its positional-or-keyword parameters, or None.

    By hand: inspect's binding took 40 % of a tiny conv2d call (57 us, the tutorial's 1x4x5x5).
    """
    if len(args) > len(_NAMES):
        return None
    bound = dict(zip(_NAMES, args))
    for k, v in kwargs.items():
        if k not in _NAMES or k in bound:                           # unknown, or given twice
            return None
        bound[k] = v
    for n in _NAMES:
        if n not in bound:
            if n not in _DEFAULTS:                                  # input or weight missing
                return None
            bound[n] = _DEFAULTS[n]
    return bound


def parse(args, kwargs):
    """Bind conv2d's arguments as PyTorch's parser does; TypeError for wrong types, ValueError
    for integers past int64.

    The parser first matches the types, then unpacks the values from the last argument to the
    first (groups, dilation, padding, stride): the first failure there names its argument.
    """
    a = _bind(args, kwargs)
    if a is None:
        raise _invalid(args, kwargs)
    x, w, b, groups = a["input"], a["weight"], a["bias"], a["groups"]
    ok = isinstance(x, Tensor) and isinstance(w, Tensor) and (b is None or isinstance(b, Tensor))
    ok = ok and _is_int(groups) and _int_list(a["stride"]) and _int_list(a["dilation"])
    if not ok or not _int_list(a["padding"], allow_str=True):
        raise _invalid(args, kwargs)
    if int(groups) not in INT64:
        raise ValueError(OVERFLOW)
    dilation = _unpack("dilation", a["dilation"])
    padding = _unpack("padding", a["padding"])
    return x, w, b, _unpack("stride", a["stride"]), padding, dilation, int(groups)


def _fit(name, v, k):
    """Broadcast a 1-element list to k axes, or PyTorch's length error."""
    if len(v) == 1:
        return v * k
    if len(v) != k:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {k} values "
                           f"to match the convolution dimensions, but got {name}={v}")
    return v


def same_padding(kernel_size, dilation):
    """'same' padding per side, (top, bottom, left, right): any odd total goes to the end."""
    out = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        out += [total // 2, total - total // 2]
    return tuple(out)


def check_string(x, w, stride, padding, dilation, groups):
    """PyTorch's checks for padding='same'/'valid'; returns the integer padding to use."""
    _check_rank(x)
    if padding not in ("same", "valid"):
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    if padding == "valid":
        return (0, 0, 0, 0)
    if w.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    _check_weight_rank(x, w)
    k = w.ndim - 2
    for name, v in (("stride", stride), ("dilation", dilation)):
        if len(v) not in (1, k):
            raise RuntimeError(f"{name} cannot broadcast to {k} dimensions")
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads = same_padding(w.shape[2:], _fit("dilation", dilation, 2))
    if min(pads) < 0:
        raise RuntimeError("negative padding is not supported")
    return pads


def _check_weight_rank(x, w):
    """The weight's rank against the input's, an unbatched input reported batched."""
    if w.ndim != 4:
        shape = list(x.shape) if x.ndim == 4 else [1] + list(x.shape)
        raise RuntimeError(f"Expected {w.ndim}-dimensional input for {w.ndim}-dimensional weight"
                           f"{list(w.shape)}, but got 4-dimensional input of size {shape} instead")


def _check_rank(x):
    if x.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                           f"input of size: {list(x.shape)}")


def check(x, w, b, stride, padding, dilation, groups, sides=None):
    """Validate in PyTorch's order; return the ConvSpec (x taken as batched).

    Shapes: x (N, C, H, W) or (C, H, W), w (O, C // groups, KH, KW), b (O,) or None.
    """
    if b is not None and b.dtype != x.dtype:
        raise RuntimeError(f"Input type ({x.dtype.c_name}) and bias type "
                           f"({b.dtype.c_name}) should be the same")
    _check_rank(x)
    shape = tuple(x.shape) if x.ndim == 4 else (1,) + tuple(x.shape)
    if w.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    k = w.ndim - 2
    stride, dilation = _fit("stride", stride, k), dilation
    if sides is not None:                       # already per side, from 'same' / 'valid'
        pads = tuple(sides)
    else:
        p = _fit("padding", padding, k)
        pads = (p[0], p[0], p[-1], p[-1])
    dilation = _fit("dilation", dilation, k)
    _check_weight_rank(x, w)
    if min(pads) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    _check_channels(shape, tuple(w.shape), groups)
    O, _, KH, KW = w.shape
    if b is not None and (b.ndim != 1 or b.shape[0] != O):
        raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be "
                           f"1-dimensional with {O} elements, but got bias of size "
                           f"{list(b.shape)} instead")
    for i, p in enumerate(pads[::2]):
        if p > PAD_MAX:
            raise RuntimeError(f"Given padding={p} at dimension {i} , expected padding to be at "
                               f"most {PAD_MAX}")
    _check_dilation(dilation, (KH, KW))
    # In int64, as PyTorch computes it: a padding near PAD_MAX wraps the size negative.
    H, W = _int64(shape[2] + pads[0] + pads[1]), _int64(shape[3] + pads[2] + pads[3])
    kh, kw = dilation[0] * (KH - 1) + 1, dilation[1] * (KW - 1) + 1
    if H < kh or W < kw:
        raise RuntimeError(f"Calculated padded input size per channel: ({H} x {W}). Kernel size: "
                           f"({kh} x {kw}). Kernel size can't be greater than actual input size")
    if KH <= 0 or KW <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{KH} kernel_width: {KW}")
    if w.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype.torch_name} but found "
                           f"{w.dtype.torch_name}")
    # The dtype the kernels compute in: float16 widens to float32, integers to float64
    dtype = {"float64": "float64", "float32": "float32", "float16": "float32"}.get(x.dtype.name,
                                                                                  "float64")
    return ConvSpec.make(shape, tuple(w.shape), tuple(stride), pads, tuple(dilation), groups,
                         dtype)


def _check_channels(shape, wshape, groups):
    O, Cg = wshape[0], wshape[1]
    if O < groups or O == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(wshape)} instead")
    if O % groups:                              # PyTorch prints this size in double brackets
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{list(wshape)}] instead")
    if shape[1] != Cg * groups:
        # channels-last only when C is last and smaller than H and W: a 5-wide map is not
        last = shape[-1] == Cg * groups and shape[-1] < min(shape[1], shape[2])
        hint = ("\nHint: the input looks channels-last (N, H, W, C); convs want (N, C, H, W): "
                "x.permute(0, 3, 1, 2), or x.permute(2, 0, 1) for one unbatched image"
                if last else "")
        raise RuntimeError(f"Given groups={groups}, weight of size {list(wshape)}, expected "
                           f"input{list(shape)} to have {Cg * groups} channels, but got "
                           f"{shape[1]} channels instead" + hint)


# PyTorch bounds each padding so that padding on both sides still fits in int64.
PAD_MAX = 2 ** 62 - 1


def _int64(n):
    """n wrapped into int64, as C++ arithmetic leaves it."""
    return (n + 2 ** 63) % 2 ** 64 - 2 ** 63


def _check_dilation(dilation, kernel):
    if min(dilation) < 0:
        raise RuntimeError("dilation should be greater than zero")
    if min(dilation) == 0:
        if min(kernel) <= 0:
            raise RuntimeError(f"kernel size should be greater than zero, but got {list(kernel)}")
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
