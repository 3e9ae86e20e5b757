"""The kernel window sliding over the padded input, drawn from a real nn.Conv2d.

slide() runs the layer on a small integer example and records, for each output position, the
window's cells, where each padded cell's value comes from, and the output our conv2d gave.
animate() draws that as a GIF, one frame per output position; strip() as a PNG/SVG strip.
"""
import copy
from dataclasses import dataclass

import numpy as np

from .. import nn, no_grad, tensor
from ..nn import functional as F
from . import viz
from .explain import parse

MAX_FRAMES = 50          # more output positions than this are sampled evenly
C = viz.OKABE_ITO
COLOURS = {"input": "#CFE8F7", "pad": "#F7DDA6", "tap": C["vermillion"], "kernel": "#F9D5BE",
           "out": C["green"], "done": "#BFE6D9", "todo": "white"}


@dataclass
class Slide:
    """What the drawing needs; padded and sources share the padded grid's coordinates.

    Shapes: x (C, H, W), padded (C, HP, WP), sources (HP, WP, 2) input (row, col) or (-1, -1)
    for a zero, weight (O, C // groups, KH, KW), output (O, OH, OW).
    """

    layer: nn.Conv2d             # the copy that ran, with the example weights
    title: str                   # the real layer's repr and the weights used
    x: np.ndarray
    padded: np.ndarray
    sources: np.ndarray
    pads: tuple                  # (top, bottom, left, right)
    weight: np.ndarray
    bias: np.ndarray
    output: np.ndarray
    frames: list


def conv2d_layer(weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """An nn.Conv2d holding F.conv2d-style arguments, so they can be drawn too."""
    w = viz.as_array(weight)
    O, Cg, KH, KW = w.shape
    layer = nn.Conv2d(Cg * groups, O, (KH, KW), stride, padding, dilation, groups,
                      bias=bias is not None)
    layer.weight = nn.Parameter(tensor(w))
    if bias is not None:
        layer.bias = nn.Parameter(tensor(viz.as_array(bias)))
    return layer


def _example(layer, input_size, x, weights):
    """The layer to run (a copy with example weights unless weights='layer') and its input."""
    size = tuple(input_size)
    size = (layer.in_channels,) + size if len(size) == 2 else size[-3:]
    if x is None:               # small integers read at a glance: 0, 1, 2, ... row by row
        x = np.arange(np.prod(size), dtype=np.float64).reshape(size)
    x = viz.as_array(x).reshape(size)
    named = weights if isinstance(weights, str) else None
    if named not in (None, "ones", "layer"):
        raise ValueError(f"weights must be 'ones', 'layer' or an array, got {weights!r}")
    w, b = {"ones": (np.ones(tuple(layer.weight.shape)), None),
            "layer": (layer.weight, layer.bias)}.get(named, (weights, None))
    run = copy.deepcopy(layer)                 # the caller's layer keeps its weights
    run.weight = nn.Parameter(tensor(viz.as_array(w).reshape(tuple(layer.weight.shape))))
    run.bias = None if b is None else nn.Parameter(tensor(viz.as_array(b)))
    return run, x


def _padded(layer, a):
    """a (C, H, W) padded exactly as the layer pads it: F.pad with the layer's own numbers."""
    left, right, top, bottom = layer._reversed_padding_repeated_twice
    mode = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
    out = F.pad(tensor(a[None]), (left, right, top, bottom), mode=mode)
    return viz.as_array(out)[0], (top, bottom, left, right)


def slide(layer, input_size, x=None, weights="ones", max_frames=MAX_FRAMES):
    """Run layer on an example input and record each output position's window and value.

    layer: an nn.Conv2d or a string such as "Conv2d(1, 1, 3, stride=2)"; input_size (H, W),
    (C, H, W) or (1, C, H, W); weights: "ones" (bias dropped), "layer" or an array.
    """
    layer = parse(layer) if isinstance(layer, str) else layer
    run, x = _example(layer, input_size, x, weights)
    H, W = x.shape[1:]
    padded, pads = _padded(run, x)
    # The padded cells' sources, found by padding each cell's (index + 1): 0 marks a zero.
    index, _ = _padded(run, np.arange(1, H * W + 1, dtype=np.float64).reshape(1, H, W))
    flat = index[0].astype(int) - 1
    sources = np.where(flat[..., None] >= 0, np.stack([flat // W, flat % W], -1), -1)
    with no_grad():
        output = viz.as_array(run(tensor(x[None])))[0]
    w = viz.as_array(run.weight)
    b = np.zeros(w.shape[0]) if run.bias is None else viz.as_array(run.bias)
    O, Cg, KH, KW = w.shape
    (sh, sw), (dh, dw), per_group = run.stride, run.dilation, O // run.groups
    positions = [(o, i, j) for o in range(O) for i in range(output.shape[1])
                 for j in range(output.shape[2])]
    if len(positions) > max_frames:
        keep = np.linspace(0, len(positions) - 1, max_frames).round().astype(int)
        positions = [positions[k] for k in keep]
    frames = []
    for o, i, j in positions:
        rows, cols = sh * i + dh * np.arange(KH), sw * j + dw * np.arange(KW)
        g = o // per_group
        channels = list(range(g * Cg, (g + 1) * Cg))
        frames.append(dict(o=o, i=i, j=j, group=g, channels=channels, rows=rows, cols=cols,
                           window=padded[np.ix_(channels, rows, cols)], weight=w[o],
                           bias=float(b[o]), sources=sources[np.ix_(rows, cols)],
                           value=float(output[o, i, j])))
    used = {"ones": "weights all 1, bias 0", "layer": "the layer's own weights"}
    title = f"{layer!r}\n{used.get(weights, 'given weights') if isinstance(weights, str) else ''}"
    return Slide(run, title, x, padded, sources, pads, w, b, output, frames)


def slide_frames(layer, input_size, x=None, weights="ones", max_frames=MAX_FRAMES):
    """Per-frame dicts: o, i, j, group, channels, rows/cols (padded), window, weight, value."""
    return slide(layer, input_size, x, weights, max_frames).frames


def _num(v):
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


def _fit(text, fontsize):
    """Shrink long numbers ("-10.94") so they stay inside their cell."""
    return fontsize * min(1.0, 4.8 / max(len(text), 1))


def _grid(ax, fill, texts, fontsize, subtexts=None, labels=None, title=""):
    """Cells of colour fill (HxW of colour strings) with a number in each; labels: tick text."""
    from matplotlib.colors import to_rgb
    ax.imshow(np.array([[to_rgb(c) for c in row] for row in fill]), interpolation="nearest")
    h, w = len(fill), len(fill[0])
    ax.set_xticks(np.arange(w + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(h + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="#777777", lw=0.6)
    ax.tick_params(which="both", length=0, labelsize=max(6, fontsize - 2))
    rows, cols = labels or (range(h), range(w))
    ax.set_xticks(range(w), [str(c) for c in cols])
    ax.set_yticks(range(h), [str(r) for r in rows])
    ax.xaxis.tick_top()
    for (r, c), t in np.ndenumerate(np.array(texts, dtype=object)):
        dy = -0.14 if subtexts is not None and subtexts[r][c] else 0
        ax.text(c, r + dy, t, ha="center", va="center", fontsize=_fit(t, fontsize))
        if subtexts is not None and subtexts[r][c]:
            ax.text(c, r + 0.3, subtexts[r][c], ha="center", va="center",
                    fontsize=fontsize * 0.7, color="#6B4E00")
    ax.set_title(title, fontsize=10, pad=18)


def _draw_input(ax, s, c, f, fs):
    """Padded input channel c: input cells, padding cells (with their sources), the taps."""
    from matplotlib.patches import Rectangle
    top, _, left, _ = s.pads
    H, W = s.x.shape[1:]
    inside = np.zeros(s.padded.shape[1:], bool)
    inside[top:top + H, left:left + W] = True
    fill = np.where(inside, COLOURS["input"], COLOURS["pad"])
    copies = s.layer.padding_mode != "zeros"
    sub = [[("" if inside[r, q] or not copies else "=({},{})".format(*s.sources[r, q]))
            for q in range(fill.shape[1])] for r in range(fill.shape[0])]
    labels = (range(-top, fill.shape[0] - top), range(-left, fill.shape[1] - left))
    texts = [[_num(v) for v in row] for row in s.padded[c]]
    _grid(ax, fill, texts, fs, sub, labels, f"input x{c} and its padding")
    r0, q0, r1, q1 = f["rows"][0], f["cols"][0], f["rows"][-1], f["cols"][-1]
    if len(f["rows"]) * len(f["cols"]) > 1:             # the window's span (wider if dilated)
        ax.add_patch(Rectangle((q0 - 0.5, r0 - 0.5), q1 - q0 + 1, r1 - r0 + 1, fill=False,
                               ls="--", lw=1.6, ec=COLOURS["tap"]))
    for r in f["rows"]:
        for q in f["cols"]:
            ax.add_patch(Rectangle((q - 0.42, r - 0.42), 0.84, 0.84, fill=False, lw=2.6,
                                   ec=COLOURS["tap"]))


def _draw_groups(ax, s, f):
    """Which input channels feed which output channels; the current group stands out."""
    Cin, O, G = s.x.shape[0], s.weight.shape[0], s.layer.groups
    ys = lambda n: np.linspace(1, 0, n) if n > 1 else np.array([0.5])  # noqa: E731
    yi, yo = ys(Cin), ys(O)
    for o in range(O):
        g = o // (O // G)
        for c in range(g * (Cin // G), (g + 1) * (Cin // G)):
            on = g == f["group"]
            ax.plot([0, 1], [yi[c], yo[o]], color=C["blue"] if on else "#CCCCCC",
                    lw=2.2 if o == f["o"] else 1, zorder=1)
    for c in range(Cin):
        ax.text(0, yi[c], f"x{c}", ha="center", va="center", fontsize=9, zorder=2,
                bbox=dict(boxstyle="round", fc=COLOURS["input"] if c in f["channels"]
                          else "white", ec="#555555"))
    for o in range(O):
        ax.text(1, yo[o], f"y{o}", ha="center", va="center", fontsize=9, zorder=2,
                color="white" if o == f["o"] else "black",
                bbox=dict(boxstyle="round", fc=COLOURS["out"] if o == f["o"] else "white",
                          ec="#555555"))
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylim(-0.15, 1.15)
    ax.axis("off")
    ins = ", ".join(f"x{c}" for c in f["channels"])
    ax.set_title(f"groups={G}: {ins}\nfeed y{f['o']}", fontsize=10)


def _caption(s, f, index, total):
    """Where the window sits and the arithmetic that gives this output cell."""
    (sh, sw), (dh, dw) = s.layer.stride, s.layer.dilation
    top, _, left, _ = s.pads
    w, x = f["weight"].ravel(), f["window"].ravel()
    ones = np.all(w == 1)
    terms = [_num(a) if ones else f"{_num(b)}*{_num(a)}" for a, b in zip(x, w)]
    if len(terms) > 12:
        terms = terms[:10] + ["...", terms[-1]]
    if f["bias"]:
        terms.append(_num(f["bias"]))
    sums = " ".join(("- " + t[1:] if t.startswith("-") else "+ " + t) for t in terms)[2:]
    i, j = f["i"], f["j"]
    rows = f"{sh}*i{f' - {top}' if top else ''} + {dh}*m"
    cols = f"{sw}*j{f' - {left}' if left else ''} + {dw}*n"
    groups = (f"   group {f['group']}: input channels {', '.join(map(str, f['channels']))}"
              if s.layer.groups > 1 else "")
    return "\n".join([
        f"frame {index + 1}/{total}: output y{f['o']}, row i={i}, col j={j}{groups}",
        f"padding (top, bottom, left, right) = {s.pads}, {s.layer.padding_mode}"
        + ("  ('same': an odd total puts the extra cell bottom/right)"
           if s.layer.padding == "same" and len(set(s.pads)) > 1 else ""),
        f"input rows = {rows} = {', '.join(str(r - top) for r in f['rows'])};   "
        f"cols = {cols} = {', '.join(str(q - left) for q in f['cols'])}",
        f"y[{f['o']},{i},{j}] = " + ("sum of the window" if ones else "sum of w*x")
        + f" = {'-' if terms[0].startswith('-') else ''}{sums} = {_num(f['value'])}"])


TITLE, CAPTION, LEGEND, GAP = 0.7, 1.05, 0.4, 0.75      # inches


def _layout(s):
    """Cell size, frame width and height (inches) and the cell font size for this slide."""
    Cg, KH, KW = s.weight.shape[1:]
    (HP, WP), (OH, OW) = s.padded.shape[1:], s.output.shape[1:]
    cs = min(0.6, max(0.3, 4.2 / max(HP, WP, OH, OW)))     # one cell size for every grid
    side = 2.2 if s.x.shape[0] > 1 else 0.0
    body = side + (WP + KW + OW) * cs + 2 * GAP
    height = TITLE + min(Cg, 3) * (max(HP, KH) * cs + 0.65) + CAPTION + LEGEND
    return cs, max(10.5, body + 0.9), max(height, 4.0), min(12.0, max(7.0, cs * 21))


def _draw_frame(fig, s, f, index, total, y0=0.0, heading=True):
    """One frame into fig, its bottom y0 inches up: groups, input(s), kernel, output, caption."""
    from matplotlib.patches import Patch, Rectangle
    cs, width, height, fs = _layout(s)
    FW, FH = fig.get_size_inches()
    Cg, KH, KW = s.weight.shape[1:]
    (HP, WP), (OH, OW) = s.padded.shape[1:], s.output.shape[1:]
    shown = f["channels"][:3]
    side = 2.2 if s.x.shape[0] > 1 else 0.0

    def axes(x, y, w, h):                      # inches, frame-relative -> figure fractions
        return fig.add_axes([x / FW, (y0 + y) / FH, w / FW, h / FH])

    x = (width - side - (WP + KW + OW) * cs - 2 * GAP) / 2 + 0.2
    top = height - TITLE
    row_h = max(HP, KH) * cs + 0.65
    for k, c in enumerate(shown):
        y = top - k * row_h - 0.55                              # room for title and ticks
        _draw_input(axes(x + side, y - HP * cs, WP * cs, HP * cs), s, c, f, fs)
        kx = x + side + WP * cs + GAP
        kax = axes(kx, y - (HP + KH) * cs / 2, KW * cs, KH * cs)
        dil = f", dilation {s.layer.dilation}" if max(s.layer.dilation) > 1 else ""
        if k:                                   # the channels' products add up
            fig.text((kx + KW * cs / 2) / FW, (y0 + y + 0.5) / FH, "+", fontsize=20,
                     ha="center", va="center", color=C["blue"], weight="bold")
        _grid(kax, [[COLOURS["kernel"]] * KW] * KH,
              [[_num(v) for v in r] for r in f["weight"][k]], fs, title=f"kernel w[{f['o']},"
              f"{f['channels'].index(c)}]{dil}")
    mid = top - len(shown) * row_h / 2
    oax = axes(x + side + (WP + KW) * cs + 2 * GAP, mid - OH * cs / 2 - 0.25, OW * cs, OH * cs)
    at = f["i"] * OW + f["j"]
    fill = [[COLOURS["out"] if r * OW + q == at else COLOURS["done"] if r * OW + q < at
             else COLOURS["todo"] for q in range(OW)] for r in range(OH)]
    texts = [[_num(s.output[f["o"], r, q]) if r * OW + q < at else "" for q in range(OW)]
             for r in range(OH)]
    _grid(oax, fill, texts, fs, title=f"output y{f['o']}")
    oax.text(f["j"], f["i"], _num(f["value"]), ha="center", va="center",
             fontsize=_fit(_num(f["value"]), fs),
             color="white", weight="bold")
    oax.add_patch(Rectangle((f["j"] - 0.5, f["i"] - 0.5), 1, 1, fill=False, lw=2.6, ec="black"))
    if side:
        _draw_groups(axes(x - 0.2, top - len(shown) * row_h, side - 0.2,
                          len(shown) * row_h - 0.1), s, f)
    if heading:
        fig.text(0.5, (y0 + height - 0.12) / FH, s.title, ha="center", va="top", fontsize=11)
    more = f"  (showing {len(shown)} of {Cg} channels)" if Cg > len(shown) else ""
    fig.text(0.35 / FW, (y0 + LEGEND + CAPTION - 0.1) / FH, _caption(s, f, index, total) + more,
             va="top", ha="left", fontsize=10, family="monospace")
    pad = "zero padding" if s.layer.padding_mode == "zeros" else \
        f"{s.layer.padding_mode} padding (=(r,c): copy of input cell r,c)"
    handles = [Patch(fc=COLOURS["input"], ec="#777777", label="input cell")]
    handles += [Patch(fc=COLOURS["pad"], ec="#777777", label=pad)] if any(s.pads) else []
    handles += [Patch(fc="white", ec=COLOURS["tap"], lw=2.4, label="kernel tap (window)"),
               Patch(fc=COLOURS["out"], ec="black", label="output being written"),
               Patch(fc=COLOURS["done"], ec="#777777", label="output done")]
    fig.legend(handles=handles, loc="lower center", ncols=5, fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, (y0 + 0.02) / FH))


def render(s, f, index, total):
    """One frame as an RGB array (H, W, 3)."""
    _, width, height, _ = _layout(s)
    fig = viz.figure(width, height, layout=None)
    _draw_frame(fig, s, f, index, total)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def animate(layer, input_size, path=None, x=None, weights="ones", max_frames=MAX_FRAMES,
            ms=900):
    """The sliding window as a GIF (one frame per output position); path, or the RGB frames."""
    from PIL import Image
    s = slide(layer, input_size, x, weights, max_frames)
    frames = [render(s, f, k, len(s.frames)) for k, f in enumerate(s.frames)]
    if path is None:
        return frames
    images = [Image.fromarray(a).quantize(colors=128, dither=Image.Dither.NONE) for a in frames]
    return viz.write_atomic(path, lambda tmp: images[0].save(
        tmp, format="GIF", save_all=True, append_images=images[1:], duration=ms, loop=0))


def strip(layer, input_size, path=None, x=None, weights="ones", n=4):
    """n evenly spaced frames stacked in one figure (PNG or SVG by path's suffix)."""
    s = slide(layer, input_size, x, weights)
    picks = np.unique(np.linspace(0, len(s.frames) - 1, min(n, len(s.frames))).round()).astype(int)
    _, width, height, _ = _layout(s)
    fig = viz.figure(width, height * len(picks), layout=None)
    for row, k in enumerate(picks):
        y0 = (len(picks) - 1 - row) * height
        _draw_frame(fig, s, s.frames[k], k, len(s.frames), y0, heading=row == 0)
        if row:                                 # a rule between frames
            fig.add_artist(_rule(y0 + height, height * len(picks)))
    return viz.finish(fig, path)


def _rule(y, total):
    from matplotlib.lines import Line2D
    return Line2D([0.03, 0.97], [y / total] * 2, color="#999999", lw=1)

