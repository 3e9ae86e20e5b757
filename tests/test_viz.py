"""tools/viz, animate, draw: the drawn numbers against independent NumPy, and the images made."""
import matplotlib
import numpy as np
import pytest
from PIL import Image

import tatamikomi as tm
import tatamikomi.nn as nn
from tatamikomi import cli
from tatamikomi.tools import animate, viz
from tatamikomi.tools.models import SimpleCNN

matplotlib.use("Agg")

NP_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
LAYERS = [   # (layer, input size (C, H, W))
    (nn.Conv2d(1, 1, 3, stride=2, padding=1), (1, 5, 5)),
    (nn.Conv2d(1, 1, 3, dilation=2), (1, 6, 6)),
    (nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), (1, 4, 4)),
    (nn.Conv2d(1, 1, 3, padding=1, padding_mode="replicate"), (1, 4, 5)),
    (nn.Conv2d(1, 1, 3, padding=2, padding_mode="circular"), (1, 4, 4)),
    (nn.Conv2d(4, 2, 3, groups=2), (4, 4, 4)),
    (nn.Conv2d(1, 1, 4, padding="same"), (1, 5, 5)),
    (nn.Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(1, 2), dilation=(1, 2),
               padding_mode="reflect"), (2, 5, 6)),
    (nn.Conv2d(6, 4, (3, 2), padding="same", dilation=(2, 1), groups=2,
               padding_mode="circular"), (6, 5, 4)),
]


def pads_of(layer):
    """(top, bottom, left, right), worked out here rather than read from the layer."""
    if layer.padding == "same":
        out = []
        for k, d in zip(layer.kernel_size, layer.dilation):
            out += [d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2]
        return tuple(out)
    (ph, pw) = layer.padding
    return (ph, ph, pw, pw)


def reference(layer, x, w, b):
    """Cross-correlation by loops over np.pad's padding. Shapes: x (C, H, W) -> (O, OH, OW)."""
    top, bottom, left, right = pads_of(layer)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right)), mode=NP_MODE[layer.padding_mode])
    O, Cg, KH, KW = w.shape
    (sh, sw), (dh, dw), G = layer.stride, layer.dilation, layer.groups
    OH = (xp.shape[1] - dh * (KH - 1) - 1) // sh + 1
    OW = (xp.shape[2] - dw * (KW - 1) - 1) // sw + 1
    y = np.zeros((O, OH, OW))
    for o in range(O):
        g = o // (O // G)
        for i in range(OH):
            for j in range(OW):
                for c in range(Cg):
                    for m in range(KH):
                        for n in range(KW):
                            y[o, i, j] += w[o, c, m, n] * xp[g * Cg + c, sh * i + dh * m,
                                                             sw * j + dw * n]
    return xp, y + b[:, None, None]


@pytest.mark.parametrize("layer,size", LAYERS, ids=[repr(la) for la, _ in LAYERS])
@pytest.mark.parametrize("weights", ["ones", "layer"])
def test_frames_match_numpy(layer, size, weights):
    s = animate.slide(layer, size, weights=weights, max_frames=10_000)
    x = np.arange(np.prod(size), dtype=np.float64).reshape(size)
    w = np.ones(tuple(layer.weight.shape)) if weights == "ones" else viz.as_array(layer.weight)
    b = viz.as_array(layer.bias) if weights == "layer" else np.zeros(w.shape[0])
    xp, y = reference(layer, x, w, b)
    np.testing.assert_allclose(s.padded, xp)
    np.testing.assert_allclose(s.output, y, rtol=1e-10, atol=1e-9)
    assert len(s.frames) == y.size                      # one frame per output position
    for f in s.frames:
        rows, cols = np.ix_(f["rows"], f["cols"])
        np.testing.assert_allclose(f["window"], xp[f["channels"]][:, rows, cols])
        assert f["value"] == pytest.approx((f["window"] * f["weight"]).sum() + f["bias"])
        assert f["value"] == pytest.approx(y[f["o"], f["i"], f["j"]])
    assert s.pads == pads_of(layer)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padded_cells_name_their_source(mode):
    layer = nn.Conv2d(1, 1, 3, padding=(2, 1), padding_mode=mode)
    s = animate.slide(layer, (4, 3))
    H, W = 4, 3
    index = np.arange(H * W).reshape(H, W)
    if mode == "zeros":
        want = np.pad(index, ((2, 2), (1, 1)), constant_values=-1)
    else:
        want = np.pad(index, ((2, 2), (1, 1)), mode=NP_MODE[mode])
    got = np.where(s.sources[..., 0] >= 0, s.sources[..., 0] * W + s.sources[..., 1], -1)
    np.testing.assert_array_equal(got, want)


def test_frames_are_capped_and_the_layer_untouched():
    layer = nn.Conv2d(1, 2, 3, padding=1)
    before = viz.as_array(layer.weight).copy()
    frames = animate.slide_frames(layer, (9, 9), max_frames=50)
    assert len(frames) == 50                             # 2 * 81 positions, sampled evenly
    assert (frames[0]["o"], frames[0]["i"], frames[0]["j"]) == (0, 0, 0)
    assert (frames[-1]["o"], frames[-1]["i"], frames[-1]["j"]) == (1, 8, 8)
    np.testing.assert_array_equal(viz.as_array(layer.weight), before)


def test_conv2d_style_arguments_and_strings():
    w = np.arange(8.0).reshape(2, 1, 2, 2)
    layer = animate.conv2d_layer(w, bias=np.array([1.0, -1.0]), stride=2, groups=2)
    s = animate.slide(layer, (2, 4, 4), weights="layer")
    _, y = reference(layer, np.arange(32.0).reshape(2, 4, 4), w, np.array([1.0, -1.0]))
    np.testing.assert_allclose(s.output, y)
    assert len(animate.slide_frames("Conv2d(1, 1, 2)", (3, 3))) == 4
    with pytest.raises(ValueError, match="weights"):
        animate.slide(layer, (2, 4, 4), weights="random")


def frame_pixels(layer, size):
    """(width, height) in pixels that the layout promises for one frame at 100 dpi."""
    _, width, height, _ = animate._layout(animate.slide(layer, size))
    return round(width * 100), round(height * 100)


def test_gif_has_one_frame_per_output_position(tmp_path):
    layer = nn.Conv2d(1, 1, 3, dilation=2)               # 6x6 -> 2x2: four frames
    path = animate.animate(layer, (6, 6), tmp_path / "slide.gif", ms=500)
    with Image.open(path) as im:
        assert im.n_frames == 4
        assert im.size == frame_pixels(layer, (6, 6))
        assert im.info["duration"] == 500
        first = np.asarray(im.convert("RGB"))
        im.seek(3)
        assert (first != np.asarray(im.convert("RGB"))).any()
    assert [p.name for p in tmp_path.iterdir()] == ["slide.gif"]     # no temp file left


def test_render_returns_rgb_frames():
    layer = nn.Conv2d(4, 2, 3, groups=2, padding=1, padding_mode="replicate")
    s = animate.slide(layer, (3, 3), max_frames=5)
    assert len(s.frames) == 5
    frame = animate.render(s, s.frames[2], 2, 5)
    assert frame.shape == frame_pixels(layer, (3, 3))[::-1] + (3,)
    assert frame.dtype == np.uint8 and frame.std() > 10


def test_strip_png_and_svg(tmp_path):
    layer = nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")
    png = animate.strip(layer, (3, 3), tmp_path / "s.png", n=2)
    w, h = frame_pixels(layer, (3, 3))
    with Image.open(png) as im:
        assert im.size == (w, 2 * h)
    svg = animate.strip(layer, (3, 3), tmp_path / "s.svg", n=2)
    assert "<svg" in svg.read_text()[:1000]


def test_capture_activations_shapes_and_hooks_removed():
    model = SimpleCNN()
    with viz.capture_activations(model) as acts:
        model(tm.randn(2, 1, 28, 28))
    assert {k: v.shape for k, v in acts.items()} == {
        "conv1": (2, 32, 28, 28), "pool": (2, 32, 14, 14), "conv2": (2, 64, 14, 14),
        "pool#2": (2, 64, 7, 7)}
    assert isinstance(acts["conv1"], np.ndarray)
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(RuntimeError), viz.capture_activations(model, ["fc1"]) as acts:
        model(tm.randn(1, 1, 28, 28))
        raise RuntimeError("stop")
    assert acts["fc1"].shape == (1, 128)
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(KeyError, match="conv9"), viz.capture_activations(model, ["conv9"]):
        pass


def test_feature_maps_and_filters_images(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    with viz.capture_activations(model) as acts:
        model(tm.randn(1, 1, 10, 10))
    assert list(acts) == ["0", "1", "2"]
    fig = viz.plot_feature_maps(acts, max_maps=3)
    assert len([a for a in fig.get_axes() if a.images]) == 9
    path = viz.plot_feature_maps(tm.randn(5, 6, 6), tmp_path / "maps.png")
    assert Image.open(path).size[0] > 0
    fig = viz.plot_filters(nn.Conv2d(3, 10, 3), reduce="mean")
    images = [a.images[0] for a in fig.get_axes() if a.images]
    assert len(images) == 10
    lo, hi = images[0].get_clim()
    assert lo == -hi                                     # a symmetric colour scale
    assert "mean over 3 input channels" in fig.texts[0].get_text()
    path = viz.plot_filters(np.ones((4, 1, 3, 3)), tmp_path / "f.png")
    with Image.open(path) as im:
        assert im.size == (700, 235)


def symmetric_reference(image, kernel):
    """scipy.signal.correlate2d(image, kernel, 'same', 'symm'), which the chapter calls."""
    xp = np.pad(image, 1, mode="symmetric")
    H, W = image.shape
    return np.array([[(xp[i:i + 3, j:j + 3] * kernel).sum() for j in range(W)]
                     for i in range(H)])


@pytest.mark.parametrize("image", [None, "digit", "random"])
def test_kernel_effects_match_the_chapter(image, tmp_path):
    img = {None: viz.SQUARE, "digit": viz.digit(), "random": np.random.rand(5, 8)}[image]
    ours = viz.apply_kernels(img)
    for out, kernel in zip(ours, viz.KERNELS.values()):
        want = symmetric_reference(img, np.array(kernel, dtype=np.float64))
        np.testing.assert_allclose(out, want, atol=1e-9)
        try:
            from scipy import signal
        except ImportError:
            continue
        np.testing.assert_allclose(out, signal.correlate2d(img, kernel, "same", "symm"),
                                   atol=1e-9)
    if image is None:                       # the chapter's figure, drawn once
        path = viz.kernel_effects(img, tmp_path / "effects.png")
        with Image.open(path) as im:
            assert im.size == (1200, 760)


def test_cli_draw(tmp_path, capsys):
    out = tmp_path / "strip.png"
    assert cli.main(["draw", "slide", "Conv2d(1, 1, 2, stride=2)", "--input", "4,4",
                     "--out", str(out), "--frames", "2"]) == 0
    w, h = frame_pixels(nn.Conv2d(1, 1, 2, stride=2), (4, 4))
    assert Image.open(out).size == (w, 2 * h)
    ckpt = tmp_path / "checkpoint.pt"
    tm.save({"model": SimpleCNN().state_dict()}, ckpt)
    assert cli.main(["draw", "filters", str(ckpt), "--layer", "conv1",
                     "--out", str(tmp_path / "f.png")]) == 0
    assert cli.main(["draw", "features", "tatamikomi.tools.models:SimpleCNN", "--input",
                     "1,1,28,28", "--layer", "conv1", "--max-maps", "4",
                     "--out", str(tmp_path / "m.png")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert {p.name for p in tmp_path.iterdir()} == {"strip.png", "checkpoint.pt", "f.png",
                                                   "m.png"}
