"""kernels.fused against the plain path: the same kernel's forward, + bias, + residual, then the
activation as PyTorch computes it; every kernel that runs the spec, float32 and float64."""
import numpy as np
import pytest

from tatamikomi import kernels
from tatamikomi.kernels import ConvSpec, blocked, fused
from tatamikomi.kernels._simd import Tile

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_ACTS = {None: lambda t: t, "relu": F.relu, "relu6": F.relu6, "silu": F.silu,
              "hardswish": F.hardswish, "sigmoid": torch.sigmoid, "gelu": F.gelu}

# (x shape, w shape, stride, padding (top, bottom, left, right), groups): odd widths (not a
# multiple of any vector), batch 1 and more, stride 2, uneven padding, groups, depthwise, 1x1.
CASES = [
    ((2, 5, 7, 9), (6, 5, 3, 3), (1, 1), (1, 1, 1, 1), 1),
    ((1, 8, 11, 13), (20, 8, 3, 3), (1, 1), (1, 1, 1, 1), 1),     # more outputs than a tile
    ((2, 6, 9, 10), (4, 3, 3, 3), (2, 2), (1, 0, 1, 2), 2),       # groups, stride, uneven pad
    ((1, 6, 9, 7), (6, 1, 3, 3), (1, 1), (1, 1, 1, 1), 6),        # depthwise
    ((2, 4, 10, 9), (8, 1, 3, 3), (2, 2), (1, 1, 1, 1), 4),       # depthwise x2, stride 2
    ((2, 7, 5, 9), (9, 7, 1, 1), (1, 1), (0, 0, 0, 0), 1),        # 1x1
    ((1, 8, 9, 9), (5, 8, 1, 1), (2, 2), (0, 0, 0, 0), 1),        # 1x1, stride 2
    ((1, 6, 5, 9), (4, 3, 1, 1), (1, 1), (0, 0, 0, 0), 2),        # 1x1, one sample, groups
    ((2, 3, 13, 15), (5, 3, 7, 7), (2, 2), (3, 3, 3, 3), 1),      # a stem
    ((1, 4, 24, 30), (10, 4, 3, 3), (1, 1), (1, 1, 1, 1), 1),     # blocked: units of 2 blocks
]
DTYPES = ("float32", "float64")
RTOL = {"float32": 1e-5, "float64": 1e-12}


def _specs():
    for x, w, s, p, g in CASES:
        spec = ConvSpec.make(x, w, s, p, (1, 1), g)
        for name in kernels.KERNELS:
            if name != "fft" and kernels.KERNELS[name].supports(spec):
                yield pytest.param(name, x, w, s, p, g, id=f"{name}-x{x}w{w}s{s}g{g}")


def plain(x, w, b, r, spec, act, name):
    """The plain path with kernel `name`: its forward, + bias, + residual, torch's act."""
    y = kernels.KERNELS[name].forward(x, w, spec)
    if b is not None:
        y = y + b.reshape(-1, 1, 1)
    if r is not None:
        y = y + r
    return TORCH_ACTS[act](torch.from_numpy(np.ascontiguousarray(y))).numpy()


def close(y, ref, dtype):
    assert y.shape == ref.shape and y.dtype == ref.dtype
    scale = max(1.0, float(np.nanmax(np.abs(ref[np.isfinite(ref)]), initial=0)))
    np.testing.assert_allclose(y, ref, rtol=RTOL[dtype], atol=RTOL[dtype] * scale,
                               equal_nan=True)
    assert np.array_equal(np.isnan(y), np.isnan(ref))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, xs, ws, stride, pad, groups", list(_specs()))
def test_every_epilogue_equals_the_plain_path(name, xs, ws, stride, pad, groups, dtype):
    spec = ConvSpec.make(xs, ws, stride, pad, (1, 1), groups, dtype)
    rng = np.random.default_rng(0)
    x, w = (rng.standard_normal(s).astype(dtype) for s in (xs, ws))
    b, r = (rng.standard_normal(s).astype(dtype) for s in ((spec.O,), spec.y_shape))
    for bias in (None, b):
        packed = fused.pack(w, spec, bias)
        for res in (None, r):
            for act in fused.ACTS:
                with kernels.use(name):
                    y = fused.forward(x, packed, spec, act=act, residual=res)
                close(y, plain(x, w, bias, res, spec, act, name), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, xs, ws, stride, pad, groups", list(_specs()))
def test_nan_in_x_spreads_as_in_the_plain_path(name, xs, ws, stride, pad, groups, dtype):
    spec = ConvSpec.make(xs, ws, stride, pad, (1, 1), groups, dtype)
    rng = np.random.default_rng(1)
    x, w = (rng.standard_normal(s).astype(dtype) for s in (xs, ws))
    b, r = (rng.standard_normal(s).astype(dtype) for s in ((spec.O,), spec.y_shape))
    x[0, 0, 1, 2] = np.nan
    x[-1, -1, -1, -1] = np.nan
    packed = fused.pack(w, spec, b)
    for act in ("relu", "relu6", "hardswish"):
        with kernels.use(name):
            y = fused.forward(x, packed, spec, act=act, residual=r)
        close(y, plain(x, w, b, r, spec, act, name), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_rules_kernel_by_default_and_batch_sizes_share_a_pack(dtype):
    spec1 = ConvSpec.make((1, 8, 12, 10), (16, 8, 3, 3), (1, 1), (1, 1), (1, 1), 1, dtype)
    spec3 = ConvSpec.make((3, 8, 12, 10), (16, 8, 3, 3), (1, 1), (1, 1), (1, 1), 1, dtype)
    rng = np.random.default_rng(2)
    w, b = rng.standard_normal(spec1.w_shape).astype(dtype), rng.standard_normal(16).astype(dtype)
    packed = fused.pack(w, spec1, b)
    for spec in (spec1, spec3, spec1):
        x = rng.standard_normal(spec.x_shape).astype(dtype)
        name = kernels.select(spec).__name__.rsplit(".", 1)[-1]
        close(fused.forward(x, packed, spec, act="relu"),
              plain(x, w, b, None, spec, "relu", name), dtype)


@pytest.mark.parametrize("name, nbytes", [("im2col", 13000), ("blocked", 20000)])
def test_a_batch_in_several_chunks(name, nbytes, monkeypatch):
    """Chunks of 2, 2 and 1 samples (the workspace caps are bytes per chunk)."""
    monkeypatch.setattr(kernels.KERNELS[name], "WORKSPACE_BYTES", nbytes)
    spec = ConvSpec.make((5, 3, 7, 8), (10, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1)
    rng = np.random.default_rng(5)
    x, w = (rng.standard_normal(s).astype("float32") for s in (spec.x_shape, spec.w_shape))
    b, r = (rng.standard_normal(s).astype("float32") for s in ((spec.O,), spec.y_shape))
    with kernels.use(name):
        y = fused.forward(x, fused.pack(w, spec, b), spec, act="silu", residual=r)
    close(y, plain(x, w, b, r, spec, "silu", name), "float32")


@pytest.mark.parametrize("tile", [Tile(4, 3, 32), Tile(8, 3, 16), Tile(6, 2, 32)], ids=repr)
def test_blocked_with_other_isas_tiles(tile, monkeypatch):
    """AVX2's tile (and NEON's, and an odd one), compiled for this CPU, one pack for all."""
    spec = ConvSpec.make((2, 6, 13, 11), (10, 3, 3, 3), (1, 2), (1, 1), (1, 1), 2)
    rng = np.random.default_rng(6)
    x, w = (rng.standard_normal(s).astype("float32") for s in (spec.x_shape, spec.w_shape))
    b, r = (rng.standard_normal(s).astype("float32") for s in ((spec.O,), spec.y_shape))
    packed = fused.pack(w, spec, b)
    with kernels.use("blocked"):
        fused.forward(x, packed, spec, act="relu", residual=r)      # the host's tile first
        monkeypatch.setattr(blocked, "TILE", tile)
        y = fused.forward(x, packed, spec, act="relu", residual=r)
    close(y, plain(x, w, b, r, spec, "relu", "blocked"), "float32")


@pytest.mark.parametrize("stride, dilation", [((2, 2), (2, 1)), ((3, 2), (1, 2)), ((1, 1), (2, 3))])
def test_depthwise_phases_with_dilation_and_uneven_padding(stride, dilation):
    spec = ConvSpec.make((2, 3, 11, 10), (6, 1, 3, 2), stride, (2, 1, 0, 3), dilation, 3,
                         "float64")
    rng = np.random.default_rng(7)
    x, w = (rng.standard_normal(s) for s in (spec.x_shape, spec.w_shape))
    b, r = (rng.standard_normal(s) for s in ((spec.O,), spec.y_shape))
    with kernels.use("depthwise"):
        y = fused.forward(x, fused.pack(w, spec, b), spec, act="hardswish", residual=r)
    close(y, plain(x, w, b, r, spec, "hardswish", "depthwise"), "float64")


@pytest.mark.parametrize("name", ["im2col", "blocked", "direct"])
def test_out_is_written_and_returned(name):
    spec = ConvSpec.make((2, 4, 9, 9), (8, 4, 3, 3), (1, 1), (1, 1), (1, 1), 1)
    rng = np.random.default_rng(8)
    x, w = (rng.standard_normal(s).astype("float32") for s in (spec.x_shape, spec.w_shape))
    b, r = (rng.standard_normal(s).astype("float32") for s in ((spec.O,), spec.y_shape))
    out = np.full(spec.y_shape, np.nan, np.float32)
    packed = fused.pack(w, spec, b)
    with kernels.use(name):
        y = fused.forward(x, packed, spec, act="relu", residual=r, out=out)
    assert y is out or np.shares_memory(y, out)
    close(out, plain(x, w, b, r, spec, "relu", name), "float32")
    with pytest.raises(ValueError, match="overlap"):
        fused.forward(x, packed, spec, residual=r, out=r)
    with pytest.raises(ValueError, match="out of shape"):
        fused.forward(x, packed, spec, out=out[:, :, :, :4])


def test_a_stem_goes_to_blocked_unless_a_kernel_is_forced():
    spec = ConvSpec.make((2, 3, 20, 18), (16, 3, 7, 7), (2, 2), (3, 3), (1, 1), 1)
    assert kernels.select(spec) is kernels.im2col
    assert fused.choose(spec) is (blocked if blocked.FAST else kernels.im2col)
    with kernels.use("im2col"):
        assert fused.choose(spec) is kernels.im2col
    rng = np.random.default_rng(9)
    x, w = (rng.standard_normal(s).astype("float32") for s in (spec.x_shape, spec.w_shape))
    b = rng.standard_normal(spec.O).astype("float32")
    close(fused.forward(x, fused.pack(w, spec, b), spec, act="relu"),
          plain(x, w, b, None, spec, "relu", "im2col"), "float32")


def test_batches_of_wide_enough_convs_go_to_blocked():
    def spec(N, H, stride=(1, 1)):
        return ConvSpec.make((N, 16, H, H), (256, 16, 3, 3), stride, (1, 1), (1, 1), 1)
    if not blocked.FAST:
        pytest.skip("no register tiles on this CPU")
    assert kernels.select(spec(8, 14)) is kernels.im2col          # 256 outputs: not thin
    assert fused.choose(spec(8, 14)) is blocked
    assert fused.choose(spec(8, 28, (2, 2))) is blocked
    assert fused.choose(spec(8, 7)) is kernels.select(spec(8, 7))     # 96 computed for 49
    assert fused.choose(spec(1, 14)) is kernels.select(spec(1, 14))   # one sample: the rules


@pytest.mark.parametrize("name, xs, ws, groups", [
    ("blocked", (2, 4, 6, 7), (5, 4, 3, 3), 1), ("im2col", (2, 4, 6, 7), (5, 4, 3, 3), 1),
    ("depthwise", (2, 4, 6, 7), (4, 1, 3, 3), 4)])
def test_infinite_weights_take_the_kernels_exact_path(name, xs, ws, groups):
    spec = ConvSpec.make(xs, ws, (1, 1), (1, 1), (1, 1), groups, "float64")
    rng = np.random.default_rng(10)
    x, w = (rng.standard_normal(s) for s in (xs, ws))
    w[1, 0, 0, 0] = np.inf
    b, r = (rng.standard_normal(s) for s in ((spec.O,), spec.y_shape))
    with kernels.use(name):
        y = fused.forward(x, fused.pack(w, spec, b), spec, act="relu6", residual=r)
    close(y, plain(x, w, b, r, spec, "relu6", name), "float64")


def test_pack_copies_what_it_needs():
    spec = ConvSpec.make((2, 4, 9, 9), (8, 4, 3, 3), (1, 1), (1, 1), (1, 1), 1)
    rng = np.random.default_rng(3)
    x, w = (rng.standard_normal(s).astype("float32") for s in (spec.x_shape, spec.w_shape))
    b = rng.standard_normal(8).astype("float32")
    packed = fused.pack(w, spec, b)
    before = fused.forward(x, packed, spec, act="relu6")
    w0, b0 = w.copy(), b.copy()
    w *= 3
    b += 1
    after = fused.forward(x, packed, spec, act="relu6")
    np.testing.assert_array_equal(before, after)
    close(after, plain(x, w0, b0, None, spec, "relu6", "blocked"), "float32")


def test_float64_weights_for_a_float32_conv_are_cast():
    spec = ConvSpec.make((1, 3, 6, 6), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(spec.x_shape).astype("float32")
    w = rng.standard_normal(spec.w_shape)
    y = fused.forward(x, fused.pack(w, spec), spec)
    name = kernels.select(spec).__name__.rsplit(".", 1)[-1]
    close(y, plain(x, w.astype("float32"), None, None, spec, None, name), "float32")


def test_supports_act_and_bad_arguments():
    assert all(fused.supports_act(a) for a in (None, "relu", "relu6", "silu", "hardswish"))
    assert not fused.supports_act("tanh")
    spec = ConvSpec.make((1, 2, 5, 5), (3, 2, 3, 3))
    packed = fused.pack(np.ones(spec.w_shape, "float32"), spec)
    x = np.ones(spec.x_shape, "float32")
    with pytest.raises(ValueError, match="unknown activation"):
        fused.forward(x, packed, spec, act="tanh")
    with pytest.raises(ValueError, match="residual"):
        fused.forward(x, packed, spec, residual=np.ones((1, 3, 2, 2), "float32"))
    with pytest.raises(ValueError, match="weight"):
        fused.pack(np.ones((3, 2, 2, 2), "float32"), spec)
