"""Draw a layer at work: the sliding window, kernel effects, learned filters, feature maps.

`python -m tatamikomi draw slide "Conv2d(1, 1, 3, stride=2, padding=1)" --input 5,5 --out s.gif`
`python -m tatamikomi draw effects --out effects.png`
`python -m tatamikomi draw filters runs/mnist/checkpoint.pt --layer conv1 --out filters.png`
`python -m tatamikomi draw features model.py:Net --input 1,1,28,28 --out maps.png`
"""
from pathlib import Path

import numpy as np

from .. import load, manual_seed, no_grad, randn, tensor
from . import animate, summary, viz


def _size(text):
    return tuple(int(v) for v in text.split(","))


def _model(target, checkpoint=None):
    """FILE.py:Class (or module:Class) instantiated, with a checkpoint's weights if given."""
    model = summary.load(target)()
    if checkpoint:
        state = load(checkpoint)
        model.load_state_dict(state.get("model", state))   # train's checkpoint, or a state_dict
    return model.eval()


def _weight(target, layer):
    """A conv layer's weight, from a checkpoint (.pt/.pth) or from a freshly built model."""
    if Path(target).suffix in (".pt", ".pth") and ":" not in target:
        state = load(target)
        state = state.get("model", state)
        key = f"{layer}.weight"
        if key not in state:
            raise SystemExit(f"{target} has no {key}; it has {', '.join(state)}")
        return viz.as_array(state[key])
    return dict(_model(target).named_modules())[layer].weight


def slide(args):
    out = Path(args.out)
    if out.suffix.lower() == ".gif":
        return animate.animate(args.layer, _size(args.input), out, weights=args.weights,
                               max_frames=args.max_frames, ms=args.ms)
    return animate.strip(args.layer, _size(args.input), out, weights=args.weights, n=args.frames)


def effects(args):
    image = viz.digit() if args.image == "digit" else None
    return viz.kernel_effects(image, args.out)


def filters(args):
    source = Path(args.target).name if ":" not in args.target else \
        args.target.rpartition(":")[2] + ", initial weights"
    return viz.plot_filters(_weight(args.target, args.layer), args.out, reduce=args.reduce,
                            title=f"{args.layer} filters ({source})")


def features(args):
    model = _model(args.model, args.checkpoint)
    size = _size(args.input)
    if args.image:
        x = tensor(np.load(args.image).astype(np.float32).reshape(size))
    elif size[1:2] == (1,) and size[2] >= 16:
        x = tensor(np.broadcast_to(viz.digit(size[2]), size).astype(np.float32).copy())
    else:
        manual_seed(args.seed)
        x = randn(*size)
    with viz.capture_activations(model, args.layer or None) as acts, no_grad():
        model(x)
    return viz.plot_feature_maps(acts, args.out, max_maps=args.max_maps)


def add_arguments(p):
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("slide", help="the kernel window sliding over the padded input")
    s.add_argument("layer", help='a layer call, e.g. "Conv2d(1, 1, 3, stride=2, padding=1)"')
    s.add_argument("--input", required=True, help="input size H,W or C,H,W, e.g. 5,5")
    s.add_argument("--out", default="slide.gif", help=".gif: animation; .png/.svg: a strip")
    s.add_argument("--weights", default="ones", choices=["ones", "layer"],
                   help="ones: integer sums that read at a glance; layer: its random init")
    s.add_argument("--max-frames", type=int, default=animate.MAX_FRAMES)
    s.add_argument("--frames", type=int, default=4, help="frames in a PNG/SVG strip")
    s.add_argument("--ms", type=int, default=900, help="milliseconds per GIF frame")
    e = sub.add_parser("effects", help="the chapter's identity/Sobel/blur/sharpen figure")
    e.add_argument("--image", default="square", choices=["square", "digit"])
    e.add_argument("--out", default="effects.png")
    f = sub.add_parser("filters", help="one conv layer's filters")
    f.add_argument("target", help="a checkpoint (.pt) or FILE.py:Class (its initial weights)")
    f.add_argument("--layer", default="conv1", help="module path, as in named_modules()")
    f.add_argument("--reduce", default="first", choices=["first", "mean"],
                   help="for C_in > 1: the first input channel or the mean")
    f.add_argument("--out", default="filters.png")
    m = sub.add_parser("features", help="feature maps of each conv/ReLU/pool layer")
    m.add_argument("model", help="FILE.py:Class (instantiated with no arguments)")
    m.add_argument("--input", required=True, help="input size N,C,H,W, e.g. 1,1,28,28")
    m.add_argument("--checkpoint", help="load these weights first (a state_dict or train's .pt)")
    m.add_argument("--image", help="a .npy input of that size (default: a drawn digit for "
                                   "1-channel inputs, else randn)")
    m.add_argument("--layer", action="append", help="module path to capture (repeatable)")
    m.add_argument("--max-maps", type=int, default=16)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", default="features.png")


def main(args):
    path = {"slide": slide, "effects": effects, "filters": filters, "features": features}[
        args.what](args)
    print(f"wrote {path}")
    return 0
