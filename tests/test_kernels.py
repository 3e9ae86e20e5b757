"""The conv seam: `direct` against PyTorch, every other kernel against `direct`, the selector."""
import itertools
import types

import numpy as np
import pytest

from tatamikomi import kernels
from tatamikomi.kernels import ConvSpec, blocked, depthwise, direct, fft, gemm1x1, im2col, winograd
from tatamikomi.kernels._simd import Tile

torch = pytest.importorskip("torch")
F = torch.nn.functional

# (x shape, w shape, stride, padding (top, bottom, left, right), dilation, groups)
CASES = [
    ((2, 3, 6, 6), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),      # the common 3x3, pad 1
    ((1, 4, 5, 5), (8, 4, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),      # N = 1
    ((2, 1, 7, 5), (3, 1, 2, 4), (1, 2), (0, 1, 2, 1), (1, 1), 1),      # C = 1, non-square, uneven
    ((2, 2, 8, 8), (3, 2, 3, 3), (3, 3), (0, 0, 0, 0), (1, 1), 1),      # rows 6, 7 never read
    ((2, 3, 9, 8), (2, 3, 4, 4), (3, 2), (0, 1, 2, 1), (1, 1), 1),      # stride with uneven pad
    ((1, 2, 6, 7), (3, 2, 2, 2), (1, 1), (0, 1, 0, 1), (1, 1), 1),      # 'same' with an even kernel
    ((2, 3, 9, 11), (4, 3, 3, 2), (1, 1), (2, 2, 1, 1), (2, 3), 1),     # dilation
    ((2, 4, 7, 9), (6, 2, 3, 2), (2, 3), (1, 0, 2, 1), (2, 1), 2),      # groups, everything at once
    ((2, 6, 8, 8), (6, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 6),      # depthwise
    ((1, 3, 7, 6), (6, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 3),      # depthwise, multiplier 2
    ((2, 3, 7, 7), (2, 3, 7, 7), (1, 1), (0, 0, 0, 0), (1, 1), 1),      # kernel = image
    ((1, 2, 5, 6), (3, 2, 7, 5), (1, 1), (3, 3, 2, 2), (1, 1), 1),      # big kernel, big pad
    ((1, 2, 3, 3), (3, 2, 2, 2), (2, 1), (3, 3, 3, 3), (1, 1), 1),      # rows entirely in padding
    ((2, 3, 32, 40), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),    # >= 1024 pixels per sample
    # depthwise: big kernel in big padding, multiplier 3 with stride/dilation/uneven pad, N = 1
    ((2, 4, 5, 5), (4, 1, 5, 5), (1, 1), (4, 4, 4, 4), (1, 1), 4),
    ((2, 4, 9, 11), (12, 1, 3, 2), (2, 3), (2, 0, 1, 3), (2, 1), 4),
    ((1, 5, 10, 9), (5, 1, 3, 3), (1, 1), (2, 0, 1, 1), (2, 3), 5),     # stride 1, dilated
    ((3, 2, 6, 7), (4, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 2),      # no padding
    # 1x1: plain, strided (rows/cols skipped), grouped + dilated, N = 1, and padded (not gemm1x1)
    ((2, 4, 8, 8), (8, 4, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((2, 4, 9, 7), (8, 4, 1, 1), (2, 3), (0, 0, 0, 0), (1, 1), 1),
    ((2, 4, 9, 7), (8, 2, 1, 1), (2, 1), (0, 0, 0, 0), (3, 1), 2),
    ((1, 6, 5, 4), (3, 6, 1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),
    ((2, 4, 5, 5), (3, 4, 1, 1), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    # Winograd 3x3: odd output (cropped tiles), no padding, uneven padding, pad 3 (not claimed)
    ((2, 4, 9, 7), (8, 4, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((2, 4, 9, 8), (5, 4, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((1, 3, 6, 9), (5, 3, 3, 3), (1, 1), (0, 2, 2, 1), (1, 1), 1),
    ((1, 2, 4, 4), (3, 2, 3, 3), (1, 1), (3, 3, 3, 3), (1, 1), 1),
    # FFT (5x5 and up, stride 1): pad 2, 7x5 uneven, 11x11 pad 5, no padding, grouped with an even
    # kernel and uneven padding, and a strided 5x5 it must not claim
    ((2, 3, 10, 9), (4, 3, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1),
    ((1, 2, 9, 8), (3, 2, 7, 5), (1, 1), (3, 1, 0, 2), (1, 1), 1),
    ((2, 3, 12, 12), (4, 3, 11, 11), (1, 1), (5, 5, 5, 5), (1, 1), 1),
    ((2, 3, 9, 11), (5, 3, 5, 6), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((2, 4, 10, 10), (6, 2, 5, 6), (1, 1), (1, 3, 2, 0), (1, 1), 2),
    ((1, 2, 9, 9), (3, 2, 5, 5), (2, 2), (2, 2, 2, 2), (1, 1), 1),
]
SPECS = [ConvSpec.make(x, w, s, p, d, g, dtype="float64") for x, w, s, p, d, g in CASES]
IDS = [f"x{s.x_shape}w{s.w_shape}s{s.stride}p{s.padding}d{s.dilation}g{s.groups}" for s in SPECS]


def arrays(spec, dtype="float64", seed=0):
    """Random x, w and gy for a spec.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW), gy (N, O, OH, OW).
    """
    rng = np.random.default_rng(seed)
    shapes = (spec.x_shape, spec.w_shape, spec.y_shape)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def torch_conv(x, w, gy, spec):
    """PyTorch's y, gx and gw: F.pad handles uneven padding, autograd the gradients."""
    pt, pb, pl, pr = spec.padding
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, stride=spec.stride, dilation=spec.dilation,
                 groups=spec.groups)
    y.backward(torch.tensor(gy))
    return [t.detach().numpy() for t in (y, xt.grad, wt.grad)]


def run(kernel, x, w, gy, spec):
    return [kernel.forward(x, w, spec), kernel.grad_input(gy, w, spec),
            kernel.grad_weight(x, gy, spec)]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_direct_matches_torch(spec):
    x, w, gy = arrays(spec)
    for ours, theirs in zip(run(direct, x, w, gy, spec), torch_conv(x, w, gy, spec)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.fixture(params=["parallel", "serial"])
def variant(request, monkeypatch):
    """Run the kernels' parallel loops (Numba, the FFT threads) both ways, whatever the size."""
    for module in (im2col, depthwise, fft, blocked):
        monkeypatch.setattr(module, "PARALLEL_MIN", 0 if request.param == "parallel" else 1 << 60)


# every kernel on every spec it claims (supports() prunes the grid, so nothing is skipped)
CLAIMED = [(n, s, i) for n in kernels.KERNELS if n != "direct" for s, i in zip(SPECS, IDS)
           if kernels.KERNELS[n].supports(s)]


@pytest.mark.parametrize("name,spec", [(n, s) for n, s, _ in CLAIMED],
                         ids=[f"{n}-{i}" for n, _, i in CLAIMED])
def test_kernel_matches_direct(name, spec, variant):
    kernel = kernels.KERNELS[name]
    x, w, gy = arrays(spec)
    for ours, ref in zip(run(kernel, x, w, gy, spec), run(direct, x, w, gy, spec)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    # float32 against the float64 oracle: rounding grows with the size of the sums
    x, w, gy = arrays(spec, "float32")
    x64, w64, gy64 = (a.astype("float64") for a in (x, w, gy))
    for ours, ref in zip(run(kernel, x, w, gy, spec), run(direct, x64, w64, gy64, spec)):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5 * (1 + np.abs(ref).max()))


@pytest.mark.parametrize("thin_o", [0, 1 << 30])
@pytest.mark.parametrize("spec", [SPECS[0], SPECS[7], SPECS[8]], ids=[IDS[0], IDS[7], IDS[8]])
def test_im2col_chunks_and_orientations_agree(spec, thin_o, variant, monkeypatch):
    x, w, gy = arrays(spec)
    whole = run(im2col, x, w, gy, spec)
    monkeypatch.setattr(im2col, "THIN_O", thin_o)                # either GEMM orientation for gw
    monkeypatch.setattr(im2col, "WORKSPACE_BYTES", 1)            # one sample per chunk
    for chunked, ref in zip(run(im2col, x, w, gy, spec), whole):
        np.testing.assert_allclose(chunked, ref, rtol=1e-12, atol=1e-12)


def counting(monkeypatch, name):
    """Count the calls of im2col's function `name` (still running it)."""
    calls, real = [], getattr(im2col, name)
    monkeypatch.setattr(im2col, name, lambda *a: calls.append(1) or real(*a))
    return calls


def test_im2col_grad_weight_reuses_the_forward_columns_it_was_handed(monkeypatch):
    spec = SPECS[0]
    x, w, gy = arrays(spec)
    x2 = arrays(spec, seed=1)[0]
    ref, ref2 = direct.grad_weight(x, gy, spec), direct.grad_weight(x2, gy, spec)
    calls = counting(monkeypatch, "_im2col")
    kept = {}
    im2col.forward(x, w, spec, kept=kept)
    np.testing.assert_allclose(im2col.grad_weight(x, gy, spec, kept=kept), ref, rtol=1e-12)
    assert len(calls) == 1                                  # the forward's columns, reused
    im2col.forward(x, w, spec, kept=kept)
    im2col.grad_input(gy, w, spec, kept=kept)               # takes the workspace
    np.testing.assert_allclose(im2col.grad_weight(x, gy, spec, kept=kept), ref, rtol=1e-12)
    assert len(calls) == 3                                  # so the columns are made afresh
    im2col.forward(x, w, spec, kept=kept)
    np.testing.assert_allclose(im2col.grad_weight(x, gy, spec), ref, rtol=1e-12)
    assert len(calls) == 5                                  # nothing handed: copied afresh
    im2col.forward(x, w, spec, kept=kept)
    np.testing.assert_allclose(im2col.grad_weight(x2, gy, spec, kept=kept), ref2, rtol=1e-12)
    assert len(calls) == 7                                  # another x: copied afresh
    monkeypatch.setattr(im2col, "WORKSPACE_BYTES", 1)       # one sample per chunk: no batch's
    kept = {}                                               # columns to hand over
    im2col.forward(x, w, spec, kept=kept)
    np.testing.assert_allclose(im2col.grad_weight(x, gy, spec, kept=kept), ref, rtol=1e-12)
    assert "columns" not in kept and len(calls) == 7 + 2 * spec.N


def test_im2col_reuse_is_safe_when_convs_interleave(monkeypatch):
    """The second conv's forward runs between the first's forward and backward (it takes the
    workspace), and a backward on another thread (whose workspace differs): both copy afresh."""
    import threading
    spec, spec2 = SPECS[0], SPECS[13]                       # same C, KH, KW; other sizes
    x, w, gy = arrays(spec)
    x2, w2, gy2 = arrays(spec2, seed=1)
    calls = counting(monkeypatch, "_im2col")
    kept, kept2 = {}, {}
    im2col.forward(x, w, spec, kept=kept)
    im2col.forward(x2, w2, spec2, kept=kept2)
    np.testing.assert_allclose(im2col.grad_weight(x, gy, spec, kept=kept),
                               direct.grad_weight(x, gy, spec), rtol=1e-12)
    assert len(calls) == 3                                  # the first's columns were gone
    im2col.forward(x2, w2, spec2, kept=kept2)
    out = []
    thread = threading.Thread(target=lambda: out.append(im2col.grad_weight(x2, gy2, spec2,
                                                                           kept=kept2)))
    thread.start()
    thread.join()
    np.testing.assert_allclose(out[0], direct.grad_weight(x2, gy2, spec2), rtol=1e-12)
    assert len(calls) == 5                                  # another thread: copied afresh


@pytest.mark.parametrize("order", ["gw-first", "gx-first"])
def test_im2col_gradients_share_gys_layout_through_kept(order, monkeypatch):
    spec = SPECS[7]                                              # groups 2
    x, w, gy = arrays(spec)
    gy2 = arrays(spec, seed=1)[2]
    calls = counting(monkeypatch, "_to_groups")
    kept = {}
    grads = [lambda g: im2col.grad_weight(x, g, spec, kept=kept),
             lambda g: im2col.grad_input(g, w, spec, kept=kept)]
    refs = [lambda g: direct.grad_weight(x, g, spec), lambda g: direct.grad_input(g, w, spec)]
    if order == "gx-first":
        grads, refs = grads[::-1], refs[::-1]
    for grad, ref in zip(grads, refs):
        np.testing.assert_allclose(grad(gy), ref(gy), rtol=1e-12)
    assert len(calls) == 1                                       # made once, used twice
    for grad, ref in zip(grads, refs):
        np.testing.assert_allclose(grad(gy2), ref(gy2), rtol=1e-12)
    assert len(calls) == 2                                       # another gy: made afresh


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [5, (1 << 19) // 6 + 1])       # NumPy's path, the parallel one
def test_add_bias_in_place(size, dtype):
    from tatamikomi.kernels import elementwise
    rng = np.random.default_rng(0)
    y, b = rng.standard_normal((2, 3, size)).astype(dtype), rng.standard_normal(3).astype(dtype)
    ref = y + b[None, :, None]
    out = elementwise.add_bias(y, b)
    assert out is y and y.dtype == dtype
    np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("size", [5, 1 << 19])                # serial and on every thread
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scale_shift_is_numpys_per_channel_affine(size, dtype):
    from tatamikomi.kernels import elementwise
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, size)).astype(dtype)
    a, b = (rng.standard_normal(3).astype(dtype) for _ in range(2))
    out = elementwise.scale_shift(x, a, b)
    assert out.dtype == dtype and not np.shares_memory(out, x)
    np.testing.assert_array_equal(out, x * a[None, :, None] + b[None, :, None])


@pytest.mark.parametrize("name", list(kernels.KERNELS))
def test_float32_stays_float32_and_fresh(name):
    kernel = kernels.KERNELS[name]
    spec = next(s for s in [SPECS[7], *SPECS] if kernel.supports(s))     # the first it claims
    x, w, gy = arrays(spec, "float32")
    for out, shape in zip(run(kernel, x, w, gy, spec),
                          (spec.y_shape, spec.x_shape, spec.w_shape)):
        assert out.dtype == np.float32 and out.shape == shape and out.flags.c_contiguous
        assert not any(np.shares_memory(out, a) for a in (x, w, gy))


EMPTY = [  # no input channels: y is all zeros (plus bias), gx and gw have no elements
    ConvSpec.make((2, 0, 5, 5), (3, 0, 3, 3), padding=(1, 1), dtype="float64"),
    ConvSpec.make((2, 0, 9, 8), (4, 0, 3, 3), stride=(2, 2), groups=2, dtype="float64"),
    ConvSpec.make((2, 0, 5, 5), (3, 0, 1, 1), dtype="float64"),
    ConvSpec.make((1, 0, 12, 12), (2, 0, 7, 7), padding=(3, 3), dtype="float64"),
]
EMPTY_CLAIMED = [(n, s) for n in kernels.KERNELS for s in EMPTY if kernels.KERNELS[n].supports(s)]


@pytest.mark.parametrize("name,spec", EMPTY_CLAIMED,
                         ids=[f"{n}-{s.w_shape}" for n, s in EMPTY_CLAIMED])
def test_zero_input_channels(name, spec):
    """Every kernel, on each of these specs it claims, gives the empty sums' zeros (it raised
    ZeroDivisionError, IndexError or ValueError in all but direct). PyTorch's conv2d returns
    no channels at all here; ops/conv.py does that, the kernels keep their shapes."""
    x, w, gy = arrays(spec)
    for ours, ref in zip(run(kernels.KERNELS[name], x, w, gy, spec), run(direct, x, w, gy, spec)):
        assert ours.shape == ref.shape
        np.testing.assert_array_equal(ours, ref)
    assert not direct.forward(x, w, spec).any()
    if getattr(kernels.KERNELS[name], "FUSES_BIAS", False):
        b = np.arange(spec.O, dtype=x.dtype)
        np.testing.assert_array_equal(kernels.KERNELS[name].forward(x, w, spec, bias=b),
                                      np.broadcast_to(b[:, None, None], spec.y_shape))


def test_select_use_and_env(monkeypatch):
    spec = SPECS[0]
    monkeypatch.delenv("TATAMIKOMI_CONV", raising=False)
    assert kernels.select(spec) is im2col
    with kernels.use("direct") as k:
        assert k is direct and kernels.select(spec) is direct
        with kernels.use("im2col"):
            assert kernels.select(spec) is im2col
        assert kernels.select(spec) is direct
    assert kernels.select(spec) is im2col
    monkeypatch.setenv("TATAMIKOMI_CONV", "direct")              # read at call time
    assert kernels.select(spec) is direct
    with kernels.use("im2col"):
        assert kernels.select(spec) is im2col                    # use() beats the environment


def test_unknown_and_unsupported_kernels(monkeypatch):
    spec = SPECS[0]
    with pytest.raises(ValueError, match="'nope'.*direct, im2col"), kernels.use("nope"):
        pass
    monkeypatch.setenv("TATAMIKOMI_CONV", "nope")
    with pytest.raises(ValueError, match="'nope'.*direct, im2col"):
        kernels.select(spec)
    monkeypatch.delenv("TATAMIKOMI_CONV")
    never = types.SimpleNamespace(supports=lambda spec: False)
    monkeypatch.setitem(kernels.KERNELS, "never", never)
    with kernels.use("never"), pytest.raises(ValueError) as e:
        kernels.select(spec)
    assert str(e.value) == f"conv kernel 'never' cannot run {spec}"


CLAIMS = {                      # which of the CASES each kernel must claim (by index)
    "blocked": set(range(len(CASES))),             # every spec: strides go through phases
    "depthwise": {2, 8, 9, 14, 15, 16, 17},     # 2: C = 1 is depthwise with multiplier 3
    "gemm1x1": {18, 19, 20, 21},
    "winograd": {0, 1, 8, 13, 17, 23, 24, 25},     # 8, 17: grouped 3x3
    "fft": {10, 11, 14, 27, 28, 29, 30, 31},        # 14: depthwise 5x5; 32 is strided
}


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_supports_claims_exactly(name):
    claimed = {i for i, spec in enumerate(SPECS) if kernels.KERNELS[name].supports(spec)}
    assert claimed == CLAIMS[name]


def test_rules_pick_depthwise_fft_blocked_else_im2col(monkeypatch):
    monkeypatch.delenv("TATAMIKOMI_CONV", raising=False)
    monkeypatch.setattr(blocked, "FAST", True)               # the rules as on an AVX-512 CPU
    assert kernels.select(SPECS[8]) is depthwise
    assert kernels.select(SPECS[7]) is im2col
    assert kernels.select(SPECS[2]) is depthwise             # C = 1: depthwise, multiplier 3
    mnist_conv1 = ConvSpec.make((64, 1, 28, 28), (32, 1, 3, 3), padding=(1, 1))
    assert depthwise.supports(mnist_conv1) and kernels.select(mnist_conv1) is blocked
    assert kernels.select(ConvSpec.make((8, 16, 64, 64), (32, 16, 11, 11), padding=(5, 5))) is fft
    assert kernels.select(ConvSpec.make((8, 16, 64, 64), (32, 16, 7, 7))) is fft
    for other in (ConvSpec.make((8, 16, 64, 64), (32, 16, 3, 3), stride=(2, 2)),   # 2.25 taps
                  ConvSpec.make((8, 3, 224, 224), (64, 3, 3, 3), padding=(1, 1)),     # C < 8
                  ConvSpec.make((8, 256, 14, 14), (256, 256, 3, 3), padding=(1, 1)),  # O > 128
                  ConvSpec.make((8, 256, 28, 28), (64, 256, 1, 1)),                  # 1x1
                  ConvSpec.make((20, 16, 50, 100), (32, 16, 3, 3), stride=(2, 2))):
        assert kernels.select(other) is im2col
    for tiles in (ConvSpec.make((8, 16, 64, 64), (32, 16, 5, 5)),               # 5x5
                  ConvSpec.make((8, 16, 64, 64), (32, 16, 7, 7), stride=(2, 2)),  # 12 taps
                  ConvSpec.make((20, 16, 100, 50), (32, 16, 5, 3), stride=(2, 1)),  # 7.5 taps
                  ConvSpec.make((8, 8, 64, 64), (32, 8, 11, 11)),               # C < 16: not fft
                  ConvSpec.make((64, 32, 14, 14), (64, 32, 3, 3), padding=(1, 1)),
                  ConvSpec.make((8, 64, 56, 56), (64, 64, 3, 3), padding=(1, 1)),
                  ConvSpec.make((8, 128, 28, 28), (128, 128, 3, 3), padding=(1, 1)),
                  ConvSpec.make((8, 64, 56, 56), (64, 16, 3, 3), padding=(1, 1), groups=4)):
        assert kernels.select(tiles) is blocked


def _benchmark():
    """benchmarks/kernels.py as a module (its EVIDENCE and RULES_MD)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parents[1] / "benchmarks" / "kernels.py"
    loader = importlib.util.spec_from_file_location("benchmark_kernels", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def test_each_rule_picks_its_kernel_on_the_shapes_it_rests_on(monkeypatch):
    monkeypatch.delenv("TATAMIKOMI_CONV", raising=False)
    monkeypatch.setattr(blocked, "FAST", True)               # the rules as on an AVX-512 CPU
    bench = _benchmark()
    names = [r.name for r in kernels.RULES]
    assert len(set(names)) == len(names) and list(bench.EVIDENCE) == names
    for name, label, spec in bench.evidence_specs():
        assert kernels.rule(spec).name == name, label
        assert kernels.select(spec) is kernels.rule(spec).kernel
    assert kernels.RULES[-1].when(SPECS[0])                  # the last rule takes anything


def test_rules_md_has_every_rule_and_reason():
    """benchmarks/RULES.md is generated: a rule renamed, added or given another reason without
    a new measurement shows here."""
    text = _benchmark().RULES_MD.read_text()
    for r in kernels.RULES:
        assert f"## {r.name}: {r.kernel.__name__.rsplit('.', 1)[-1]}\n\n{r.why}.\n" in text


def test_the_rules_leave_winograd_and_gemm1x1_to_use_and_the_autotuner(monkeypatch):
    """The default rule's reason: on every 3x3 stride-1 shape Winograd claims and every 1x1
    gemm1x1 claims (a grid of channels, groups and sizes), the rules pick another kernel."""
    monkeypatch.delenv("TATAMIKOMI_CONV", raising=False)
    claimed = 0
    for fast in (True, False):
        monkeypatch.setattr(blocked, "FAST", fast)
        for c, o, g, hw, k in itertools.product((1, 3, 16, 64, 256), (8, 64, 256), (1, 4),
                                                (7, 56), (1, 3)):
            if c % g or o % g:
                continue
            spec = ConvSpec.make((8, c, hw, hw), (o, c // g, k, k), padding=(k // 2,) * 2,
                                 groups=g)
            for kernel in (winograd, gemm1x1):
                if kernel.supports(spec):
                    claimed += 1
                    assert kernels.select(spec) is not kernel, spec
            spec = ConvSpec.make((8, c, hw, hw), (o, c // g, k, k), groups=g)   # unpadded
            claimed += gemm1x1.supports(spec)
            assert kernels.select(spec) is not gemm1x1
    assert claimed > 100


WINO = sorted(CLAIMS["winograd"])


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("i", WINO, ids=[IDS[i] for i in WINO])
def test_winograd_tiles_and_chunks(i, m, monkeypatch):
    """F(2x2, 3x3) and F(4x4, 3x3), whole batch and one sample per chunk, against direct."""
    spec = SPECS[i]
    x, w, gy = arrays(spec)
    ref = run(direct, x, w, gy, spec)[:2]
    for cap in (winograd.WORKSPACE_BYTES, 1):
        monkeypatch.setattr(winograd, "WORKSPACE_BYTES", cap)
        ours = [winograd.forward(x, w, spec, m), winograd.grad_input(gy, w, spec, m)]
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_winograd_matrices_are_lavins(monkeypatch):
    """With Lavin & Gray's points the solved B^T of F(4x4, 3x3) is theirs, up to row signs."""
    monkeypatch.setitem(winograd.POINTS, 4, (0, 1, -1, 2, -2))
    AT, G, BT = winograd._matrices(4)
    lavin = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                      [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]])
    np.testing.assert_allclose(np.abs(BT), np.abs(lavin), atol=1e-12)
    np.testing.assert_allclose(AT[1], [0, 1, -1, 2, -2, 0])


@pytest.mark.parametrize("i", [27, 31], ids=[IDS[27], IDS[31]])
def test_fft_fresh_buffers_agree(i, monkeypatch):
    """Reused workspaces and fresh arrays (the cap) give the same results; grids are 2-3-5."""
    spec = SPECS[i]
    x, w, gy = arrays(spec)
    reused = run(fft, x, w, gy, spec)
    monkeypatch.setattr(fft, "WORKSPACE_BYTES", 0)
    for ours, ref in zip(run(fft, x, w, gy, spec), reused):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    assert [fft._fast_size(n) for n in (1, 7, 11, 13, 74, 97)] == [1, 8, 12, 15, 75, 100]


def test_gemm1x1_batch_per_sample_agrees(monkeypatch):
    spec = SPECS[19]
    x, w, gy = arrays(spec)
    folded = run(gemm1x1, x, w, gy, spec)
    monkeypatch.setattr(gemm1x1, "FOLD_MIN_N", 1 << 60)
    for ours, ref in zip(run(gemm1x1, x, w, gy, spec), folded):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_autotuner_caches_a_supporting_kernel(monkeypatch):
    from tatamikomi.backends import conv
    monkeypatch.delenv("TATAMIKOMI_CONV", raising=False)
    monkeypatch.setattr(conv, "benchmark", True)
    conv.clear_cache()
    calls = []
    real = kernels._tuned
    monkeypatch.setattr(kernels, "_tuned", lambda spec, cache: calls.append(spec) or real(
        spec, cache))
    try:
        for spec in (SPECS[8], SPECS[18], SPECS[0]):
            chosen = kernels.select(spec)
            assert chosen is not direct and chosen.supports(spec)
            assert kernels.select(spec) is chosen                   # cached: same choice
            assert conv.cache[spec] in kernels.KERNELS
        assert len(conv.cache) == 3
        with kernels.use("im2col"):                                 # use() still wins
            assert kernels.select(SPECS[8]) is im2col
        with kernels.use("winograd"), pytest.raises(ValueError):    # and still refuses
            kernels.select(SPECS[9])                                # (stride 2)
    finally:
        conv.clear_cache()
    assert conv.cache == {}


@pytest.mark.parametrize("i", [0, 4, 6, 7, 13, 17, 28],
                         ids=[IDS[i] for i in (0, 4, 6, 7, 13, 17, 28)])
def test_blocked_one_sample_per_chunk_and_float32_tiles(i, monkeypatch):
    """blocked with its workspace capped to one sample per chunk, and float32's 16-lane tiles
    on a spec with more than one pixel block and output block, against direct."""
    spec = SPECS[i]
    x, w, gy = arrays(spec)
    monkeypatch.setattr(blocked, "WORKSPACE_BYTES", 1)
    for ours, ref in zip(run(blocked, x, w, gy, spec), run(direct, x, w, gy, spec)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_blocked_against_torch_on_a_layer_with_many_tiles(dtype):
    """A layer big enough for several tiles in every direction (pixel blocks, output blocks,
    tap groups of grad_weight, gy chunks) and a partial last output block, at stride 1 and at
    strides whose phases hold different numbers of taps, against PyTorch."""
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for stride in ((1, 1), (2, 1), (3, 2)):
        spec = ConvSpec.make((3, 20, 23, 37), (36, 10, 5, 3), stride=stride, padding=(1, 2),
                             dilation=(1, 2), groups=2, dtype=dtype)
        x, w, gy = arrays(spec, dtype)
        for ours, theirs in zip(run(blocked, x, w, gy, spec), torch_conv(x, w, gy, spec)):
            assert ours.dtype == np.dtype(dtype)
            np.testing.assert_allclose(ours, theirs, **tol)


@pytest.mark.parametrize("i", [0, 4, 7, 17], ids=[IDS[i] for i in (0, 4, 7, 17)])
def test_blocked_adds_the_bias_in_its_sums(i):
    spec = SPECS[i]
    x, w, _ = arrays(spec)
    b = np.random.default_rng(1).standard_normal(spec.O)
    ref = direct.forward(x, w, spec) + b[:, None, None]
    np.testing.assert_allclose(blocked.forward(x, w, spec, bias=b), ref, rtol=1e-10, atol=1e-12)


def test_conv2d_lets_a_fusing_kernel_add_the_bias(monkeypatch):
    """Through F.conv2d with a bias, on a layer the rules give to blocked, against PyTorch."""
    import tatamikomi as tm
    import tatamikomi.nn.functional as tF
    monkeypatch.delenv("TATAMIKOMI_CONV", raising=False)
    monkeypatch.setattr(blocked, "FAST", True)               # the rules as on an AVX-512 CPU
    spec = ConvSpec.make((4, 16, 12, 12), (32, 16, 3, 3), padding=(1, 1))
    assert kernels.select(spec) is blocked and blocked.FUSES_BIAS
    x, w, _ = arrays(spec, "float32")
    b = np.random.default_rng(2).standard_normal(32).astype("float32")
    ours = tF.conv2d(tm.tensor(x), tm.tensor(w), tm.tensor(b), padding=1).numpy()
    theirs = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_rules_skip_blocked_where_its_tiles_do_not_fit_the_registers(monkeypatch):
    monkeypatch.delenv("TATAMIKOMI_CONV", raising=False)
    monkeypatch.setattr(blocked, "FAST", False)
    conv2, conv1 = (ConvSpec.make((64, c, s, s), (o, c, 3, 3), padding=(1, 1))
                    for c, s, o in ((32, 14, 64), (1, 28, 32)))
    assert kernels.select(conv2) is im2col and kernels.select(conv1) is depthwise


# The tiles of the other ISAs, compiled for this CPU: exact here (their speed is measured where
# they run: AVX2 code on this machine by benchmarks/kernels.py under AVX2 features; NEON not).
OTHER_TILES = [Tile(8, 3, 16), Tile(4, 3, 32), Tile(6, 2, 32)]


@pytest.mark.parametrize("tile", OTHER_TILES, ids=repr)
@pytest.mark.parametrize("spec", SPECS + [ConvSpec.make((3, 20, 23, 37), (36, 10, 5, 3),
                                                        stride=(2, 1), padding=(1, 2),
                                                        dilation=(1, 2), groups=2,
                                                        dtype="float64")],
                         ids=IDS + ["many-tiles"])
def test_blocked_with_every_isas_tile_matches_direct(tile, spec, monkeypatch):
    monkeypatch.setattr(blocked, "TILE", tile)
    monkeypatch.setattr(blocked, "GW_TILE", tile)
    x, w, gy = arrays(spec)
    for ours, ref in zip(run(blocked, x, w, gy, spec), run(direct, x, w, gy, spec)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_forward_results_do_not_depend_on_the_tile(monkeypatch):
    """Each output lane is one FMA chain in the reduction's order, whatever the tile's shape."""
    spec = ConvSpec.make((2, 8, 11, 13), (12, 8, 3, 3), padding=(1, 1), dtype="float32")
    x, w, _ = arrays(spec, "float32")
    ys = []
    for tile in [blocked.TILE] + OTHER_TILES:
        monkeypatch.setattr(blocked, "TILE", tile)
        ys.append(blocked.forward(x, w, spec))
    for y in ys[1:]:
        np.testing.assert_array_equal(y, ys[0])


TINY = [  # images no bigger than the kernel's reach, in big padding: grad_weight's packed planes
    ConvSpec.make((2, 8, 1, 1), (8, 8, 3, 3), padding=(1, 1), dtype="float64"),
    ConvSpec.make((2, 8, 2, 1), (4, 8, 3, 3), padding=(2, 1), dtype="float64"),
    ConvSpec.make((1, 8, 1, 3), (8, 8, 3, 5), padding=(1, 2), dilation=(1, 1), dtype="float64"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])          # 8 and 16 lanes
@pytest.mark.parametrize("spec", SPECS + TINY, ids=IDS + [f"tiny{i}" for i in range(len(TINY))])
def test_blocked_reads_nothing_it_did_not_write(spec, dtype, monkeypatch):
    """Every buffer blocked asks for comes NaN-filled, with NaN after its end: a read of memory
    it did not write (past a plane, past the tail) would turn its results to NaN. (A NaN result
    would send it to im2col, as non-finite input does: that is refused here, or it would hide
    the NaN.)"""
    def poisoned(name, shape, dt):
        size = int(np.prod(shape))
        return np.full(size + 4096, np.nan, dt)[:size].reshape(shape)

    def refuse(*args, **kwargs):
        raise AssertionError("blocked went to im2col: its result held NaN")
    monkeypatch.setattr(blocked, "scratch", poisoned)
    for fn in ("forward", "grad_input", "grad_weight"):
        monkeypatch.setattr(blocked.im2col, fn, refuse)
    x, w, gy = arrays(spec, dtype)
    refs = run(direct, *(a.astype("float64") for a in (x, w, gy)), spec)
    for ours, ref in zip(run(blocked, x, w, gy, spec), refs):
        np.testing.assert_allclose(ours, ref, rtol=1e-4 if dtype == "float32" else 1e-10,
                                   atol=1e-4 if dtype == "float32" else 1e-12)
