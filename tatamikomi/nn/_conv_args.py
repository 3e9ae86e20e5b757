"""The conv functions' argument checks: PyTorch's exception types, messages and order, in one place.

The order matters because PyTorch reports the first failing check; it was learned by running
PyTorch 2.13 on every bad input (tests/test_conv_errors.py and tests/test_conv_transpose.py keep
us honest). conv1d and conv2d share one parser with two signatures (a padding string or not);
conv_transpose1d/2d have one signature, whose errors name the argument. A 1-d conv is checked
with its own shapes and then runs as a 2-d conv with H = 1 (ConvSpec is always 2-d); the checks
PyTorch makes on that 2-d view print it, kernel_height: 1 and all.
"""
import inspect

import numpy as np

from ..dtypes import type_name
from ..kernels.spec import ConvSpec
from ..tensor import Tensor

_P = inspect.Parameter
NAMES = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}
TRANSPOSED_NAMES = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
                    "dilation")
TRANSPOSED_DEFAULTS = dict(DEFAULTS, output_padding=0)


def _signature(names, defaults):
    return inspect.Signature([_P(n, _P.POSITIONAL_OR_KEYWORD, default=defaults.get(n, _P.empty))
                              for n in names])


SIGNATURE = _signature(NAMES, DEFAULTS)
TRANSPOSED_SIGNATURE = _signature(TRANSPOSED_NAMES, TRANSPOSED_DEFAULTS)


def _dims(fn):
    """Spatial dimensions of a conv function: conv1d -> 1, conv_transpose2d -> 2."""
    return int(fn[-2])


def _invalid(fn, args, kwargs):
    # PyTorch lists the keywords last to first
    got = [type_name(a) for a in args] + [f"{k}={type_name(v)}"
                                          for k, v in reversed(kwargs.items())]
    return TypeError(
        f"{fn}() received an invalid combination of arguments - got ({', '.join(got)}), but "
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


def _unpack(fn, name, v):
    """A matched 'tuple of ints' argument as a list, an int repeated for each spatial axis."""
    if isinstance(v, str):
        return v
    if _is_int(v):
        if int(v) not in INT64:
            raise ValueError(OVERFLOW)
        return [int(v)] * _dims(fn)
    for i, e in enumerate(v):
        if not (_is_int(e) or isinstance(e, (bool, np.bool_))):   # a bool passes past pos 0
            why = f'type must be tuple of ints,but got {type(e).__name__}"'
        elif int(e) not in INT64:               # PyTorch's next lines are its C++ stack trace
            why = f"{OVERFLOW}\nEvery value must lie in [-2**63, 2**63)."
        else:
            continue
        raise TypeError(f"{fn}(): argument '{name}' failed to unpack the object at pos {i + 1} "
                        f'with error "{why}')
    return [int(e) for e in v]


def _bind(args, kwargs, names=NAMES, defaults=None):
    """SIGNATURE.bind(...).apply_defaults() for its positional-or-keyword parameters, or None.

    By hand: inspect's binding took 40 % of a tiny conv2d call (57 us, the tutorial's 1x4x5x5).
    """
    defaults = DEFAULTS if defaults is None else defaults
    if len(args) > len(names):
        return None
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names or k in bound:                            # unknown, or given twice
            return None
        bound[k] = v
    for n in names:
        if n not in bound:
            if n not in defaults:                                   # input or weight missing
                return None
            bound[n] = defaults[n]
    return bound


def parse(args, kwargs, fn="conv2d"):
    """Bind conv1d's or conv2d's arguments as PyTorch's parser does; TypeError for wrong types,
    ValueError for integers past int64.

    The parser first matches the types, then unpacks the values from the last argument to the
    first (groups, dilation, padding, stride): the first failure there names its argument.
    """
    a = _bind(args, kwargs)
    if a is None:
        raise _invalid(fn, args, kwargs)
    x, w, b, groups = a["input"], a["weight"], a["bias"], a["groups"]
    ok = isinstance(x, Tensor) and isinstance(w, Tensor) and (b is None or isinstance(b, Tensor))
    ok = ok and _is_int(groups) and _int_list(a["stride"]) and _int_list(a["dilation"])
    if not ok or not _int_list(a["padding"], allow_str=True):
        raise _invalid(fn, args, kwargs)
    if int(groups) not in INT64:
        raise ValueError(OVERFLOW)
    dilation = _unpack(fn, "dilation", a["dilation"])
    padding = _unpack(fn, "padding", a["padding"])
    return x, w, b, _unpack(fn, "stride", a["stride"]), padding, dilation, int(groups)


def parse_transposed(args, kwargs, fn):
    """Bind conv_transpose1d's or conv_transpose2d's arguments as PyTorch's parser binds a
    function of one signature: the first argument missing or of a wrong type, in order, is
    named; then the int lists are unpacked from the last argument to the first.
    """
    names = TRANSPOSED_NAMES
    if len(args) > len(names):
        raise TypeError(f"{fn}() takes from 2 to {len(names)} positional arguments but "
                        f"{len(args)} were given")
    a = dict(zip(names, args))
    for k, v in kwargs.items():
        if k in a:
            raise TypeError(f"{fn}() got multiple values for argument '{k}'")
        a.setdefault(k, v)
    for i, n in enumerate(names):
        if n not in a and n not in TRANSPOSED_DEFAULTS:
            missing = names[max(len(args), i):2]     # PyTorch lists from the first one missing
            s = "s" if len(missing) == 1 else ""     # (and its plural is the other way round)
            raise TypeError(f"{fn}() missing {len(missing)} required positional argument{s}: "
                            + ", ".join(f'"{m}"' for m in missing))
        _check_type(fn, n, i, a.get(n, TRANSPOSED_DEFAULTS.get(n)), i < len(args))
    for k in kwargs:
        if k not in names:
            raise TypeError(f"{fn}() got an unexpected keyword argument '{k}'")
    a = dict(TRANSPOSED_DEFAULTS, **a)
    out = {}
    for n in reversed(names[3:]):               # dilation, groups, output_padding, ...
        if n == "groups":
            if int(a[n]) not in INT64:
                raise ValueError(OVERFLOW)
            out[n] = int(a[n])
        else:
            out[n] = _unpack(fn, n, a[n])
    return (a["input"], a["weight"], a["bias"], out["stride"], out["padding"],
            out["output_padding"], out["groups"], out["dilation"])


def _check_type(fn, name, i, v, positional):
    """One argument against its type in the transposed convs' signature."""
    where = f" (position {i + 1})" if positional else ""
    if name in ("input", "weight", "bias"):
        if isinstance(v, Tensor) or name == "bias" and v is None:
            return
        want = "Tensor"
    elif name == "groups":
        if _is_int(v):
            return
        want = "int"
    else:
        if _int_list(v):
            return
        if positional and isinstance(v, (tuple, list)):
            raise TypeError(f"{fn}(): argument '{name}'{where} must be tuple of ints, but found "
                            f"element of type {type_name(v[0])} at pos 0")
        want = "tuple of ints"
    raise TypeError(f"{fn}(): argument '{name}'{where} must be {want}, not {type_name(v)}")


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


def check_string(x, w, stride, padding, dilation, groups, fn="conv2d"):
    """PyTorch's checks for padding='same'/'valid'; returns the padding per side of the 2-d
    view, (top, bottom, left, right)."""
    _check_rank(x, fn)
    if padding not in ("same", "valid"):
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    if padding == "valid":
        return (0, 0, 0, 0)
    if w.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    _check_weight_rank(x, w, fn, "")
    k = w.ndim - 2
    for name, v in (("stride", stride), ("dilation", dilation)):
        if len(v) not in (1, k):
            raise RuntimeError(f"{name} cannot broadcast to {k} dimensions")
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads = same_padding(w.shape[2:], _fit("dilation", dilation, k))
    if min(pads) < 0:
        raise RuntimeError("negative padding is not supported")
    return pads if k == 2 else (0, 0) + pads


def _check_weight_rank(x, w, fn, space=" "):
    """The weight's rank against the input's, an unbatched input reported batched (PyTorch's
    'same' path prints no space before the weight's size)."""
    n = _dims(fn) + 2
    if w.ndim != n:
        shape = list(x.shape) if x.ndim == n else [1] + list(x.shape)
        raise RuntimeError(f"Expected {w.ndim}-dimensional input for {w.ndim}-dimensional weight"
                           f"{space}{list(w.shape)}, but got {n}-dimensional input of size "
                           f"{shape} instead")


def _check_rank(x, fn):
    n = _dims(fn) + 1
    if x.ndim not in (n, n + 1):
        raise RuntimeError(f"Expected {n}D (unbatched) or {n + 1}D (batched) input to {fn}, but "
                           f"got input of size: {list(x.shape)}")


def _batched(x, fn):
    """x's shape with the batch axis an unbatched input gets."""
    return tuple(x.shape) if x.ndim == _dims(fn) + 2 else (1,) + tuple(x.shape)


def _planar(shape, fill=1):
    """A 1-d conv's shape or per-axis list as the 2-d conv it runs: H = 1 in front (a padding
    gets 0)."""
    return tuple(shape[:-1]) + (fill,) + tuple(shape[-1:]) if len(shape) in (1, 3) else \
        tuple(shape)


def _common(x, w, b, stride, padding, dilation, output_padding, groups, fn, transposed):
    """The checks of a conv and a transposed conv up to their channel checks, in PyTorch's
    order; returns the batched input shape and stride, padding, dilation per axis."""
    _check_rank(x, fn)
    shape = _batched(x, fn)
    if w.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    k = w.ndim - 2
    stride = _fit("stride", stride, k)
    padding = padding if padding is None else _fit("padding", padding, k)
    dilation = _fit("dilation", dilation, k)
    # a conv hands PyTorch's kernel its output_padding of zeros, checked like the others
    output_padding = _fit("output_padding", output_padding, k)
    if padding is not None and min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(output_padding) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) < 0:
        raise RuntimeError("dilation should be greater than zero")
    _check_weight_rank(x, w, fn)
    wshape = tuple(w.shape)
    if wshape[0] < groups or wshape[0] == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(wshape)} instead")
    if wshape[0] % groups:                      # PyTorch prints this size in double brackets
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{list(wshape)}] instead")
    return shape, stride, padding, dilation, output_padding


def check(x, w, b, stride, padding, dilation, groups, sides=None, fn="conv2d"):
    """Validate conv1d's or conv2d's arguments in PyTorch's order; return the ConvSpec (x taken
    as batched, a 1-d conv as H = 1).

    Shapes: x (N, C, H, W) or (C, H, W), w (O, C // groups, KH, KW), b (O,) or None; 1-d:
    x (N, C, W) or (C, W), w (O, C // groups, KW).
    """
    if b is not None and b.dtype != x.dtype:
        raise RuntimeError(f"Input type ({x.dtype.c_name}) and bias type "
                           f"({b.dtype.c_name}) should be the same")
    shape, stride, padding, dilation, _ = _common(
        x, w, b, stride, None if sides is not None else padding, dilation, [0] * _dims(fn),
        groups, fn, False)
    if sides is None:                           # the 2-d view's (top, bottom, left, right)
        sides = (padding[0], padding[0], padding[-1], padding[-1]) if len(padding) == 2 else \
            (0, 0, padding[0], padding[0])
    _check_channels(shape, tuple(w.shape), groups)
    O = w.shape[0]
    if b is not None and (b.ndim != 1 or b.shape[0] != O):
        raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be "
                           f"1-dimensional with {O} elements, but got bias of size "
                           f"{list(b.shape)} instead")
    _check_pad_max(sides[2 * (2 - _dims(fn))::2])
    shape4, (_, _, KH, KW) = _planar(shape), _planar(tuple(w.shape))
    stride, dilation = _planar(stride), _planar(dilation)
    _check_dilation(dilation, (KH, KW))
    # In int64, as PyTorch computes it: a padding near PAD_MAX wraps the size negative.
    size = (_int64(shape4[2] + sides[0] + sides[1]), _int64(shape4[3] + sides[2] + sides[3]))
    kernel = (dilation[0] * (KH - 1) + 1, dilation[1] * (KW - 1) + 1)
    if size[0] < kernel[0] or size[1] < kernel[1]:
        n = _dims(fn)
        raise RuntimeError(f"Calculated padded input size per channel: ({_by(size[-n:])}). "
                           f"Kernel size: ({_by(kernel[-n:])}). Kernel size can't be greater "
                           "than actual input size")
    _check_empty(shape4)
    if KH <= 0 or KW <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{KH} kernel_width: {KW}")
    if w.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype.torch_name} but found "
                           f"{w.dtype.torch_name}")
    return ConvSpec.make(shape4, _planar(tuple(w.shape)), stride, sides, dilation, groups,
                         _compute_dtype(x))


def _by(sizes):
    return " x ".join(str(s) for s in sizes)


def _compute_dtype(x):
    """The dtype the kernels compute in: float16 widens to float32, integers to float64."""
    return {"float64": "float64", "float32": "float32", "float16": "float32"}.get(x.dtype.name,
                                                                                "float64")


def _check_empty(shape4):
    """PyTorch runs a conv of no samples or no channels (its output is zeros), and no other
    empty input."""
    if shape4[0] and shape4[1] and 0 in shape4:
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input "
                           f"shape: {list(shape4)}")


def _check_pad_max(pads):
    for i, p in enumerate(pads):
        if p > PAD_MAX:
            raise RuntimeError(f"Given padding={p} at dimension {i} , expected padding to be at "
                               f"most {PAD_MAX}")


def check_transposed(x, w, b, stride, padding, output_padding, groups, dilation, fn):
    """Validate conv_transpose1d's or conv_transpose2d's arguments in PyTorch's order.

    Returns the ConvSpec of the conv whose gradient the transposed conv is: from the output's
    shape to the input's (spec.C = out channels, spec.O = in channels; 1-d as H = 1).
    Shapes: x (N, C, H, W) or (C, H, W), w (C, O // groups, KH, KW), b (O,) or None; 1-d:
    x (N, C, W) or (C, W), w (C, O // groups, KW).
    """
    shape, stride, padding, dilation, output_padding = _common(
        x, w, b, stride, padding, dilation, output_padding, groups, fn, True)
    _check_pad_max(padding)
    wshape = tuple(w.shape)
    if shape[1] != wshape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(wshape)}, expected "
                           f"input{list(shape)} to have {wshape[0]} channels, but got "
                           f"{shape[1]} channels instead")
    O = wshape[1] * groups
    if b is not None and (b.ndim != 1 or b.shape[0] != O):
        raise RuntimeError(f"Given transposed=1, weight of size {list(wshape)}, expected bias to "
                           f"be 1-dimensional with {O} elements, but got bias of size "
                           f"{list(b.shape)} instead")
    shape4, w4 = _planar(shape), _planar(wshape)
    stride, dilation = _planar(stride), _planar(dilation)
    padding, output_padding = _planar(padding, 0), _planar(output_padding, 0)
    out = tuple(_int64((n - 1) * s - 2 * p + d * (k - 1) + 1 + op) for n, s, p, d, k, op in zip(
        shape4[2:], stride, padding, dilation, w4[2:], output_padding))
    if shape4[0] == 0:                          # PyTorch's empty path: no more checks
        return ConvSpec.make((0, O) + out, w4, stride, padding, dilation, groups,
                             _compute_dtype(x))
    _check_empty(shape4)
    _check_slow_transposed(shape4, w4, stride, padding, dilation, output_padding)
    if min(out) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: "
                           f"{[shape4[0], O] + list(out)}")
    _check_transposed_dtypes(x, w, b)
    return ConvSpec.make((shape4[0], O) + out, w4, stride, padding, dilation, groups,
                         _compute_dtype(x))


def _check_slow_transposed(shape4, w4, stride, padding, dilation, output_padding):
    """PyTorch's transposed-conv kernel checks the 2-d view again, its arguments narrowed to C
    ints (a stride of 2**32 reads as 0)."""
    (sh, sw), (ph, pw), (dh, dw), (oh, ow) = (
        [_int32(v) for v in p] for p in (stride, padding, dilation, output_padding))
    KH, KW = w4[2:]
    if KH <= 0 or KW <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{KH} kernel_width: {KW}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {sh} "
                           f"stride_width: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dh}, dilation_width: {dw}")
    if not ((ow < sw or ow < dw) and (oh < sh or oh < dh)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but "
                           f"got output_padding_height: {oh} output_padding_width: {ow} "
                           f"stride_height: {sh} stride_width: {sw} dilation_height: {dh} "
                           f"dilation_width: {dw}")
    if 0 in w4:
        raise RuntimeError(f"non-empty 2D or 4D weight tensor expected, but got: {list(w4)}")
    H, W = shape4[2:]
    OH = (H - 1) * sh - 2 * ph + (dh * (KH - 1) + 1) + oh
    OW = (W - 1) * sw - 2 * pw + (dw * (KW - 1) + 1) + ow
    if OH < 1 or OW < 1:
        raise RuntimeError(f"Given input size per channel: ({H} x {W}). Calculated output size "
                           f"per channel: ({OH} x {OW}). Output size is too small")


def _check_transposed_dtypes(x, w, b):
    """The dtypes, last: PyTorch's kernel checks them once its output exists."""
    if x.dtype.is_floating_point or x.dtype.name == "int64":
        if w.dtype != x.dtype:
            raise RuntimeError(f"expected scalar type {x.dtype.torch_name} but found "
                               f"{w.dtype.torch_name}")
        if x.dtype.name == "float16" and b is not None and b.dtype != x.dtype:
            raise RuntimeError(f"Input type ({x.type()}) and bias type ({b.type()}) should be "
                               "the same or input should be a MKLDNN tensor and bias is a dense "
                               "tensor")
    else:
        raise NotImplementedError(f"\"slow_conv_transpose2d_out_cpu\" not implemented for "
                                  f"'{x.dtype.torch_name}'")


def _check_channels(shape, wshape, groups):
    """The input's channels against the weight's (a channels-last input gets a hint)."""
    Cg = wshape[1]
    if shape[1] != Cg * groups:
        # channels-last only when C is last and smaller than H and W: a 5-wide map is not
        last = len(shape) == 4 and shape[-1] == Cg * groups and shape[-1] < min(shape[1:3])
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


def _int32(n):
    """n narrowed to a C int."""
    return (n + 2 ** 31) % 2 ** 32 - 2 ** 31


def _check_dilation(dilation, kernel):
    if min(dilation) < 0:
        raise RuntimeError("dilation should be greater than zero")
    if min(dilation) == 0:
        if min(kernel) <= 0:
            raise RuntimeError(f"kernel size should be greater than zero, but got {list(kernel)}")
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
