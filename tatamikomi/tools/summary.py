"""A model's layer table: output shapes, parameters, MACs, memory, conv kernel, receptive field.

MACs count multiply-accumulates of conv (N*O*OH*OW*(C/groups)*KH*KW) and linear (N*in*out)
layers only; pooling, activations, dropout and normalization count 0. FLOPs = 2 x MACs.
"""
import importlib
import importlib.util
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from .. import dtypes, nn
from ..cli import UserError, size
from ..nn.conv import _ConvNd
from ..ops.conv import Conv2d, ConvTranspose2d
from ..ops.movement import Reshape
from . import receptive

CONVENTION = "\n".join([
    "MACs: conv N*O*OH*OW*(C/groups)*KH*KW, linear N*in*out; pooling, activations, dropout and",
    "normalization count 0. FLOPs = 2 x MACs. RF, jump, start: receptive field of the layer's",
    "output in input pixels (height x width); start: centre of unit 0 (pixel centres 0, 1, ...)."])
WHOLE = ("RF all: a global branch (e.g. squeeze-and-excitation) reaches every input pixel; jump "
         "and\nstart still describe the local path.")


@dataclass
class Row:
    """One call of one leaf module."""

    name: str
    type: str
    output_shape: list
    params: int
    macs: int
    memory: int                # bytes of the output
    kernel: str = None         # the conv kernel tatamikomi chose, e.g. 'im2col'
    rf: tuple = None           # (height, width); None where the output is not spatial
    jump: tuple = None
    start: tuple = None
    whole: bool = False        # a global branch reaches every input pixel

    @property
    def flops(self):
        return 2 * self.macs


def _pair_text(v):
    return "-" if v is None else "x".join(f"{a:g}" for a in v)


class Summary:
    """The rows of summary(), totals as attributes, and the table as str()."""

    def __init__(self, rows, input_size, dtype, total_params, trainable_params):
        self.rows, self.input_size, self.dtype = rows, list(input_size), dtype
        self.total_params, self.trainable_params = total_params, trainable_params
        self.total_macs = sum(r.macs for r in rows)
        self.total_flops = 2 * self.total_macs

    def __str__(self):
        head = ["Layer", "Type", "Output shape", "Params", "MACs", "Out bytes", "Kernel", "RF",
                "Jump", "Start"]
        body = [[r.name, r.type, str(r.output_shape), f"{r.params:,}", f"{r.macs:,}",
                 f"{r.memory:,}", r.kernel or "-", "all" if r.whole else _pair_text(r.rf),
                 _pair_text(r.jump),
                 _pair_text(r.start)] for r in self.rows]
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
        left = {0, 1, 2, 6}                        # text columns; numbers align right

        def fmt(line):
            cells = [c.ljust(w) if i in left else c.rjust(w)
                     for i, (c, w) in enumerate(zip(line, widths))]
            return "  ".join(cells).rstrip()

        rule = "-" * len(fmt(head))
        memory = sum(r.memory for r in self.rows)
        outside = self.total_params - sum(r.params for r in self.rows)
        lines = [fmt(head), rule, *map(fmt, body), rule,
                 f"Input: {self.input_size} {self.dtype}",
                 f"Total params: {self.total_params:,}",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                 f"Total MACs: {self.total_macs:,}",
                 f"Total FLOPs: {self.total_flops:,}",
                 f"Output memory of all layers: {memory:,} bytes"]
        if outside:
            lines.append(f"Params outside the listed layers (unused or held by containers): "
                         f"{outside:,}")
        whole = [WHOLE] if any(r.whole for r in self.rows) else []
        return "\n".join(lines + [rule, CONVENTION] + whole)

    __repr__ = __str__                             # the table, in a REPL or a notebook


def _conv_node(node):
    """The conv node (either direction, 1-d or 2-d) among node and the squeezes of an unbatched
    or 1-d call that reshape it; its spec counts the work either way (a transposed conv runs
    its spec's grad_input, the same multiply-adds)."""
    while isinstance(node, Reshape):
        node = node.inputs[0]._node
    return node if isinstance(node, (Conv2d, ConvTranspose2d)) else None


def _row(name, module, returned, new_params, x, cache):
    """A Row for one call: shape, params, MACs (conv from the traced spec), kernel, field."""
    macs, kernel, out = 0, None, returned.tensor
    conv = _conv_node(returned._node)
    if isinstance(module, _ConvNd) and conv is not None:
        macs, kernel = conv.spec.macs, conv.kernel.__name__.rsplit(".", 1)[-1]
    elif isinstance(module, nn.Linear):
        macs = out.numel() * module.in_features      # out.numel() = N * out_features
    try:
        rf = receptive.trace(returned, x, cache)
    except (NotImplementedError, ValueError):      # unsupported op: leave the field blank
        rf = None
    spatial = rf is not None and not rf.flattened
    return Row(name or type(module).__name__, type(module).__name__, list(out.shape),
               new_params, macs, out.array.nbytes, kernel, rf.size if spatial else None,
               rf.jump if spatial else None, rf.start if spatial else None,
               spatial and rf.whole)


def summary(model, input_size, dtype=dtypes.float32):
    """Run model once on zeros of input_size and tabulate every call of every leaf module.

    The forward records the graph (the receptive field and the chosen kernel are read from it)
    in eval mode, and runs no backward. Parameters shared by several layers count once.
    """
    calls = []
    leaves = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]

    def record(name, module, result):
        out = result[0] if isinstance(result, (tuple, list)) else result
        calls.append((name, module, receptive.AsReturned(out)))

    handles = [m.register_forward_hook(lambda mod, args, result, name=n: record(name, mod, result))
               for n, m in leaves]
    try:
        x, _ = receptive.forward(model, input_size, dtype)
    finally:
        for h in handles:
            h.remove()
    rows, seen, cache = [], set(), {}
    for name, module, returned in calls:
        new = [p for p in module.parameters() if id(p) not in seen]
        seen.update(id(p) for p in new)
        rows.append(_row(name, module, returned, sum(p.numel() for p in new), x, cache))
    params = list(model.parameters())
    return Summary(rows, input_size, dtype, sum(p.numel() for p in params),
                   sum(p.numel() for p in params if p.requires_grad))


def _choices(module):
    """What a target may name in module: its __all__ if it has one, else its Module classes."""
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if callable(getattr(module, n, None))]
    return sorted(n for n, v in vars(module).items()
                  if isinstance(v, type) and issubclass(v, nn.Module) and
                  v.__module__ == module.__name__)


def load(target):
    """'path/to/file.py:ClassName' or 'package.module:name' -> the class or builder function.

    A builder is any function that returns a model, e.g. tatamikomi.vision.models:resnet18.
    """
    where, _, cls = target.rpartition(":")
    if not where or not cls:
        raise UserError(f"expected FILE.py:ClassName or module:ClassName, got {target!r}")
    try:
        if where.endswith(".py"):
            path = Path(where).resolve()
            if not path.is_file():
                raise UserError(f"{where}: no such file (expected FILE.py:ClassName)")
            sys.path.insert(0, str(path.parent))     # so the file can import its neighbours
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except UserError:
        raise
    except Exception as e:  # the user's own file failed: say where, no traceback
        frames = traceback.extract_tb(e.__traceback__)
        at = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        raise UserError(f"{where} did not load: {type(e).__name__}: {e}{at}") from None
    found = getattr(module, cls, None)
    if not (isinstance(found, type) or isinstance(found, types.FunctionType)):
        raise UserError(f"{where} has no class {cls!r} (nor a function that builds a model); "
                        f"its modules: {', '.join(_choices(module)) or '-'}")
    return found


def instantiate(target):
    """load(target)() for the command line: a class that needs arguments is a UserError."""
    cls = load(target)
    try:
        model = cls()
    except Exception as e:  # the user's own __init__
        raise UserError(f"{target}() failed: {type(e).__name__}: {e} (the command line builds "
                        "the model with no arguments)") from None
    if not isinstance(model, nn.Module):
        raise UserError(f"{target}() returned a {type(model).__name__}, not an nn.Module")
    return model


def add_arguments(p):
    p.add_argument("model", help="FILE.py:ClassName or module:builder, e.g. "
                   "tatamikomi.vision.models:resnet18 (called with no arguments)")
    p.add_argument("--input", required=True, type=size,
                   help="input size N,C,H,W, e.g. 1,1,28,28")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                   help="dtype of the zeros the model runs on (default: %(default)s)")


def main(args):
    model = instantiate(args.model)
    try:
        table = summary(model, args.input, getattr(dtypes, args.dtype))
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        raise UserError(f"{args.model} on an input of size {list(args.input)}: {e}") from None
    print(table)
    return 0


class _CallableModule(types.ModuleType):
    """This module, callable as its summary(): `from tatamikomi.tools import summary`.

    One name, one object: `summary(model, (1, 1, 28, 28))` works as torchinfo's does, while
    `tatamikomi.tools.summary.Summary` and `import tatamikomi.tools.summary` keep working.
    """

    def __call__(self, model, input_size, dtype=dtypes.float32):
        return summary(model, input_size, dtype)


sys.modules[__name__].__class__ = _CallableModule
