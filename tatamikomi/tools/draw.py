"""Draw a layer at work: the sliding window, kernel effects, learned filters, feature maps.

`python -m tatamikomi draw slide "Conv2d(1, 1, 3, stride=2, padding=1)" --input 5,5 --out s.gif`
`python -m tatamikomi draw effects --out effects.png`
`python -m tatamikomi draw filters runs/mnist/checkpoint.pt --layer conv1 --out filters.png`
`python -m tatamikomi draw features model.py:Net --input 1,1,28,28 --out maps.png`
"""
from pathlib import Path

import numpy as np

from .. import manual_seed, no_grad, randn, tensor
from ..cli import UserError, load_file, non_negative, positive, size, writable_folder
from . import animate, summary, viz

LAYER_ERRORS = (ValueError, RuntimeError, TypeError, IndexError)    # a layer's bad arguments


def _state_dict(obj, path, option):
    """The state_dict in what load() gave: train's checkpoint holds it under "model"."""
    state = obj.get("model", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise UserError(f"{option}: {path} holds a {type(obj).__name__}, not a state_dict (save "
                        "model.state_dict(), or use train's checkpoint.pt)")
    return state


def _model(target, checkpoint=None):
    """FILE.py:Class (or module:Class) instantiated, with a checkpoint's weights if given."""
    model = summary.instantiate(target)
    if checkpoint:
        state = _state_dict(load_file(checkpoint, "--checkpoint"), checkpoint, "--checkpoint")
        try:
            model.load_state_dict(state)
        except LAYER_ERRORS + (KeyError,) as e:
            raise UserError(f"--checkpoint: {checkpoint} does not fit {target}: {e}") from None
    return model.eval()


def _weight(target, layer):
    """A conv layer's weight, from a checkpoint (.pt/.pth) or from a freshly built model."""
    if Path(target).suffix in (".pt", ".pth") and ":" not in target:
        state = _state_dict(load_file(target, "filters"), target, "filters")
        key = f"{layer}.weight"
        if key not in state:
            raise UserError(f"--layer {layer}: {target} has no {key}; it has "
                            f"{', '.join(map(str, state))}")
        return viz.as_array(state[key])
    modules = dict(_model(target).named_modules())
    if not hasattr(modules.get(layer), "weight"):
        convs = [n for n, m in modules.items() if getattr(m, "weight", None) is not None]
        raise UserError(f"--layer {layer}: {target} has no layer of that name with a weight; "
                        f"it has {', '.join(convs) or '-'}")
    return modules[layer].weight


def slide(args):
    out = Path(args.out)
    try:
        if out.suffix.lower() == ".gif":
            return animate.animate(args.layer, args.input, out, weights=args.weights,
                                   max_frames=args.max_frames, ms=args.ms)
        return animate.strip(args.layer, args.input, out, weights=args.weights, n=args.frames)
    except LAYER_ERRORS as e:
        raise UserError(f"{args.layer!r} on an input of size {list(args.input)}: {e}") from None


def effects(args):
    image = viz.digit() if args.image == "digit" else None
    return viz.kernel_effects(image, args.out)


def filters(args):
    source = Path(args.target).name if ":" not in args.target else \
        args.target.rpartition(":")[2] + ", initial weights"
    return viz.plot_filters(_weight(args.target, args.layer), args.out, reduce=args.reduce,
                            title=f"{args.layer} filters ({source})")


def _image(path, shape):
    try:
        return tensor(np.load(path).astype(np.float32).reshape(shape))
    except (ValueError, TypeError, AttributeError) as e:     # not one .npy array of that size
        raise UserError(f"--image {path}: {e} (expected a .npy array of {list(shape)} "
                        "numbers)") from None


def _spread_layers(model, most):
    """Up to `most` of the model's conv/ReLU/pool layers, evenly spread from input to output:
    a figure of every layer of a deep model (DenseNet-121 has 360) would be metres tall."""
    names = [n for n, m in model.named_modules() if isinstance(m, viz.CAPTURED)]
    if len(names) <= most:
        return names
    print(f"drawing {most} of the {len(names)} conv/ReLU/pool layers, spread over the model "
          "(--layer NAME chooses, --max-layers N draws more)")
    return [names[round(i * (len(names) - 1) / max(most - 1, 1))] for i in range(most)]


def features(args):
    model = _model(args.model, args.checkpoint)
    shape = args.input
    if args.image:
        x = _image(args.image, shape)
    elif shape[1:2] == (1,) and len(shape) == 4 and shape[2] >= 16:
        x = tensor(np.broadcast_to(viz.digit(shape[2]), shape).astype(np.float32).copy())
    else:
        manual_seed(args.seed)
        x = randn(*shape)
    layers = args.layer or _spread_layers(model, args.max_layers)
    try:
        with viz.capture_activations(model, layers) as acts, no_grad():
            model(x)
    except KeyError as e:
        raise UserError(f"--layer: {e.args[0]}") from None
    except LAYER_ERRORS as e:
        raise UserError(f"{args.model} on an input of size {list(shape)}: {e}") from None
    try:
        return viz.plot_feature_maps(acts, args.out, max_maps=args.max_maps)
    except ValueError as e:
        raise UserError(f"{args.model}: {e}; capture conv, ReLU or pooling layers") from None


def add_arguments(p):
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("slide", help="the kernel window sliding over the padded input")
    s.add_argument("layer", help='a layer call, e.g. "Conv2d(1, 1, 3, stride=2, padding=1)"')
    s.add_argument("--input", required=True, type=size,
                   help="input size H,W or C,H,W, e.g. 5,5")
    s.add_argument("--out", default="slide.gif", help=".gif: animation; .png/.svg: a strip")
    s.add_argument("--weights", default="ones", choices=["ones", "layer"],
                   help="ones: integer sums that read at a glance; layer: its random init")
    s.add_argument("--max-frames", type=positive(int), default=animate.MAX_FRAMES,
                   help="more output positions are sampled evenly (default: %(default)s)")
    s.add_argument("--frames", type=positive(int), default=4,
                   help="frames in a PNG/SVG strip (default: %(default)s)")
    s.add_argument("--ms", type=positive(int), default=900,
                   help="milliseconds per GIF frame (default: %(default)s)")
    e = sub.add_parser("effects", help="the chapter's identity/Sobel/blur/sharpen figure")
    e.add_argument("--image", default="square", choices=["square", "digit"],
                   help="the picture the kernels filter (default: %(default)s)")
    e.add_argument("--out", default="effects.png", help="image file (default: %(default)s)")
    f = sub.add_parser("filters", help="one conv layer's filters")
    f.add_argument("target", help="a checkpoint (.pt) or FILE.py:Class or module:builder (its "
                   "initial weights)")
    f.add_argument("--layer", default="conv1", help="module path, as in named_modules()")
    f.add_argument("--reduce", default="first", choices=["first", "mean"],
                   help="for C_in > 1: the first input channel or the mean")
    f.add_argument("--out", default="filters.png", help="image file (default: %(default)s)")
    m = sub.add_parser("features", help="feature maps of each conv/ReLU/pool layer")
    m.add_argument("model", help="FILE.py:Class or module:builder, e.g. "
                   "tatamikomi.vision.models:resnet18 (called with no arguments)")
    m.add_argument("--input", required=True, type=size,
                   help="input size N,C,H,W, e.g. 1,1,28,28")
    m.add_argument("--checkpoint", help="load these weights first (a state_dict or train's .pt)")
    m.add_argument("--image", help="a .npy input of that size (default: a drawn digit for "
                                   "1-channel inputs, else randn)")
    m.add_argument("--layer", action="append", help="module path to capture (repeatable)")
    m.add_argument("--max-layers", type=positive(int), default=12,
                   help="without --layer, layers drawn, spread over the model (default: "
                        "%(default)s)")
    m.add_argument("--max-maps", type=positive(int), default=16,
                   help="feature maps drawn per layer (default: %(default)s)")
    m.add_argument("--seed", type=non_negative, default=0,
                   help="seed of the randn input (default: %(default)s)")
    m.add_argument("--out", default="features.png", help="image file (default: %(default)s)")


def main(args):
    writable_folder(Path(args.out).parent, f"--out {args.out}")      # before the work
    path = {"slide": slide, "effects": effects, "filters": filters, "features": features}[
        args.what](args)
    print(f"wrote {path}")
    return 0
