"""The eval fast path: in eval mode with grad recording off, a Conv2d runs on weights packed once
(kernels.fused); in a forward we own (Sequential, vision.models' blocks) a following BatchNorm2d
is folded into its weights and bias, and an activation and a residual add run in its output
loop. A lone BatchNorm2d in eval mode is one threaded pass.

Everything cached is keyed by the arrays it was built from and their version counters, so
train(), load_state_dict, an optimizer step, an in-place write, .to(dtype) and re-assigning a
parameter or a child all rebuild it. A write that bypasses the version counter (through
`.data` or `.numpy()`, as in PyTorch) is seen at the next train() or eval(), which drop the
cache. Modules say what they are by a flag in their own class
(`_eval_conv`, `_eval_bn`, `_eval_act`): a subclass with its own forward is never fused.
"""
import weakref

import numpy as np

from ..kernels import elementwise, fused
from . import _conv_args

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_CACHE = weakref.WeakKeyDictionary()        # conv module -> _Entry


class _Entry:
    """A conv's packed weights (BatchNorm folded in, or not), the key they were built from,
    and the specs met so far (by input shape and conv arguments)."""

    __slots__ = ("key", "refs", "packed", "specs")


def forget(module):
    """Drop what module's eval path cached (train() calls it: training must not hold it)."""
    _CACHE.pop(module, None)


def hooked(m):
    d = m.__dict__
    return bool(m._forward_hooks or m._forward_pre_hooks or d.get("_backward_hooks")
                or d.get("_backward_pre_hooks"))


def _flag(m, name):
    return type(m).__dict__.get(name)


def act_of(m):
    """The fused name of activation module m (kernels.fused.ACTS), or None when m is not one."""
    if m is None or hooked(m):
        return None
    act = _flag(m, "_eval_act")
    if act == "relu6" and (m.min_val, m.max_val) != (0, 6):
        return None
    return act


def foldable(bn, O, dtype):
    """Whether BatchNorm2d bn, in eval mode with running statistics, folds into a conv of O
    output channels and the given dtype."""
    return (bn is not None and _flag(bn, "_eval_bn") and not bn.training and not hooked(bn)
            and bn.running_mean is not None and bn.running_var is not None
            and bn.num_features == O and bn.running_mean.array.dtype == dtype)


def convable(conv, x):
    """Whether conv (a Conv2d) can run packed on x (4-d float32/float64 of its dtype)."""
    if not _flag(conv, "_eval_conv") or conv.padding_mode != "zeros":
        return False
    a = getattr(x, "array", None)
    return (a is not None and a.ndim == 4 and a.dtype in _FLOATS
            and conv.weight.array.dtype == a.dtype and not isinstance(conv.padding, str))


def _arrays(*tensors):
    return tuple(None if t is None else t.array for t in tensors)


def _key(conv, bn):
    """What the packed weights depend on: each source array, its version and the BN's eps."""
    ts = (conv.weight, conv.bias) + ((bn.weight, bn.bias, bn.running_mean, bn.running_var)
                                     if bn is not None else ())
    return tuple((id(t.array), t._vc[0]) if t is not None else None for t in ts) + \
        ((id(bn), bn.eps) if bn is not None else (None,)), _arrays(*ts)


def _fold(conv, bn):
    """conv's weight and bias with bn folded in (in float64, rounded once):
    w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta."""
    w, b = conv.weight.array, None if conv.bias is None else conv.bias.array
    if bn is None:
        return w, b
    scale = 1.0 / np.sqrt(bn.running_var.array.astype(np.float64) + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.array
    shift = -bn.running_mean.array.astype(np.float64) if b is None else b - bn.running_mean.array
    shift = shift * scale + (0.0 if bn.bias is None else bn.bias.array)
    return w * scale.reshape(-1, 1, 1, 1), shift


def _entry(conv, bn, x):
    """conv's cache entry for bn, rebuilt when a source changed; x only gives the first spec."""
    key, refs = _key(conv, bn)
    e = _CACHE.get(conv)
    if e is None or e.key != key:
        w, b = _fold(conv, bn)
        e = _Entry()
        e.key, e.refs, e.specs = key, refs, {}
        e.packed = fused.pack(w, _spec(e, conv, x), b)
        _CACHE[conv] = e
    return e


def _spec(e, conv, x):
    """The ConvSpec of conv on x, checked as F.conv2d checks it (once per shape)."""
    sk = (x.array.shape, conv.stride, conv.padding, conv.dilation, conv.groups)
    spec = e.specs.get(sk)
    if spec is None:
        spec = e.specs[sk] = _conv_args.check(x, conv.weight, conv.bias, conv.stride,
                                              conv.padding, conv.dilation, conv.groups)
    return spec


def conv(conv, x, bn=None, act=None, residual=None):
    """act(bn(conv(x)) + residual) in one fused call, as a Tensor; the caller checked
    convable(conv, x) and foldable(bn, ...). Shapes: x (N, C, H, W) -> (N, O, OH, OW)."""
    e = _entry(conv, bn, x)
    spec = _spec(e, conv, x)
    r = None if residual is None else residual.array
    if r is not None and (r.shape != spec.y_shape or r.dtype != spec.dtype):
        return x._make(fused.forward(x.array, e.packed, spec, act)) + residual
    return x._make(fused.forward(x.array, e.packed, spec, act, r))


def conv_alone(m, x):
    """Conv2d's own eval forward, or None where the plain path must run."""
    if not convable(m, x) or x.array.size == 0 or m.in_channels == 0:
        return None
    return conv(m, x)


def batch_norm(bn, x):
    """BatchNorm's eval forward as one pass (x * a + b per channel), or None for the plain
    path. a = weight / sqrt(var + eps), b = bias - mean * a, folded in float64."""
    a = getattr(x, "array", None)
    if (a is None or a.dtype not in _FLOATS or a.ndim < 2 or a.size == 0
            or bn.running_mean is None or bn.running_var is None
            or any(t is not None and t.array.dtype != a.dtype
                   for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var))
            or bn.running_mean.array.size != a.shape[1]):
        return None
    scale = 1.0 / np.sqrt(bn.running_var.array.astype(np.float64) + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.array
    shift = -bn.running_mean.array * scale + (0.0 if bn.bias is None else bn.bias.array)
    y = elementwise.scale_shift(np.ascontiguousarray(a).reshape(a.shape[0], a.shape[1], -1),
                                scale.astype(a.dtype), shift.astype(a.dtype))
    return x._make(y.reshape(a.shape))


def fusable(x, *pairs):
    """Whether each (conv, bn) of a block we own runs fused on x's dtype: hookless Conv2d that
    can run packed, each followed by a foldable BatchNorm2d (the block's forward checks its
    activation with act_of)."""
    return all(convable(c, x) and not hooked(c) and foldable(bn, c.out_channels, x.array.dtype)
               for c, bn in pairs) and x.array.size > 0


def group(mods, i, x):
    """The fusable run that starts at mods[i] on input x: (conv, bn, act, next index), or None
    when mods[i] is not a Conv2d that can run packed."""
    conv = mods[i]
    if not convable(conv, x) or hooked(conv) or x.array.size == 0 or conv.in_channels == 0:
        return None
    n, j = len(mods), i + 1
    bn = mods[j] if j < n and foldable(mods[j], conv.out_channels, x.array.dtype) else None
    j += bn is not None
    act = act_of(mods[j]) if j < n else None
    return conv, bn, act, j + (act is not None)


def sequential(mods, x, residual=None):
    """Sequential's eval forward: each Conv2d [-> BatchNorm2d] [-> activation] is one fused
    call, the other modules run as they are; + residual at the end (into the last conv's
    output loop when it ends the run with no activation)."""
    mods = list(mods)
    i, n = 0, len(mods)
    while i < n:
        g = group(mods, i, x)
        if g is None:
            x, i = mods[i](x), i + 1
            continue
        c, bn, act, i = g
        last = residual is not None and i == n and act is None
        x = conv(c, x, bn, act, residual if last else None)
        if last:
            return x
    return x if residual is None else residual + x
