"""Pictures of a CNN: filters, feature maps, and the chapter's kernel-effects figure.

Every function returns the matplotlib Figure, or writes it (atomically) and returns the path.
Figures are built without pyplot, so no global figure state or GUI backend is involved.
"""
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import nn, no_grad, tensor
from ..tensor import Tensor

# Okabe & Ito (2008): distinguishable with every common form of colour blindness.
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}
CAPTURED = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)


def figure(width, height, layout="constrained"):
    """A Figure with an Agg canvas, free of pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def write_atomic(path, save):
    """save(tmp) beside path, then rename it over path: a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    save(tmp)
    os.replace(tmp, path)
    return path


def finish(fig, path, dpi=100):
    """The figure itself, or written to path (format from the suffix) and the path returned."""
    if path is None:
        return fig
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))


def as_array(t):
    """A float ndarray from a Tensor, a Parameter or anything array-like."""
    if isinstance(t, Tensor):
        t = t.detach().numpy()
    return np.asarray(t, dtype=np.float64)


def plot_filters(conv_or_weight, path=None, reduce="first", title=None, cols=8):
    """A grid of each output channel's filter on one symmetric colour scale.

    Shapes: weight (O, C, KH, KW); for C > 1 the first input channel (or the mean) is shown.
    """
    w = as_array(conv_or_weight.weight if isinstance(conv_or_weight, nn.Module)
                 else conv_or_weight)
    O, C = w.shape[:2]
    if reduce not in ("first", "mean"):
        raise ValueError(f"reduce must be 'first' or 'mean', got {reduce!r}")
    shown = w[:, 0] if reduce == "first" else w.mean(axis=1)
    which = ("" if C == 1 else " - input channel 0 of " + str(C) if reduce == "first"
             else f" - mean over {C} input channels")
    cols = min(cols, O)
    rows = -(-O // cols)
    fig = figure(1.5 * cols + 1.0, 1.55 * rows + 0.8)
    lim = float(np.abs(shown).max()) or 1.0     # zero stays white: the sign is what matters
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < O:
            img = ax.imshow(shown[i], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"filter {i + 1}", fontsize=8)
    fig.suptitle((title or f"{O} filters, {w.shape[2]}x{w.shape[3]}") + which)
    fig.colorbar(img, ax=axes, shrink=0.8, label="weight (blue < 0 < red)")
    return finish(fig, path)


@contextmanager
def capture_activations(model, layers=None):
    """Record the outputs of the named layers (default: each Conv2d, ReLU and pool) by hooks.

    Yields a dict name -> ndarray filled as the model runs; a layer called again adds
    "name#2", "name#3", ... The hooks are removed on exit, even after an error.
    """
    named = dict(model.named_modules())
    if layers is None:
        layers = [n for n, m in named.items() if isinstance(m, CAPTURED)]
    missing = [n for n in layers if n not in named]
    if missing:
        names = ", ".join(n for n in named if n) or "(none)"       # "" is the model itself
        raise KeyError(f"no layer named {missing[0]!r}; layers: {names}")
    acts = {}

    def hook(name):
        def record(module, args, out):
            key, k = name, 1
            while key in acts:
                k += 1
                key = f"{name}#{k}"
            acts[key] = as_array(out).copy()
        return record

    handles = [named[n].register_forward_hook(hook(n)) for n in layers]
    try:
        yield acts
    finally:
        for h in handles:
            h.remove()


def _map_grid(fig, maps, title, max_maps, cols):
    """One block of feature maps (C, H, W), sharing one colour scale."""
    shown = maps[:max_maps]
    cols = min(cols, len(shown))
    rows = -(-len(shown) // cols)
    lo, hi = float(shown.min()), float(shown.max())
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(shown):
            img = ax.imshow(shown[i], cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1)
            ax.set_title(f"ch {i}", fontsize=7, pad=2)
    more = f"; first {len(shown)} of {len(maps)} channels" if len(maps) > len(shown) else ""
    fig.suptitle(f"{title}{more}", fontsize=10)
    fig.colorbar(img, ax=axes, shrink=0.9, pad=0.02)
    return rows


def plot_feature_maps(activations_or_tensor, path=None, max_maps=16, cols=8):
    """Feature maps of the first sample: one block per captured layer, or one tensor's maps.

    Shapes: each activation (N, C, H, W) or (C, H, W); non-spatial ones are skipped.
    """
    acts = activations_or_tensor
    if not isinstance(acts, dict):
        acts = {"activation": acts}
    blocks = []
    for name, a in acts.items():
        a = as_array(a)
        a = a[0] if a.ndim == 4 else a
        if a.ndim == 3:
            blocks.append((f"{name}  {tuple(a.shape)}", a))
    if not blocks:
        raise ValueError("no spatial (C, H, W) activations to draw")
    cols = min(cols, max(min(len(a), max_maps) for _, a in blocks))
    heights = [-(-min(len(a), max_maps) // cols) for _, a in blocks]
    fig = figure(1.3 * cols + 1.2, sum(1.35 * h + 0.5 for h in heights))
    subs = fig.subfigures(len(blocks), 1, height_ratios=[h + 0.4 for h in heights], squeeze=False)
    for sub, (title, a) in zip(subs.flat, blocks):
        _map_grid(sub, a, title, max_maps, cols)
    return finish(fig, path)


# The chapter's five kernels, as it writes them (cross-correlation, no flip).
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "Sobel, vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel, horizontal edges": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "blur (box mean)": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}

# The chapter's test image: a hollow square, 6 rows x 7 columns.
SQUARE = np.array([[0, 0, 0, 0, 0, 0, 0],
                   [0, 255, 255, 255, 255, 0, 0],
                   [0, 255, 0, 0, 255, 0, 0],
                   [0, 255, 0, 0, 255, 0, 0],
                   [0, 255, 255, 255, 255, 0, 0],
                   [0, 0, 0, 0, 0, 0, 0]], dtype=np.float64)


def digit(size=28):
    """An MNIST-like handwritten 7 (white on black, values 0..1), drawn with NumPy."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    bar = np.abs(yy - 0.22) < 0.06                                  # the top stroke
    bar &= (xx > 0.22) & (xx < 0.78)
    t = np.clip((yy - 0.22) / 0.6, 0, 1)                            # the slanted stem
    stem = (np.abs(xx - (0.76 - 0.3 * t)) < 0.065) & (yy > 0.18) & (yy < 0.85)
    img = (bar | stem).astype(np.float64)
    k = np.array([1, 2, 1]) / 4                                     # soften like a pen stroke
    img = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 0, img)
    return np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, img)


def apply_kernels(image=None):
    """The chapter's five kernels run by one nn.Conv2d. Shapes: (H, W) -> (5, H, W).

    The chapter calls scipy's correlate2d(mode='same', boundary='symm'). 'symm' mirrors with the
    edge repeated (NumPy's 'symmetric'); one cell deep, as a 3x3 kernel needs, that is exactly
    the edge cell, so padding_mode='replicate' with padding=1 gives the chapter's numbers.
    """
    img = SQUARE if image is None else as_array(image)
    conv = nn.Conv2d(1, len(KERNELS), 3, padding=1, padding_mode="replicate", bias=False)
    conv.weight = nn.Parameter(tensor(np.array(list(KERNELS.values()))[:, None]))
    with no_grad():
        return as_array(conv(tensor(img[None, None])))[0]


def _annotate(ax, a):
    """Each pixel's value, dark on light and light on dark, for images small enough to read."""
    lo, hi = a.min(), a.max()
    for (r, c), v in np.ndenumerate(a):
        light = (v - lo) / (hi - lo) > 0.5 if hi > lo else True
        ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=7,
                color="black" if light else "white")


def kernel_effects(image=None, path=None):
    """The chapter's figure: the test image and what each of the five kernels makes of it."""
    img = SQUARE if image is None else as_array(image)
    outs = apply_kernels(img)
    fig = figure(12, 7.6)
    axes = fig.subplots(2, 3).flat
    panels = [("input image", img, None)] + [(n, o, k) for (n, k), o in zip(KERNELS.items(), outs)]
    for ax, (name, a, k) in zip(axes, panels):
        ax.imshow(a, cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        if k is not None:
            rows = " / ".join(" ".join(f"{v:g}" for v in row) for row in k)
            name = f"{name}\nkernel " + ("1/9 everywhere" if k[0][0] == 1 / 9 else f"[{rows}]")
        ax.set_title(name, fontsize=10)
        if max(a.shape) <= 12:
            _annotate(ax, a)
    fig.suptitle("What each 3x3 kernel does (our nn.Conv2d, replicate padding, output size kept)")
    return finish(fig, path)
