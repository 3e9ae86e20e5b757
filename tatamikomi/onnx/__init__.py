"""torch.onnx.export for tatamikomi models: run the model once, record its ops, write ONNX.

`export(model, args, f, input_names=, output_names=, dynamic_axes=, opset_version=)` runs
model(*args) in eval mode with recording on (`_trace.py`), then writes one ONNX translation
per recorded op (`_ops.py`), walking back from the outputs so that only what they depend on is
written. Parameters and buffers become initializers under their state_dict names; every other
value that does not depend on the inputs is computed once and stored (constant folding is how
the trace works, so do_constant_folding=False changes nothing). The ModelProto is built with
the `onnx` package (`pip install onnx`, the `onnx` extra), checked with onnx.checker and
written atomically. A dynamic axis keeps its name in the graph's shapes; reshapes then copy the
leading dimensions they share with their input (ONNX's 0), the usual case of a batch axis.
"""
import os

import numpy as np

from ..serialization._atomic import write_atomic
from ..tensor import Tensor
from . import _ops, _trace
from ._ops import Unsupported

__all__ = ["export", "Unsupported"]
DEFAULT_OPSET = 17
OPSETS = range(13, 22)


def _onnx():
    try:
        import onnx
    except ModuleNotFoundError:
        raise ModuleNotFoundError("tatamikomi.onnx.export needs the onnx package: pip install "
                                  "onnx (or pip install tatamikomi[onnx])") from None
    return onnx


class _Graph:
    """The ONNX graph being written from a trace (nodes, initializers, value names)."""

    def __init__(self, onnx, calls, inputs, names, opset, dynamic):
        self.onnx, self.opset, self.dynamic = onnx, opset, dynamic
        self.by_node = {id(c.node): c for c in calls}
        self.inputs = {id(t): n for t, n in zip(inputs, names)}
        self.nodes, self.inits, self.done, self.named_consts = [], [], {}, {}
        self.counter = 0

    # ----- values
    def fresh(self, stem):
        self.counter += 1
        return f"{stem}_{self.counter}"

    def const(self, array, name=None):
        array = np.ascontiguousarray(array)
        name = name or self.fresh("const")
        self.inits.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def const_named(self, c, key, array):
        """An argument array of an op (BatchNorm's running mean), stored once."""
        k = id(array)
        if k not in self.named_consts:
            self.named_consts[k] = self.const(array, self.params.get(k))
        return self.named_consts[k]

    def producer(self, c, i):
        parent = c.parents[i]
        return None if parent is None else self.by_node.get(id(parent))

    def input(self, c, i):
        """The value name of input i of call c: an op's output, a graph input or a constant."""
        t = c.inputs[i]
        made = self.producer(c, i)
        if made is not None:
            return self.emit(made)
        if id(t) in self.inputs:
            return self.inputs[id(t)]
        if c.parents[i] is not None:
            raise Unsupported(f"{c.parents[i].name()} made an input of {c.cls.__name__} "
                              "outside the trace")
        return self.const_named(c, None, t.array)

    def shape_for(self, c):
        """c's output shape for a Reshape/Expand: dims it shares with its input at the same
        leading positions become 0 (copy) when an axis is dynamic."""
        out, src = list(c.output.shape), list(c.inputs[0].shape)
        if self.dynamic and c.cls.__name__ == "Reshape":
            for k, (a, b) in enumerate(zip(out, src)):
                if a != b:
                    break
                out[k] = 0
        elif self.dynamic:                  # Expand: 1 keeps whatever the input has there
            src = [None] * (len(out) - len(src)) + src
            out = [1 if b == a else a for a, b in zip(out, src)]
        return np.array(out, np.int64)

    # ----- nodes
    def node(self, op, inputs, **attrs):
        out = self.fresh(op)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], name=out,
                                                     **attrs))
        return out

    def emit(self, c):
        if id(c.node) not in self.done:
            fn = _ops.EMIT.get(c.cls.__name__)
            if fn is None:
                raise Unsupported(f"{c.node.name()} ({c.cls.__name__}) has no ONNX translation "
                                  "in tatamikomi.onnx")
            self.done[id(c.node)] = fn(self, c)
        return self.done[id(c.node)]


def _as_tuple(args):
    if isinstance(args, Tensor):
        return (args,)
    if not isinstance(args, tuple) or not all(isinstance(a, Tensor) for a in args):
        raise TypeError("export's args must be a tensor or a tuple of tensors")
    return args


def _value_info(onnx, name, t, dynamic):
    axes = dynamic.get(name, {})
    if isinstance(axes, (list, tuple)):
        axes = {a: f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(axes)}
    dims = [axes.get(k, d) for k, d in enumerate(t.shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(t.array.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None,
           output_names=None, opset_version=None, do_constant_folding=True, dynamic_axes=None,
           keep_initializers_as_inputs=None, **kwargs):
    """Write model's computation on args as an ONNX file at f (a path or a binary file).

    Shapes: args are the example inputs; the graph's shapes are theirs except dynamic axes.
    """
    onnx = _onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset not in OPSETS:
        raise ValueError(f"opset_version {opset} is not supported: use {OPSETS.start} to "
                         f"{OPSETS.stop - 1}")
    if not export_params:
        raise ValueError("export_params=False is not supported: parameters are initializers")
    args = _as_tuple(args)
    if not all(a.dtype.is_floating_point for a in args):
        raise TypeError("export traces through autograd: its example inputs must be floating "
                        "point tensors")
    inputs = tuple(Tensor._make(a.array.copy(), requires_grad=True) for a in args)
    names = list(input_names or [])
    names += [f"input.{k}" if k else "input" for k in range(len(names), len(inputs))]
    dynamic = dynamic_axes or {}
    was_training = getattr(model, "training", False)
    if hasattr(model, "train"):
        model.train(False)
    try:
        with _trace.record() as calls:
            result = model(*inputs)
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    outs = result if isinstance(result, (tuple, list)) else (result,)
    out_names = list(output_names or [])
    out_names += [f"output.{k}" if k else "output" for k in range(len(out_names), len(outs))]
    g = _Graph(onnx, calls, inputs, names, opset, bool(dynamic))
    g.params = {id(t.array): n for n, t in _state(model)}
    finals = []
    for t, name in zip(outs, out_names):
        node = t.grad_fn
        value = g.emit(g.by_node[id(node)]) if node is not None and id(node) in g.by_node \
            else g.inputs.get(id(t)) or g.const(t.array)
        g.nodes.append(onnx.helper.make_node("Identity", [value], [name], name=f"{name}_id"))
        finals.append(_value_info(onnx, name, t, dynamic))
    graph = onnx.helper.make_graph(
        g.nodes, "tatamikomi", [_value_info(onnx, n, a, dynamic) for n, a in zip(names, args)],
        finals, g.inits)
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="tatamikomi",
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
    else:
        write_atomic(os.fspath(f), lambda out: out.write(data))
    return proto


def _state(model):
    """(name, tensor) of the model's parameters and buffers, for the initializers' names."""
    if not hasattr(model, "named_buffers"):
        return []
    return [*model.named_parameters(), *model.named_buffers()]

