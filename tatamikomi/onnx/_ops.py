"""One ONNX translation per autograd Function: `EMIT[cls name](g, call) -> output value name`.

g is the graph being built (`__init__.py`'s _Graph): g.input(call, i) names the i-th input of
the call, g.const(array) adds an initializer, g.node(op, inputs, **attributes) adds a node and
names its output. Each translation computes what the op computed, from the arguments the op was
called with; where ONNX has no operator with PyTorch's exact rule, an exact composition is
written instead (adaptive average pooling and linear/cubic interpolation as matrix products,
SiLU as x * sigmoid(x), GELU through Erf).
"""
import math

import numpy as np

from ..ops.activation import SELU_ALPHA, SELU_SCALE


class Unsupported(NotImplementedError):  # noqa: N818 - says what it is
    """An op with no translation here (or an argument ONNX cannot express)."""


def _f(x):
    return float(x)


# ----- convolution, linear, pooling, normalization

def conv(g, c):
    s, x_rank = c.params["spec"], c.inputs[0].ndim
    pt, pb, pl, pr = s.padding
    one_d = x_rank == 3
    attrs = dict(kernel_shape=[s.KW] if one_d else [s.KH, s.KW],
                 strides=[s.stride[1]] if one_d else list(s.stride),
                 dilations=[s.dilation[1]] if one_d else list(s.dilation),
                 pads=[pl, pr] if one_d else [pt, pl, pb, pr], group=s.groups)
    ins = [g.input(c, 0), g.input(c, 1)] + ([g.input(c, 2)] if c.inputs[2] is not None else [])
    return g.node("Conv", ins, **attrs)


def conv_transpose(g, c):
    # spec is the conv from the output to the input: its stride, padding, dilation are ours
    s, y = c.params["spec"], c.output.shape
    pt, pb, pl, pr = s.padding
    x = c.inputs[0].shape
    dims = [(x[-2] if len(x) == 4 else 1, y[-2] if len(y) == 4 else 1, s.stride[0],
             s.dilation[0], s.KH, pt + pb), (x[-1], y[-1], s.stride[1], s.dilation[1], s.KW,
                                             pl + pr)]
    extra = [o - ((i - 1) * st - p + d * (k - 1) + 1) for i, o, st, d, k, p in dims]
    one_d = len(x) == 3
    pick = (lambda v: v[1:]) if one_d else (lambda v: v)
    attrs = dict(kernel_shape=pick([s.KH, s.KW]), strides=pick(list(s.stride)),
                 dilations=pick(list(s.dilation)), output_padding=pick(extra),
                 pads=[pl, pr] if one_d else [pt, pl, pb, pr], group=s.groups)
    ins = [g.input(c, 0), g.input(c, 1)] + ([g.input(c, 2)] if c.inputs[2] is not None else [])
    return g.node("ConvTranspose", ins, **attrs)


def addmm(g, c):
    b, x, wt = (g.input(c, i) for i in range(3))
    made = g.producer(c, 2)
    if made is not None and made.cls.__name__ == "Permute" and made.params["dims"] == (1, 0):
        return g.node("Gemm", [x, g.input(made, 0), b], transB=1)    # nn.Linear's weight
    return g.node("Gemm", [x, wt, b])


def max_pool(g, c):
    kernel, stride, padding, dilation, ceil = c.params["geom"]
    ph, pw = padding
    return g.node("MaxPool", [g.input(c, 0)], kernel_shape=list(kernel), strides=list(stride),
                  pads=[ph, pw, ph, pw], dilations=list(dilation), ceil_mode=int(ceil))


def avg_pool(g, c):
    p = c.params
    if p["divisor"] is not None:
        raise Unsupported("avg_pool2d's divisor_override has no ONNX form")
    ph, pw = p["padding"]
    return g.node("AveragePool", [g.input(c, 0)], kernel_shape=list(p["kernel"]),
                  strides=list(p["stride"]), pads=[ph, pw, ph, pw],
                  ceil_mode=int(p["ceil_mode"]), count_include_pad=int(p["count_include_pad"]))


def _bins(n_in, n_out, dtype):
    """Adaptive average pooling along one axis as a matrix: row o averages PyTorch's bin o.

    Shapes: -> (n_out, n_in).
    """
    P = np.zeros((n_out, n_in), dtype)
    for o in range(n_out):
        lo, hi = (o * n_in) // n_out, -(-((o + 1) * n_in) // n_out)
        P[o, lo:hi] = 1.0 / (hi - lo)
    return P


def adaptive_avg_pool(g, c):
    x = c.inputs[0]
    (H, W), (OH, OW) = x.shape[-2:], c.output.shape[-2:]
    if (OH, OW) == (1, 1):
        return g.node("GlobalAveragePool", [g.input(c, 0)])
    dt = x.array.dtype
    y = g.node("MatMul", [g.input(c, 0), g.const(_bins(W, OW, dt).T)])       # (N, C, H, OW)
    return g.node("MatMul", [g.const(_bins(H, OH, dt)), y])                  # (N, C, OH, OW)


def batch_norm(g, c):
    p, x = c.params, c.inputs[0]
    if p["batch_stats"]:
        raise Unsupported("BatchNorm in training mode: export the model in eval mode")
    C, dt = x.shape[1], x.array.dtype
    w = g.input(c, 1) if c.inputs[1] is not None else g.const(np.ones(C, dt))
    b = g.input(c, 2) if c.inputs[2] is not None else g.const(np.zeros(C, dt))
    mean, var = g.const_named(c, "mean", p["mean"]), g.const_named(c, "var", p["var"])
    return g.node("BatchNormalization", [g.input(c, 0), w, b, mean, var],
                  epsilon=_f(p["eps"]))


def layer_norm(g, c):
    if g.opset < 17:
        raise Unsupported("LayerNormalization needs opset_version >= 17")
    p, dt = c.params, c.inputs[0].array.dtype
    shape = c.inputs[0].shape[-p["k"]:]
    w = g.input(c, 1) if c.inputs[1] is not None else g.const(np.ones(shape, dt))
    ins = [g.input(c, 0), w] + ([g.input(c, 2)] if c.inputs[2] is not None else [])
    return g.node("LayerNormalization", ins, axis=-p["k"], epsilon=_f(p["eps"]))


# ----- elementwise

def binary(op):
    return lambda g, c: g.node(op, [g.input(c, 0), g.input(c, 1)])


def unary(op):
    return lambda g, c: g.node(op, [g.input(c, 0)])


def clamp(g, c):
    lo, hi, dt = c.params["lo"], c.params["hi"], c.inputs[0].array.dtype
    return g.node("Clip", [g.input(c, 0), "" if lo is None else g.const(np.asarray(lo, dt)),
                           "" if hi is None else g.const(np.asarray(hi, dt))])


def extremum(g, c):
    return g.node("Max" if c.params["largest"] else "Min", [g.input(c, 0), g.input(c, 1)])


def where(g, c):
    return g.node("Where", [g.const(np.asarray(c.params["cond"])), g.input(c, 0),
                            g.input(c, 1)])


def cast(g, c):
    from onnx import helper
    to = helper.np_dtype_to_tensor_dtype(np.dtype(c.params["dtype"]))
    return g.node("Cast", [g.input(c, 0)], to=int(to))


def _scalar(g, c, v):
    return g.const(np.asarray(v, c.inputs[0].array.dtype))


def activation(g, c):
    fn, p, x = c.params["fn"], c.params["params"], g.input(c, 0)
    if fn == "hardtanh":
        return g.node("Clip", [x, _scalar(g, c, p["lo"]), _scalar(g, c, p["hi"])])
    if fn == "leaky_relu":
        return g.node("LeakyRelu", [x], alpha=_f(p["slope"]))
    if fn == "hardsigmoid":
        return g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)
    if fn == "hardswish":
        if g.opset >= 14:
            return g.node("HardSwish", [x])
        return g.node("Mul", [x, g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)])
    if fn == "silu":
        return g.node("Mul", [x, g.node("Sigmoid", [x])])
    if fn in ("elu", "celu"):
        return _elu(g, c, x, p)
    if fn == "gelu":
        return _gelu(g, c, x, p["approximate"])
    if fn == "softplus":
        if p["beta"] != 1:
            raise Unsupported("softplus with beta != 1 has no ONNX form here")
        return g.node("Softplus", [x])
    if fn == "mish":
        return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])
    if fn == "logsigmoid":
        return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x])])])
    if fn == "threshold":
        keep = g.node("Greater", [x, _scalar(g, c, p["threshold"])])
        return g.node("Where", [keep, x, _scalar(g, c, p["value"])])
    if fn in ("hardshrink", "softshrink"):
        lam = _f(p["lambd"])
        return g.node("Shrink", [x], lambd=lam, bias=lam if fn == "softshrink" else 0.0)
    raise Unsupported(f"activation {fn}")


def _elu(g, c, x, p):
    a, s, i = p["alpha"], p["scale"], p["input_scale"]
    if (a, s, i) == (SELU_ALPHA, SELU_SCALE, 1.0):
        return g.node("Selu", [x], alpha=_f(a), gamma=_f(s))
    if s == 1 and i == 1:
        return g.node("Elu", [x], alpha=_f(a))
    if s == 1 and math.isclose(i * a, 1.0):
        return g.node("Celu", [x], alpha=_f(a))
    raise Unsupported("elu with these scales")


def _gelu(g, c, x, approximate):
    half = g.node("Mul", [x, _scalar(g, c, 0.5)])
    if approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [cube, _scalar(g, c, 0.044715)])]),
                               _scalar(g, c, math.sqrt(2 / math.pi))])
        t = g.node("Tanh", [inner])
    else:
        t = g.node("Erf", [g.node("Mul", [x, _scalar(g, c, math.sqrt(0.5))])])
    return g.node("Mul", [half, g.node("Add", [t, _scalar(g, c, 1.0)])])


def prelu(g, c):
    w, x = c.inputs[1], c.inputs[0]
    slope = g.input(c, 1)
    if w.numel() > 1 and x.ndim > 2:
        slope = g.node("Reshape", [slope, g.const(np.array([-1] + [1] * (x.ndim - 2)))])
    return g.node("PRelu", [g.input(c, 0), slope])


# ----- reductions and softmax

def _axes(g, op, x, axes, keep):
    axes = [int(a) for a in axes]
    if op == "ReduceSum" or g.opset >= 18:
        return g.node(op, [x, g.const(np.array(axes, np.int64))], keepdims=int(keep))
    return g.node(op, [x], axes=axes, keepdims=int(keep))


def _reduce_axes(c):
    axis = c.params["axis"]
    n = c.inputs[0].ndim
    if axis is None:
        return list(range(n))
    return sorted(a % n for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))


def mean(g, c):
    axes, keep, x = _reduce_axes(c), c.params["keepdim"], c.inputs[0]
    if x.ndim == 4 and axes == [2, 3] and keep:
        return g.node("GlobalAveragePool", [g.input(c, 0)])
    return _axes(g, "ReduceMean", g.input(c, 0), axes, keep)


def sum_(g, c):
    return _axes(g, "ReduceSum", g.input(c, 0), _reduce_axes(c), c.params["keepdim"])


def softmax(op):
    return lambda g, c: g.node(op, [g.input(c, 0)], axis=int(c.params["axis"]))


# ----- moving data

def reshape(g, c):
    return g.node("Reshape", [g.input(c, 0), g.const(g.shape_for(c))])


def permute(g, c):
    return g.node("Transpose", [g.input(c, 0)], perm=list(c.params["dims"]))


def identity(g, c):
    return g.input(c, 0)


def expand(g, c):
    return g.node("Expand", [g.input(c, 0), g.const(g.shape_for(c))])


def cat(g, c):
    axis = c.params["axis"] % c.output.ndim
    return g.node("Concat", [g.input(c, i) for i in range(len(c.inputs))], axis=axis)


def pad(g, c):
    p, n = c.params, c.inputs[0].ndim
    pairs = [(0, 0)] * (n - len(p["pad"]) // 2) + [
        (p["pad"][2 * i], p["pad"][2 * i + 1]) for i in reversed(range(len(p["pad"]) // 2))]
    pads = g.const(np.array([lo for lo, _ in pairs] + [hi for _, hi in pairs], np.int64))
    mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
            "circular": "wrap"}[p["mode"]]
    if mode == "wrap" and g.opset < 19:
        raise Unsupported("circular padding needs opset_version >= 19")
    ins = [g.input(c, 0), pads] + ([_scalar(g, c, p.get("value", 0.0))]
                                   if mode == "constant" else [])
    return g.node("Pad", ins, mode=mode)


def getitem(g, c):
    index = c.params["index"]
    items = index if isinstance(index, tuple) else (index,)
    x, shape = g.input(c, 0), c.inputs[0].shape
    arrays = [i for i in items if isinstance(i, np.ndarray)]
    if arrays:
        return _gather(g, c, items)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        fill = len(shape) - sum(i is not None for i in items if i is not Ellipsis)
        items = items[:k] + (slice(None),) * fill + items[k + 1:]
    starts, ends, axes, steps, drop, new, axis = [], [], [], [], [], [], 0
    for i in items:
        if i is None:
            new.append(len(new) + axis - len(drop))
            continue
        if isinstance(i, slice):
            lo, hi, st = i.indices(shape[axis])
            if (lo, hi, st) != (0, shape[axis], 1):
                starts, ends, axes, steps = starts + [lo], ends + [hi], axes + [axis], \
                    steps + [st]
        else:
            k = int(i) % shape[axis]
            starts, ends, axes, steps = starts + [k], ends + [k + 1], axes + [axis], steps + [1]
            drop.append(axis)
        axis += 1
    y = x
    if axes:
        y = g.node("Slice", [y] + [g.const(np.array(v, np.int64))
                                   for v in (starts, ends, axes, steps)])
    if drop:
        y = g.node("Squeeze", [y, g.const(np.array(drop, np.int64))])
    if new:
        y = g.node("Unsqueeze", [y, g.const(np.array(new, np.int64))])
    return y if y is not x else g.node("Identity", [x])


def _gather(g, c, items):
    axis = [k for k, i in enumerate(items) if not (isinstance(i, slice) and i == slice(None))]
    if len(axis) != 1 or not isinstance(items[axis[0]], np.ndarray) or \
            items[axis[0]].dtype.kind not in "iu":
        raise Unsupported("indexing by more than one integer array, or by a mask")
    return g.node("Gather", [g.input(c, 0), g.const(items[axis[0]].astype(np.int64))],
                  axis=axis[0])


def interpolate(g, c):
    y, x = g.input(c, 0), c.inputs[0]
    plans = c.params["plans"]
    lead = x.ndim - len(plans)
    for k, (how, p) in enumerate(plans):
        axis = lead + k
        if how == "index":
            y = g.node("Gather", [y, g.const(np.asarray(p, np.int64))], axis=axis)
        elif axis == x.ndim - 1:
            y = g.node("MatMul", [y, g.const(np.asarray(p, x.array.dtype).T)])
        elif axis == x.ndim - 2:
            y = g.node("MatMul", [g.const(np.asarray(p, x.array.dtype)), y])
        else:
            raise Unsupported("3-d interpolation")
    return y


def matmul(g, c):
    return g.node("MatMul", [g.input(c, 0), g.input(c, 1)])


EMIT = {
    "Conv2d": conv, "ConvTranspose2d": conv_transpose, "Addmm": addmm, "MatMul": matmul,
    "MaxPool2d": max_pool, "AvgPool2d": avg_pool, "AdaptiveAvgPool2d": adaptive_avg_pool,
    "BatchNorm": batch_norm, "LayerNorm": layer_norm,
    "Add": binary("Add"), "Sub": binary("Sub"), "Mul": binary("Mul"), "Div": binary("Div"),
    "Pow": binary("Pow"), "Relu": unary("Relu"), "Clamp": clamp, "Extremum": extremum,
    "Where": where, "Cast": cast, "Activation": activation, "Prelu": prelu,
    "Mean": mean, "Sum": sum_, "Softmax": softmax("Softmax"),
    "LogSoftmax": softmax("LogSoftmax"), "Reshape": reshape, "Permute": permute,
    "Contiguous": identity, "Expand": expand, "Cat": cat, "Pad": pad, "GetItem": getitem,
    "Interpolate": interpolate,
}
for _ours, _theirs in {"Sigmoid": "Sigmoid", "Tanh": "Tanh", "Exp": "Exp", "Log": "Log",
                       "Sqrt": "Sqrt", "Abs": "Abs", "Neg": "Neg", "Sin": "Sin", "Cos": "Cos",
                       "Erf": "Erf", "Floor": "Floor", "Ceil": "Ceil",
                       "Reciprocal": "Reciprocal", "Sign": "Sign"}.items():
    EMIT[_ours] = unary(_theirs)
