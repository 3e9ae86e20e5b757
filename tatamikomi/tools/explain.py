"""Explain one layer on one input: output size worked out per axis, padding, params, MACs, field.

`python -m tatamikomi explain "Conv2d(16, 32, (5, 3), stride=(2, 1))" --input 20,16,100,50`
`python -m tatamikomi explain tatamikomi.vision.models:resnet18 --layer layer2.0.conv1 --input
1,3,224,224` explains a layer of a model on the input it gets there.
"""
import ast

from .. import nn
from ..cli import UserError, size
from ..ops.movement import Pad, Reshape
from . import receptive, shapes

LAYERS = {"Conv2d": nn.Conv2d, "MaxPool2d": nn.MaxPool2d, "AvgPool2d": nn.AvgPool2d}


def parse(text):
    """Build the layer a string like "nn.Conv2d(3, 8, 3, padding='same')" names, safely.

    Only a call of a known layer with literal arguments is accepted: nothing is evaluated.
    """
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValueError(f"cannot parse {text!r}: {e.msg}") from None
    func = getattr(call, "func", None)
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if not isinstance(call, ast.Call) or name not in LAYERS:
        raise ValueError(f"expected a call of one of {', '.join(LAYERS)}, got {text!r}")
    if any(k.arg is None for k in call.keywords):
        raise ValueError("**kwargs are not supported; write each argument out")
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except ValueError:
        raise ValueError(f"arguments must be literals (numbers, tuples, strings): {text!r}") \
            from None
    return LAYERS[name](*args, **kwargs)


def _node(out):
    """The node that produced out, looking through an unbatched call's squeeze."""
    node = out._node
    while isinstance(node, Reshape):
        node = node.inputs[0]._node
    return node


def _conv_axis(axis, n, k, s, lo, hi, d):
    span = n + lo + hi - d * (k - 1) - 1
    out = span // s + 1
    return out, (f"  {axis}: floor(({n} + {lo} + {hi} - {d}*({k} - 1) - 1) / {s}) + 1 = "
                 f"floor({span} / {s}) + 1 = {span // s} + 1 = {out}")


def _pool_axis(axis, n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        out = span // s + 1
        return out, (f"  {axis}: floor(({n} + 2*{p} - {d}*({k} - 1) - 1) / {s}) + 1 = "
                     f"floor({span} / {s}) + 1 = {span // s} + 1 = {out}")
    out = -(-span // s) + 1
    line = (f"  {axis}: ceil(({n} + 2*{p} - {d}*({k} - 1) - 1) / {s}) + 1 = ceil({span} / {s})"
            f" + 1 = {out};\n     last window starts at ({out} - 1)*{s} = {(out - 1) * s}")
    if (out - 1) * s >= n + p:
        return out - 1, line + f" >= {n} + {p}: dropped -> {out - 1}"
    return out, line + f" < {n} + {p}: kept -> {out}"


def _field(x, out):
    rf = receptive.trace(out, x)
    start = ", ".join(f"{v:g}" for v in rf.start)
    return (f"Receptive field of one output unit: {rf.size[0]}x{rf.size[1]} input pixels "
            f"(d*(k - 1) + 1 per axis)\n  neighbouring units are {rf.jump[0]}x{rf.jump[1]} "
            f"pixels apart (the stride)\n  unit (0, 0) is centred on input pixel ({start})")


def _explain_conv(layer, x, out):
    node = _node(out)
    sp, (H, W), pads = node.spec, (node.spec.H, node.spec.W), node.spec.padding
    if isinstance(node.inputs[0]._node, Pad):            # reflect/replicate/circular: F.pad first
        (top, bottom), (left, right) = node.inputs[0]._node.pairs[-2:]
        H, W, pads = H - top - bottom, W - left - right, (top, bottom, left, right)
    (KH, KW), (sh, sw), (dh, dw) = sp.kernel_size, sp.stride, sp.dilation
    top, bottom, left, right = pads
    OH, h_line = _conv_axis("H", H, KH, sh, top, bottom, dh)
    OW, w_line = _conv_axis("W", W, KW, sw, left, right, dw)
    lines = ["Output size per axis:",
             "  out = floor((in + pad_before + pad_after - dilation*(kernel - 1) - 1) / stride)"
             " + 1",
             h_line, w_line, f"Padding applied (top, bottom, left, right): {pads}"
             + ("" if layer.padding_mode == "zeros" else f", filled by {layer.padding_mode}")]
    if layer.padding == "same":
        lines.append(f"  'same': total = dilation*(kernel - 1) = {dh}*({KH} - 1) = {top + bottom}"
                     f" (H), {dw}*({KW} - 1) = {left + right} (W); an odd total puts the extra "
                     "pixel on the bottom/right")
    tf = shapes.tf_same_padding((H, W), sp.kernel_size, sp.stride, sp.dilation)
    lines += [f"TensorFlow's 'SAME' would pad {tf}" + (" too" if tf == pads else ""),
              "  total = max((ceil(in / stride) - 1)*stride + dilation*(kernel - 1) + 1 - in, 0),"
              f"\n  extra on the bottom/right; output ceil(in / stride) = "
              f"{-(-H // sh)}x{-(-W // sw)}, and TF allows stride > 1 with it"]
    Cg, b = sp.C // sp.groups, 0 if layer.bias is None else sp.O
    params = sp.O * Cg * KH * KW + b
    lines.append(f"Parameters: weight O*(C/groups)*KH*KW = {sp.O}*({sp.C}/{sp.groups})*{KH}*{KW}"
                 f" = {params - b:,} + bias {b} = {params:,}")
    lines.append(f"MACs: N*O*OH*OW*(C/groups)*KH*KW = {sp.N}*{sp.O}*{OH}*{OW}*{Cg}*{KH}*{KW} = "
                 f"{sp.macs:,}; FLOPs = 2 x MACs = {2 * sp.macs:,}")
    assert (OH, OW) == (sp.OH, sp.OW) and params == shapes.conv_params(
        sp.C, sp.O, sp.kernel_size, sp.groups, layer.bias is not None)
    return lines, (OH, OW)


def _explain_pool(x, out, node):
    (KH, KW), (sh, sw), (ph, pw), (dh, dw), ceil_mode = node.geom
    H, W = node.x_shape[-2:]
    OH, h_line = _pool_axis("H", H, KH, sh, ph, dh, ceil_mode)
    OW, w_line = _pool_axis("W", W, KW, sw, pw, dw, ceil_mode)
    rule = "ceil" if ceil_mode else "floor"
    lines = ["Output size per axis:",
             f"  out = {rule}((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1",
             *(["  minus 1 if the last window would start at or past in + padding (in the padded"
                " input),", "  where it could cover only right padding"] if ceil_mode else []),
             h_line, w_line, f"Padding applied (top, bottom, left, right): {(ph, ph, pw, pw)}",
             "Parameters: 0 (pooling has no weights)",
             f"MACs: 0 by convention (pooling is not counted); it reads N*C*OH*OW*KH*KW = "
             f"{out.numel() * KH * KW:,} input values"]
    assert (OH, OW) == shapes.pool_output_size((H, W), (KH, KW), (sh, sw), (ph, pw), (dh, dw),
                                               ceil_mode)
    return lines, (OH, OW)


def explain(layer, input_size):
    """The explanation as text; layer is a Module or a string such as "Conv2d(3, 8, 3)"."""
    layer = parse(layer) if isinstance(layer, str) else layer
    x, out = receptive.forward(layer, input_size)
    head = [repr(layer), f"input {list(input_size)} -> output {list(out.shape)}"]
    if isinstance(layer, nn.Conv2d):
        body, shown = _explain_conv(layer, x, out)
    else:
        body, shown = _explain_pool(x, out, _node(out))
    if shown != tuple(out.shape[-2:]):                 # the worked numbers must be the truth
        raise AssertionError(f"explain worked out {shown}, the layer gave {tuple(out.shape)}")
    return "\n".join(head + body + [_field(x, out)])


def in_model(model, name, input_size):
    """explain() for the layer called `name` inside model, on the input it receives there,
    followed by the field of its output in the model's input (branches included)."""
    layers = dict(model.named_modules())
    if not isinstance(layers.get(name), tuple(LAYERS.values())):
        names = [n for n, m in layers.items() if isinstance(m, tuple(LAYERS.values()))]
        raise KeyError(f"no Conv2d, MaxPool2d or AvgPool2d named {name!r}; it has "
                       f"{', '.join(names[:12]) or '-'}" + (", ..." if len(names) > 12 else ""))
    seen = []
    handle = layers[name].register_forward_hook(
        lambda module, args, out: seen.append((tuple(args[0].shape),
                                               receptive.AsReturned(out))))
    try:
        x, _ = receptive.forward(model, input_size)
    finally:
        handle.remove()
    if not seen:
        raise KeyError(f"{name!r} is not called when the model runs in eval mode")
    shape, out = seen[0]
    text = explain(layers[name], shape)
    rf = receptive.trace(out, x)
    return (f"{name} in the model, on an input of size {list(input_size)}\n{text}\n"
            f"In the model's input: {rf}" + ("\n(the first of its calls)" if len(seen) > 1
                                            else ""))


def add_arguments(p):
    p.add_argument("layer", help='a layer call, e.g. "Conv2d(16, 32, 3, padding=1)", or a model '
                   "FILE.py:Class or module:builder with --layer")
    p.add_argument("--input", required=True, type=size,
                   help="input size N,C,H,W, e.g. 20,16,100,50 (the model's input with --layer)")
    p.add_argument("--layer", dest="name", metavar="NAME",
                   help="with a model: the conv or pooling layer to explain, as in "
                        "named_modules(), e.g. layer2.0.conv1")


def main(args):
    if args.name or ("(" not in args.layer and ":" in args.layer):
        from . import summary  # the model loader, only when one is named
        if not args.name:
            raise UserError(f"{args.layer}: name the layer to explain with --layer NAME")
        model = summary.instantiate(args.layer)
        try:
            text = in_model(model, args.name, args.input)
        except KeyError as e:
            raise UserError(f"--layer {args.name}: {args.layer} has {e.args[0]}") from None
        except (ValueError, RuntimeError, TypeError, IndexError) as e:
            raise UserError(f"{args.layer} on an input of size {list(args.input)}: {e}") \
                from None
        print(text)
        return 0
    try:
        text = explain(args.layer, args.input)
    except (ValueError, RuntimeError, TypeError, IndexError) as e:   # the layer's own checks
        raise UserError(f"{args.layer!r} on an input of size {list(args.input)}: {e}") from None
    print(text)
    return 0
