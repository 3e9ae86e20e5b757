"""Receptive fields read off the traced autograd graph: size, jump and start per spatial axis.

For a tensor T, output unit u (along one axis) sees input pixels centred on start + u * jump,
size pixels wide (0-based pixel centres: the input itself has size 1, jump 1, start 0). Each
conv or pooling node with kernel k, stride s, dilation d and leading padding p maps
(r, j, start) to
    k_eff = d*(k - 1) + 1,  r' = r + (k_eff - 1)*j,  j' = j*s,  start' = start + ((k_eff-1)/2 - p)*j
(Araujo, Norris & Sim, "Computing receptive fields of convolutional neural networks", 2019).

A transposed conv runs that map backwards: output unit u gathers input units
i = (u + p - t*d) / s over its taps t, so j' = j/s, start' = start + (p - (k_eff-1)/2)*j/s, and
r' = r + (m - 1)*j with m the most input units one output unit gathers (ceil(k/s) when d = 1);
with s > 1 the windows alternate around that line by up to (s - 1)/(2s) input units.

A global feature (a mean over the map, or a 1x1 map) multiplied or added back onto a spatial map,
as squeeze-and-excitation does, lets every unit see the whole input: such fields are marked
`whole`, and size, jump and start keep describing the local path.
"""
from dataclasses import dataclass, replace

from .. import zeros
from ..autograd import enable_grad
from ..ops import movement
from ..ops import pool as P
from ..ops.conv import Conv2d, ConvTranspose2d, IntConv2d
from ..ops.layers import Linear
from ..ops.matmul import MatMul
from ..ops.reduce import Extreme, Mean, Sum

_FLATTENING = (movement.Reshape, movement.Permute, Linear, MatMul, Sum, Mean, Extreme)


@dataclass(frozen=True)
class ReceptiveField:
    """size, jump and start as (height, width); flattened: they describe the last spatial map;
    whole: a global branch also reaches every input pixel (size is the local path's)."""

    size: tuple
    jump: tuple
    start: tuple
    flattened: bool = False
    whole: bool = False

    def __str__(self):
        start = "x".join(f"{s:g}" for s in self.start)
        text = (f"receptive field {self.size[0]}x{self.size[1]}, jump {self.jump[0]}x"
                f"{self.jump[1]}, start {start}")
        if self.whole:
            text += " (local path; a global branch reaches the whole input)"
        return text + (" (of the last spatial map before flattening)" if self.flattened else "")


INPUT = ReceptiveField((1, 1), (1, 1), (0.0, 0.0))


def _window(rf, kernel, stride, pad_lo, dilation):
    """One conv/pool node: the module docstring's formulas, per axis."""
    size, jump, start = [], [], []
    for r, j, s0, k, s, p, d in zip(rf.size, rf.jump, rf.start, kernel, stride, pad_lo, dilation):
        k_eff = d * (k - 1) + 1
        size.append(r + (k_eff - 1) * j)
        jump.append(j * s)
        start.append(s0 + ((k_eff - 1) / 2 - p) * j)
    return ReceptiveField(tuple(size), tuple(jump), tuple(start), whole=rf.whole)


def _transposed_window(rf, kernel, stride, pad_lo, dilation):
    """One transposed conv node: the module docstring's formulas, per axis."""
    size, jump, start = [], [], []
    for r, j, s0, k, s, p, d in zip(rf.size, rf.jump, rf.start, kernel, stride, pad_lo, dilation):
        k_eff = d * (k - 1) + 1
        most = max(sum((u + p - t * d) % s == 0 for t in range(k)) for u in range(s))
        size.append(r + (most - 1) * j)
        jump.append(j / s)
        start.append(s0 + (p - (k_eff - 1) / 2) * j / s)
    return ReceptiveField(tuple(size), tuple(jump), tuple(start), whole=rf.whole)


def _unit_axis_only(x_shape, shape):
    """A reshape that only adds or drops a size-1 height (the 1-d layers' trip through 2-d)."""
    a, b = tuple(x_shape), tuple(shape)
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return (len(longer) == len(shorter) + 1 and len(longer) >= 3 and longer[-2] == 1
            and longer[:-2] + longer[-1:] == shorter)


def _merge(rfs, what):
    """Branches meeting (add, cat over channels, ...): the hull of their windows.

    Jumps must agree (they do whenever the branch shapes line up); with equal starts the hull
    is simply the largest size.
    """
    if len({rf.jump for rf in rfs}) > 1:
        raise ValueError(f"{what} joins branches with different jumps "
                         f"{sorted({rf.jump for rf in rfs})}")
    lo = [min(rf.start[a] - (rf.size[a] - 1) / 2 for rf in rfs) for a in range(2)]
    hi = [max(rf.start[a] + (rf.size[a] - 1) / 2 for rf in rfs) for a in range(2)]
    size = tuple(int(round(h - lo_ + 1)) for lo_, h in zip(lo, hi))
    return ReceptiveField(size, rfs[0].jump, tuple((lo_ + h) / 2 for lo_, h in zip(lo, hi)),
                          whole=any(rf.whole for rf in rfs))


def _adaptive_window(node):
    """AdaptiveAvgPool2d as a plain pool, when every window is equal: n divisible by out."""
    (H, W), (OH, OW) = node.x_shape[-2:], node.output_size
    if H % OH or W % OW:
        raise NotImplementedError(f"adaptive pooling from {H}x{W} to {OH}x{OW}: windows differ "
                                  "in size when the input is not a multiple of the output")
    return (H // OH, W // OW), (H // OH, W // OW)


def _broadcast(t, rf, shape):
    """True when t is a global feature spread over a larger spatial output (flat or 1x1)."""
    if len(shape) < 3 or tuple(shape[-2:]) == (1, 1):
        return False
    return rf.flattened or len(t.shape) < 3 or tuple(t.shape[-2:]) == (1, 1)


def _node_rf(node, ins, shape):
    """The field of node's output from the fields of its inputs (None: not from the input)."""
    traced = [(t, rf) for t, rf in ins if rf is not None]
    name = type(node).__name__
    if not traced:
        return None
    spread = [rf for t, rf in traced if _broadcast(t, rf, shape)]
    if spread and len(spread) < len(traced):      # a gate on a map: squeeze-and-excitation
        local = _node_rf(node, [(t, rf) for t, rf in traced if not _broadcast(t, rf, shape)],
                         shape)
        return replace(local, whole=True)
    if any(rf.flattened for _, rf in traced):
        if not all(rf.flattened for _, rf in traced):
            raise NotImplementedError(f"{name} broadcasts flattened (global) features back onto "
                                      "a spatial map; the field would be the whole input")
        return max((rf for _, rf in traced), key=lambda rf: rf.size)
    x, rf = traced[0]
    if isinstance(node, (Conv2d, IntConv2d)):
        sp = node.spec
        return _window(rf, sp.kernel_size, sp.stride, sp.padding[::2], sp.dilation)
    if isinstance(node, ConvTranspose2d):
        sp = node.spec
        return _transposed_window(rf, sp.kernel_size, sp.stride, sp.padding[::2], sp.dilation)
    if isinstance(node, movement.Reshape) and _unit_axis_only(x.shape, shape):
        return rf
    if isinstance(node, (P.MaxPool2d, P.AvgPool2d)):
        kernel, stride, padding, dilation, _ = node.geom    # ceil_mode only clips the last unit
        return _window(rf, kernel, stride, padding, dilation)
    if isinstance(node, P.AdaptiveAvgPool2d):
        kernel, stride = _adaptive_window(node)
        return _window(rf, kernel, stride, (0, 0), (1, 1))
    if isinstance(node, movement.Pad):
        (top, _), (left, _) = node.pairs[-2:]               # output i reads input i - left
        return replace(rf, start=(rf.start[0] - top * rf.jump[0],
                                  rf.start[1] - left * rf.jump[1]))
    spatial = len(shape) >= 3 and all(len(t.shape) >= 3 and tuple(t.shape[-2:]) == shape[-2:]
                                      for t, _ in traced)
    if spatial and not (isinstance(node, movement.Permute)
                        and node.dims[-2:] != (len(shape) - 2, len(shape) - 1)):
        return _merge([rf for _, rf in traced], name)       # element-wise, cat over channels
    if len(shape) < 3 or isinstance(node, _FLATTENING):
        last = _merge([rf for _, rf in traced], name)
        return replace(last, flattened=True)
    raise NotImplementedError(f"receptive field through {name} (spatial size "
                              f"{tuple(x.shape[-2:])} -> {tuple(shape[-2:])}) is not supported")


def _order(root):
    """Nodes that root depends on, inputs first, and each node's output shape."""
    order, shapes, state, stack = [], {id(root._node): tuple(root.shape)}, {}, [root._node]
    while stack:
        node = stack.pop()
        if state.get(id(node)) == "open":             # its inputs are all placed: place it
            state[id(node)] = "done"
            order.append(node)
            continue
        if id(node) in state:
            continue
        state[id(node)] = "open"
        stack.append(node)
        for t in node.inputs:
            if t is not None and t._node is not None:
                shapes[id(t._node)] = tuple(t.shape)
                if id(t._node) not in state:
                    stack.append(t._node)
    return order, shapes


class AsReturned:
    """A module's output as a forward hook saw it: node and shape then.

    An in-place op after the module (ReLU(inplace=True) after a conv) rebinds the tensor to its
    own node, which would hide the conv from a later look at the tensor.
    """

    def __init__(self, t):
        self.tensor, self._node, self.shape = t, t._node, tuple(t.shape)


def trace(output, input, cache=None):  # the traced input tensor
    """The field of output (a Tensor or an AsReturned) with respect to input, walking its graph
    back to input.

    cache (a dict) keeps per-node results between calls on the same graph. None if output does
    not depend on input.
    """
    cache = {} if cache is None else cache
    if isinstance(output, AsReturned) and output.tensor._node is output._node:
        output = output.tensor                       # not rebound: the tensor itself
    if output is input:
        return INPUT
    if output._node is None:
        return None
    order, shapes = _order(output)
    for node in order:
        if id(node) not in cache:
            ins = [(t, None if t is None else INPUT if t is input else
                    None if t._node is None else cache[id(t._node)]) for t in node.inputs]
            cache[id(node)] = _node_rf(node, [(t, rf) for t, rf in ins if t is not None],
                                       shapes[id(node)])
    return cache[id(output._node)]


def forward(model, input_size, dtype=None):
    """Run model in eval mode on zeros with the graph recorded; restore its modes after.

    Eval mode, so that a summary moves no BatchNorm statistics and draws nothing from the RNG.
    Returns the input tensor and the output.
    """
    modes = [(m, m.training) for m in model.modules()]
    x = zeros(*input_size, dtype=dtype, requires_grad=True)
    try:
        model.eval()
        with enable_grad():
            out = model(x)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    return x, out


def receptive_field(model, input_size):
    """The receptive field of model's output on an input of input_size (N, C, H, W).

    A model whose output is flat (after flatten or linear) reports its last spatial map, with
    flattened=True.
    """
    x, out = forward(model, input_size)
    out = out[0] if isinstance(out, (tuple, list)) else out
    rf = trace(out, x)
    if rf is None:
        raise ValueError("the model's output does not depend on its input")
    return rf
