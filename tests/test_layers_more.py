"""The layers real CNN programs use beyond the seeds, against PyTorch in the same process:
activations (kinks included), normalizations, channel dropout, resampling, padding and
pooling layers; forward and backward in float32 and float64, train and eval, state_dict keys,
reprs and node names."""
import math
import warnings

import numpy as np
import pytest
import torch
from helpers import assert_close, to_numpy
from layer_helpers import DTYPES, LIBS, assert_state_equal, rand, run_both, run_module

import tatamikomi as tm

# values at and around every kink PyTorch defines a one-sided gradient for, plus the specials
KINKS = np.array([-np.inf, -20.0, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 20.0, 25.0,
                  np.inf, np.nan])


def activation_input(dtype, special=True):
    x = np.concatenate([rand(3, 7, dtype=dtype).reshape(-1) * 4, KINKS if special else []])
    return x.astype(dtype).reshape(3, -1)


ACTIVATIONS = {
    "leaky_relu": lambda lib, nn, F, x: F.leaky_relu(x),
    "leaky_relu-0.2": lambda lib, nn, F, x: F.leaky_relu(x, 0.2),
    "leaky_relu-negative": lambda lib, nn, F, x: F.leaky_relu(x, -0.5),
    "LeakyReLU": lambda lib, nn, F, x: nn.LeakyReLU(0.1)(x),
    "relu6": lambda lib, nn, F, x: F.relu6(x),
    "ReLU6": lambda lib, nn, F, x: nn.ReLU6()(x),
    "hardtanh": lambda lib, nn, F, x: F.hardtanh(x, -2.0, 3.0),
    "Hardtanh": lambda lib, nn, F, x: nn.Hardtanh()(x),
    "elu": lambda lib, nn, F, x: F.elu(x),
    "ELU-0.5": lambda lib, nn, F, x: nn.ELU(0.5)(x),
    "selu": lambda lib, nn, F, x: F.selu(x),
    "celu": lambda lib, nn, F, x: F.celu(x, 2.0),
    "gelu": lambda lib, nn, F, x: F.gelu(x),
    "gelu-tanh": lambda lib, nn, F, x: nn.GELU(approximate="tanh")(x),
    "silu": lambda lib, nn, F, x: F.silu(x),
    "SiLU": lambda lib, nn, F, x: nn.SiLU()(x),
    "hardswish": lambda lib, nn, F, x: F.hardswish(x),
    "Hardswish": lambda lib, nn, F, x: nn.Hardswish()(x),
    "hardsigmoid": lambda lib, nn, F, x: F.hardsigmoid(x),
    "softplus": lambda lib, nn, F, x: F.softplus(x),
    "softplus-beta": lambda lib, nn, F, x: nn.Softplus(2.0, 5.0)(x),
    "mish": lambda lib, nn, F, x: F.mish(x),
    "Mish": lambda lib, nn, F, x: nn.Mish()(x),
    "logsigmoid": lambda lib, nn, F, x: F.logsigmoid(x),
    "threshold": lambda lib, nn, F, x: nn.Threshold(1.0, -2.0)(x),
    "hardshrink": lambda lib, nn, F, x: F.hardshrink(x, 1.0),
    "softshrink": lambda lib, nn, F, x: nn.Softshrink(0.5)(x),
    "softsign": lambda lib, nn, F, x: nn.Softsign()(x),
    "tanhshrink": lambda lib, nn, F, x: nn.Tanhshrink()(x),
    "softmin": lambda lib, nn, F, x: nn.Softmin(1)(x[:1]),
    "glu": lambda lib, nn, F, x: F.glu(x[:, :20], -1),
    "GLU-0": lambda lib, nn, F, x: nn.GLU(0)(x[:2]),
    "prelu-one": lambda lib, nn, F, x: F.prelu(x, lib.tensor([0.3], dtype=x.dtype)),
    "prelu-channels": lambda lib, nn, F, x: F.prelu(x.reshape(3, 3, 4), lib.tensor([0.3, -0.2, 2.0],
                                                                   dtype=x.dtype)),
    "sigmoid": lambda lib, nn, F, x: nn.Sigmoid()(x),
    "tanh": lambda lib, nn, F, x: nn.Tanh()(x),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_torch_at_kinks_and_specials(name, dtype):
    """Values and gradients everywhere, including exactly at 0, +-3, 6, +-inf and NaN."""
    x = activation_input(dtype)
    if name == "gelu" and dtype == "float32":
        # PyTorch's own float32 gelu(+inf) is inf for a 1-element tensor and NaN for longer ones
        # (its vector erf): no single answer to match, so +inf is left out here
        x[x == np.inf] = 1e30
    with np.errstate(all="ignore"):
        run_both(ACTIVATIONS[name], [x], dtype)


LOOPED = {"leaky_relu": lambda F, t: F.leaky_relu(t, 0.1), "relu6": lambda F, t: F.relu6(t),
          "hardtanh": lambda F, t: F.hardtanh(t, -2.0, 0.5),
          "hardswish": lambda F, t: F.hardswish(t),
          "silu": lambda F, t: F.silu(t), "gelu": lambda F, t: F.gelu(t),
          "gelu-tanh": lambda F, t: F.gelu(t, approximate="tanh"), "elu": lambda F, t: F.elu(t),
          "selu": lambda F, t: F.selu(t), "celu": lambda F, t: F.celu(t, 2.0)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [5000, "parallel"], ids=["serial", "parallel"])
@pytest.mark.parametrize("name", LOOPED)
def test_activation_loops_match_torch(name, n, dtype):
    """The Numba loops big maps take (ops/_activation_loops.py), both sides of the parallel
    threshold. PyTorch's own gradient at NaN depends on where its vector loop puts it, so
    gradients are compared at finite inputs; values everywhere."""
    from tatamikomi.kernels.elementwise import PARALLEL_MIN
    n = PARALLEL_MIN + 3 if n == "parallel" else n
    x = rand(n, dtype=dtype, seed=4) * 5
    x[:7] = [np.nan, np.inf, -np.inf, 0.0, 3.0, -3.0, 6.0]
    if name == "gelu" and dtype == "float32":
        x[1] = 1e30                              # see the kink test: PyTorch has no one answer
    gy = rand(n, dtype=dtype, seed=5)
    out = []
    for lib, _, F in LIBS.values():
        t = lib.tensor(x, requires_grad=True)
        y = LOOPED[name](F, t)
        y.backward(lib.tensor(gy))
        out.append((to_numpy(y), to_numpy(t.grad)))
    (y, gx), (ty, tgx) = out
    finite = np.isfinite(x)
    assert_close(y, ty, dtype, scale=5.0)
    assert_close(gx[finite], tgx[finite], dtype, scale=5.0)


@pytest.mark.parametrize("name", ["hardtanh", "relu6", "leaky_relu", "elu", "selu", "celu",
                                  "silu", "hardswish", "hardsigmoid", "mish", "threshold"])
def test_inplace_activations_write_into_their_input(name):
    """The in-place form returns its input, holds the result, and backpropagates as the
    out-of-place one; the node is PyTorch's (LeakyReluBackward1 for leaky_relu_ ...)."""
    args = {"threshold": (0.5, -1.0)}.get(name, ())
    x = activation_input("float64", special=False)

    def fn(lib, nn, F, t):
        y = t * 1
        out = getattr(F, name)(y, *args, inplace=True)
        assert out is y
        return out
    res = run_both(fn, [x])
    assert res["ours"][0].grad_fn.name() == res["torch"][0].grad_fn.name()
    for lib, _, F in LIBS.values():                  # a leaf that requires grad is refused
        with pytest.raises(RuntimeError, match="leaf Variable"):
            getattr(F, name)(lib.ones(2, requires_grad=True), *args, inplace=True)


@pytest.mark.parametrize("name,fn", [
    ("elu_", lambda F, t: F.elu_(t)), ("leaky_relu_", lambda F, t: F.leaky_relu_(t, 0.3)),
    ("hardtanh_", lambda F, t: F.hardtanh_(t, -0.5, 0.5)), ("selu_", lambda F, t: F.selu_(t)),
    ("celu_", lambda F, t: F.celu_(t)), ("threshold_", lambda F, t: F.threshold_(t, 0.1, 9.0)),
    ("relu_", lambda F, t: F.relu_(t))])
def test_underscore_functional_forms(name, fn):
    x = activation_input("float64", special=False)
    out = {}
    for key, (lib, _, F) in LIBS.items():
        t = lib.tensor(x.copy())
        assert fn(F, t) is t
        out[key] = t
    assert_close(out["ours"], out["torch"])


def test_integer_inputs_where_pytorch_accepts_them():
    for fn in (lambda F, t: F.hardtanh(t, -1, 2), lambda F, t: F.relu6(t),
               lambda F, t: F.threshold(t, 1, 7)):
        a, b = (fn(F, lib.tensor([-3, 0, 1, 2, 9])) for lib, _, F in LIBS.values())
        assert a.tolist() == b.tolist() and str(a.dtype)[-5:] == str(b.dtype)[-5:]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("factory,shape", [
    (lambda nn: nn.PReLU(), (2, 3, 4, 4)),
    (lambda nn: nn.PReLU(3, init=-0.4), (2, 3, 4, 4)),
    (lambda nn: nn.PReLU(3), (5, 3)),
    (lambda nn: nn.PReLU(), (7,)),
], ids=["one", "per-channel", "2d", "1d"])
def test_prelu_module_weight_gradient(factory, shape, dtype):
    run_module(factory, rand(*shape, dtype=dtype), dtype, steps=2)


def test_softmax2d():
    run_both(lambda lib, nn, F, x: nn.Softmax2d()(x), [rand(2, 3, 4, 5)])
    run_both(lambda lib, nn, F, x: nn.Softmax2d()(x), [rand(3, 4, 5)])


# ----- normalization

def randomized(factory, seed=0):
    """factory, with torch's parameters drawn at random (ours copy them in module_pair)."""
    def build(nn):
        m = factory(nn)
        if nn is torch.nn:
            rng = np.random.default_rng(seed)
            with torch.no_grad():
                for p in m.parameters():
                    p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.5 + 1))
        return m
    return build


NORMS = {
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), (3, 4, 5, 5)),
    "GroupNorm-1": (lambda nn: nn.GroupNorm(1, 4), (3, 4, 5, 5)),
    "GroupNorm-4-noaffine": (lambda nn: nn.GroupNorm(4, 4, affine=False), (3, 4, 5)),
    "GroupNorm-nobias": (lambda nn: nn.GroupNorm(2, 6, eps=1e-3, bias=False), (2, 6, 3, 2, 2)),
    "GroupNorm-2d-input": (lambda nn: nn.GroupNorm(3, 6), (4, 6)),
    "LayerNorm": (lambda nn: nn.LayerNorm(5), (3, 4, 5)),
    "LayerNorm-2dims": (lambda nn: nn.LayerNorm([4, 5]), (3, 4, 5)),
    "LayerNorm-image": (lambda nn: nn.LayerNorm((3, 4, 4)), (2, 3, 4, 4)),
    "LayerNorm-noaffine": (lambda nn: nn.LayerNorm(5, elementwise_affine=False), (2, 5)),
    "LayerNorm-nobias": (lambda nn: nn.LayerNorm(5, bias=False, eps=1e-2), (6, 5)),
    "LayerNorm-1d": (lambda nn: nn.LayerNorm(5), (5,)),
    "InstanceNorm2d": (lambda nn: nn.InstanceNorm2d(3), (2, 3, 4, 5)),
    "InstanceNorm2d-affine": (lambda nn: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 5)),
    "InstanceNorm2d-tracked": (lambda nn: nn.InstanceNorm2d(3, affine=True,
                                                            track_running_stats=True),
                               (2, 3, 4, 5)),
    "InstanceNorm2d-tracked-cumulative": (
        lambda nn: nn.InstanceNorm2d(3, momentum=None, track_running_stats=True), (2, 3, 4, 5)),
    "InstanceNorm2d-unbatched": (lambda nn: nn.InstanceNorm2d(3, affine=True), (3, 4, 5)),
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(3, track_running_stats=True), (2, 3, 6)),
    "InstanceNorm3d": (lambda nn: nn.InstanceNorm3d(2, affine=True), (2, 2, 3, 3, 3)),
    "BatchNorm1d-2d": (lambda nn: nn.BatchNorm1d(3), (5, 3)),
    "BatchNorm1d-3d": (lambda nn: nn.BatchNorm1d(3, momentum=None), (4, 3, 6)),
    "BatchNorm1d-nobias": (lambda nn: nn.BatchNorm1d(3, bias=False), (5, 3)),
    "BatchNorm1d-untracked": (lambda nn: nn.BatchNorm1d(3, track_running_stats=False), (5, 3)),
    "BatchNorm3d": (lambda nn: nn.BatchNorm3d(2), (2, 2, 3, 3, 3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NORMS)
def test_normalization_layers_train_then_eval(name, dtype):
    """Three training steps (outputs, input and parameter gradients, running statistics and
    num_batches_tracked after each), then eval mode on new data."""
    factory, shape = NORMS[name]
    x = rand(*shape, dtype=dtype) * 2 + 0.5
    ours, theirs = run_module(randomized(factory), x, dtype, steps=3)
    ours.eval()
    theirs.eval()
    mods = {"ours": ours, "torch": theirs}
    run_both(lambda lib, nn, F, t: mods["ours" if lib is tm else "torch"](t),
             [rand(*shape, dtype=dtype, seed=9)], dtype)
    assert_state_equal(ours, theirs, dtype)
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", [
    lambda lib, F, x, w, b: F.layer_norm(x, (4,), w, b),
    lambda lib, F, x, w, b: F.layer_norm(x, [3, 4], eps=0.1),
    lambda lib, F, x, w, b: F.group_norm(x, 3, w.repeat(2)[:3] * 0 + w[:3], b[:3]),
    lambda lib, F, x, w, b: F.group_norm(x, 1, eps=1e-2),
    lambda lib, F, x, w, b: F.instance_norm(x, weight=w[:3], bias=b[:3]),
    lambda lib, F, x, w, b: F.instance_norm(x, lib.zeros(3, dtype=x.dtype),
                                            lib.ones(3, dtype=x.dtype), use_input_stats=False),
    lambda lib, F, x, w, b: F.batch_norm(x.flatten(2), None, None, w[:3], b[:3], True),
    lambda lib, F, x, w, b: F.batch_norm(x[:, :, 0, 0], None, None, training=True),
    lambda lib, F, x, w, b: F.normalize(x, dim=1),
    lambda lib, F, x, w, b: F.normalize(x, p=1.0, dim=-1),
], ids=["layer_norm", "layer_norm-2", "group_norm", "group_norm-1", "instance_norm",
        "instance_norm-eval", "batch_norm-3d", "batch_norm-2d", "normalize", "normalize-l1"])
def test_functional_normalizations(fn, dtype):
    run_both(lambda lib, nn, F, x, w, b: fn(lib, F, x, w, b),
             [rand(2, 3, 3, 4, dtype=dtype) * 3 + 1, rand(4, dtype=dtype, seed=1),
              rand(4, dtype=dtype, seed=2)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,shape", [
    (lambda F, x, w, b: F.group_norm(x, 4, w[:8], b[:8]), (4, 8, 24, 24)),
    (lambda F, x, w, b: F.group_norm(x, 1), (2, 6, 40, 40)),
    (lambda F, x, w, b: F.group_norm(x, 8, w[:8], None).transpose(2, 3), (3, 8, 30, 25)),
    (lambda F, x, w, b: F.layer_norm(x, (96,), w[:96], b[:96]), (3, 64, 96)),
    (lambda F, x, w, b: F.layer_norm(x, (20, 30)).transpose(0, 2), (40, 20, 30)),
], ids=["group_norm", "group_norm-1", "group_norm-strided-grad", "layer_norm",
        "layer_norm-strided-grad"])
def test_norm_loops_match_torch(fn, shape, dtype):
    """Maps big enough for the Numba loops (ops/_norm_loops.py); a transposed output gives
    their backward a strided gradient."""
    run_both(lambda lib, nn, F, x, w, b: fn(F, x, w, b),
             [rand(*shape, dtype=dtype) * 3 + 10, rand(96, dtype=dtype, seed=1),
              rand(96, dtype=dtype, seed=2)], dtype)


def test_instance_norm_updates_the_callers_running_stats():
    """F.instance_norm folds the per-sample statistics into the tensors it was given."""
    out = {}
    for key, (lib, _, F) in LIBS.items():
        rm, rv = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        F.instance_norm(lib.tensor(rand(2, 3, 4, 4) + 2), rm, rv, momentum=0.3)
        out[key] = rm, rv
    for a, b in zip(out["ours"], out["torch"]):
        assert_close(a, b)


def test_norm_classes_are_real_classes_for_init_loops():
    """torchvision's init loops test isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))."""
    nn = tm.nn
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.GroupNorm(2, 4),
                          nn.LayerNorm(4), nn.BatchNorm1d(4), nn.InstanceNorm2d(4))
    hit = [type(m).__name__ for m in model.modules()
           if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))]
    assert hit == ["BatchNorm2d", "GroupNorm"]
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


# ----- channel-wise and alpha dropout (masks are checked by their structure: the random
# stream itself is the generator's business)

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,shape", [("Dropout2d", (8, 16, 3, 4)), ("Dropout1d", (8, 16, 5)),
                                        ("Dropout1d", (16, 5)), ("Dropout3d", (4, 16, 2, 3, 2)),
                                        ("Dropout3d", (16, 2, 3, 2))])
def test_channel_dropout_zeroes_whole_channels(name, shape, dtype):
    tm.manual_seed(3)
    p = 0.4
    x = tm.tensor(rand(*shape, dtype=dtype) + 5.0, requires_grad=True)
    y = getattr(tm.nn, name)(p)(x)
    gy = rand(*shape, dtype=dtype, seed=4)
    y.backward(tm.tensor(gy))
    lead = len(shape) - {"Dropout1d": 1, "Dropout2d": 2, "Dropout3d": 3}[name]
    planes = y.detach().numpy().reshape(*shape[:lead], -1)
    kept = planes.any(axis=-1)                          # every plane all zero or all kept
    assert (planes[~kept] == 0).all() and (planes[kept] != 0).all()
    assert 0 < kept.mean() < 1
    keep = kept.reshape(*shape[:lead], *(1,) * (len(shape) - lead))
    tol = dict(rtol=1e-6 if dtype == "float32" else 1e-14)
    np.testing.assert_allclose(y.detach().numpy(), np.where(keep, x.detach().numpy() / (1 - p),
                                                            0), **tol)
    np.testing.assert_allclose(x.grad.numpy(), np.where(keep, gy / (1 - p), 0), **tol)
    theirs = getattr(torch.nn, name)(p)(torch.ones(shape, requires_grad=True))
    assert y.grad_fn.name() == theirs.grad_fn.name()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("factory,shape", [
    (lambda nn: nn.Dropout2d(0.3), (4, 8, 3, 2)), (lambda nn: nn.Dropout1d(0.6), (3, 5, 4)),
    (lambda nn: nn.Dropout1d(0.5), (5, 4)), (lambda nn: nn.Dropout3d(0.2), (2, 9, 2, 2, 1)),
    (lambda nn: nn.AlphaDropout(0.3), (6, 7)),
    (lambda nn: nn.FeatureAlphaDropout(0.4), (5, 6, 3)),
], ids=["Dropout2d", "Dropout1d", "Dropout1d-unbatched", "Dropout3d", "AlphaDropout",
        "FeatureAlphaDropout"])
def test_dropout_masks_are_pytorchs_after_manual_seed(factory, shape, dtype):
    """Same seed, same masks, value for value: the masks come from F.dropout's draw, which
    follows PyTorch's generator, over the (N, C, 1, ..) noise PyTorch draws."""
    x = rand(*shape, dtype=dtype)
    for seed in (0, 7):
        def fn(lib, nn, F, t, seed=seed):
            lib.manual_seed(seed)
            layer = factory(nn)
            return layer(t) + layer(t * 2)              # two draws: the stream advances alike
        run_both(fn, [x], dtype)


def test_channel_dropout_eval_p0_p1_and_inplace():
    for lib, nn, F in LIBS.values():
        x = lib.ones(2, 3, 4, 4)
        assert nn.Dropout2d(0.5).eval()(x) is x
        assert F.dropout2d(x, 0.0) is x
        assert F.dropout2d(x, 1.0).abs().sum().item() == 0
        y = lib.ones(2, 3, 4, 4)
        assert F.dropout2d(y, 0.5, inplace=True) is y
        assert set(np.unique(to_numpy(y))) <= {0.0, 2.0}


def test_dropout2d_warns_on_3d_input_as_pytorch():
    for lib, _, F in LIBS.values():
        with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
            F.dropout2d(lib.ones(2, 3, 4), 0.5)
        with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
            F.dropout2d(lib.ones(2, 3), 0.5)


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_keeps_selu_statistics(feature):
    """Kept units map to a*x + alpha*a*p, dropped ones to -alpha*a*(1-p) (Klambauer et al.):
    mean 0 and variance 1 stay so for standard normal input."""
    tm.manual_seed(0)
    p, alpha = 0.2, 1.7580993408473766
    a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = tm.tensor(rand(40, 50, 30), requires_grad=True)
    layer = tm.nn.FeatureAlphaDropout(p) if feature else tm.nn.AlphaDropout(p)
    y = layer(x)
    y.sum().backward()
    ya, xa = y.detach().numpy(), x.detach().numpy()
    kept = np.isclose(ya, a * xa + alpha * a * p, rtol=0, atol=1e-12)
    assert np.allclose(ya[~kept], -alpha * a * (1 - p), rtol=0, atol=1e-12)
    assert abs(kept.mean() - (1 - p)) < 0.02
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0.0), atol=1e-15)
    tol = 0.05 if feature else 0.02                  # 2000 channel draws against 60000
    assert abs(ya.mean()) < tol and abs(ya.std() - 1) < tol
    if feature:
        assert (kept.all(axis=-1) | ~kept.any(axis=-1)).all()
    assert layer.eval()(x) is x


# ----- interpolation, pixel shuffle, padding

INTERP = [
    ("nearest", dict(scale_factor=2)), ("nearest", dict(scale_factor=3)),
    ("nearest", dict(size=(7, 3))), ("nearest", dict(size=5)),
    ("nearest", dict(scale_factor=1.7)), ("nearest", dict(scale_factor=(0.5, 2.5))),
    ("nearest", dict(scale_factor=1.7, recompute_scale_factor=True)),
    ("nearest-exact", dict(size=(7, 3))), ("nearest-exact", dict(scale_factor=1.3)),
    ("bilinear", dict(scale_factor=2)), ("bilinear", dict(scale_factor=2, align_corners=True)),
    ("bilinear", dict(size=(7, 3))), ("bilinear", dict(size=(7, 3), align_corners=True)),
    ("bilinear", dict(size=(1, 1))), ("bilinear", dict(size=(1, 1), align_corners=True)),
    ("bilinear", dict(scale_factor=0.6)), ("bilinear", dict(scale_factor=1.7)),
    ("bilinear", dict(scale_factor=1.7, recompute_scale_factor=True)),
    ("bilinear", dict(size=(4, 5))),
    ("bicubic", dict(scale_factor=2)), ("bicubic", dict(size=(7, 3), align_corners=True)),
    ("bicubic", dict(size=(9, 2))), ("bicubic", dict(scale_factor=0.5)),
    ("area", dict(size=(2, 3))), ("area", dict(scale_factor=0.5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,kw", INTERP, ids=[f"{m}-{kw}" for m, kw in INTERP])
def test_interpolate_2d(mode, kw, dtype):
    run_both(lambda lib, nn, F, x: F.interpolate(x, mode=mode, **kw),
             [rand(2, 3, 4, 5, dtype=dtype)], dtype)


@pytest.mark.parametrize("mode,kw,shape", [
    ("nearest", dict(scale_factor=2.5), (2, 3, 5)), ("linear", dict(size=8), (2, 3, 5)),
    ("linear", dict(scale_factor=0.7, align_corners=True), (2, 3, 5)),
    ("nearest-exact", dict(size=3), (2, 3, 5)),
    ("nearest", dict(size=(3, 4, 2)), (1, 2, 2, 3, 5)),
    ("trilinear", dict(scale_factor=2), (1, 2, 2, 3, 2)),
    ("trilinear", dict(size=(3, 2, 4), align_corners=True), (1, 2, 2, 3, 2)),
])
def test_interpolate_1d_and_3d(mode, kw, shape):
    run_both(lambda lib, nn, F, x: F.interpolate(x, mode=mode, **kw), [rand(*shape)])


def test_interpolate_nearest_uses_floor_not_round():
    """5 -> 8 pixels: src = floor(dst * 5 / 8) = 0 0 1 1 2 3 3 4 (rounding would differ)."""
    for lib, _, F in LIBS.values():
        y = F.interpolate(lib.arange(5.0).reshape(1, 1, 5), size=8)
        assert y.reshape(-1).tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0]


def test_interpolate_uint8_nearest_and_node_names():
    a, b = (F.interpolate(lib.tensor(np.arange(6, dtype=np.uint8).reshape(1, 1, 2, 3)),
                          scale_factor=2) for lib, _, F in LIBS.values())
    assert a.tolist() == b.tolist() and str(a.dtype)[-5:] == str(b.dtype)[-5:]
    for mode, shape in [("nearest", (1, 1, 3)), ("nearest", (1, 1, 3, 3)),
                        ("bilinear", (1, 1, 3, 3)), ("bicubic", (1, 1, 3, 3)),
                        ("linear", (1, 1, 3)), ("trilinear", (1, 1, 2, 2, 2)),
                        ("nearest-exact", (1, 1, 3, 3))]:
        names = [F.interpolate(lib.ones(*shape, requires_grad=True), scale_factor=2,
                               mode=mode).grad_fn.name() for lib, _, F in LIBS.values()]
        assert names[0] == names[1], mode


@pytest.mark.parametrize("factory", [
    lambda nn: nn.Upsample(scale_factor=2),
    lambda nn: nn.Upsample(size=(6, 7), mode="bilinear", align_corners=True),
    lambda nn: nn.Upsample(scale_factor=(2, 1.5), mode="bilinear"),
    lambda nn: nn.UpsamplingNearest2d(scale_factor=2),
    lambda nn: nn.UpsamplingBilinear2d(size=5),
])
def test_upsample_modules(factory):
    run_module(factory, rand(2, 3, 4, 5))


def test_upsample_aliases_warn_and_match():
    for name, kw in [("upsample", dict(scale_factor=2, mode="bilinear")),
                     ("upsample_nearest", dict(size=6)), ("upsample_bilinear", dict(size=6))]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_both(lambda lib, nn, F, x, name=name, kw=kw: getattr(F, name)(x, **kw),
                     [rand(1, 2, 3, 4)])
        for lib, _, F in LIBS.values():
            with pytest.warns(UserWarning, match="is deprecated"):
                getattr(F, name)(lib.ones(1, 1, 2, 2), **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,shape", [
    (lambda lib, nn, F, x: F.pixel_shuffle(x, 2), (2, 8, 3, 4)),
    (lambda lib, nn, F, x: nn.PixelShuffle(3)(x), (9, 2, 3)),
    (lambda lib, nn, F, x: nn.PixelShuffle(2)(x), (2, 2, 4, 2, 3)),
    (lambda lib, nn, F, x: F.pixel_unshuffle(x, 2), (2, 3, 4, 6)),
    (lambda lib, nn, F, x: nn.PixelUnshuffle(3)(x), (1, 6, 9)),
    (lambda lib, nn, F, x: F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2), (1, 4, 2, 3)),
], ids=["shuffle", "shuffle-3d", "shuffle-5d", "unshuffle", "unshuffle-3d", "round-trip"])
def test_pixel_shuffle(fn, shape, dtype):
    res = run_both(fn, [rand(*shape, dtype=dtype)], dtype)
    assert res["ours"][0].grad_fn.name() == res["torch"][0].grad_fn.name()


PADS = {
    "ReflectionPad2d": lambda nn: nn.ReflectionPad2d(2),
    "ReflectionPad2d-4": lambda nn: nn.ReflectionPad2d((1, 2, 3, 0)),
    "ReplicationPad2d": lambda nn: nn.ReplicationPad2d((3, 1, 0, 2)),
    "ZeroPad2d": lambda nn: nn.ZeroPad2d(1),
    "ZeroPad2d-negative": lambda nn: nn.ZeroPad2d((1, -1, 2, 0)),
    "ConstantPad2d": lambda nn: nn.ConstantPad2d((2, 0, 1, 1), 3.5),
    "ReflectionPad1d": lambda nn: nn.ReflectionPad1d((2, 3)),
    "ReplicationPad1d": lambda nn: nn.ReplicationPad1d(2),
    "ConstantPad1d": lambda nn: nn.ConstantPad1d(2, -1.0),
    "ZeroPad1d": lambda nn: nn.ZeroPad1d((0, 2)),
    "CircularPad2d": lambda nn: nn.CircularPad2d(1),
    "ConstantPad3d": lambda nn: nn.ConstantPad3d(1, 2.0),
    "ReplicationPad3d": lambda nn: nn.ReplicationPad3d((1, 0, 0, 1, 1, 1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", PADS)
def test_padding_modules(name, dtype):
    shape = (2, 3, 4, 5) if "2d" in name or "3d" in name else (2, 3, 5)
    run_module(PADS[name], rand(*shape, dtype=dtype), dtype)


# ----- adaptive max pooling and max unpooling

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(3, 4), 2, 1, (None, 3), (7, 10), (4, 6), (5, 1)], ids=repr)
def test_adaptive_max_pool2d(size, dtype):
    x = rand(2, 3, 7, 10, dtype=dtype)
    run_both(lambda lib, nn, F, t: nn.AdaptiveMaxPool2d(size, return_indices=True)(t), [x],
             dtype)
    run_both(lambda lib, nn, F, t: F.adaptive_max_pool2d(t[0], size), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_max_pool2d_ties_nan_and_infinity(dtype):
    """Ties: the first maximum wins; a NaN always wins (the last one when several); a window of
    -inf points at its first element."""
    x = np.random.default_rng(2).integers(0, 2, (2, 2, 6, 7)).astype(dtype)
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = x[1, 1, 5, 6] = np.nan
    x[1, 0, :3, :4] = -np.inf
    res = run_both(lambda lib, nn, F, t: F.adaptive_max_pool2d(t, (2, 3), return_indices=True),
                   [x], dtype)
    assert res["ours"][0].grad_fn.name() == res["torch"][0].grad_fn.name()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw,shape,out", [
    (dict(kernel_size=2), (2, 3, 4, 6), None),
    (dict(kernel_size=2), (2, 3, 5, 5), (5, 5)),
    (dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 5), None),
    (dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 6), [1, 2, 7, 6]),
    (dict(kernel_size=2), (3, 4, 4), None),
], ids=["2x2", "output_size", "padded", "output_size-4", "unbatched"])
def test_max_unpool2d_inverts_max_pool2d(kw, shape, out, dtype):
    def fn(lib, nn, F, x):
        y, idx = nn.MaxPool2d(return_indices=True, **kw)(x)
        return nn.MaxUnpool2d(**kw)(y, idx, output_size=out)
    res = run_both(fn, [rand(*shape, dtype=dtype)], dtype)
    assert res["ours"][0].grad_fn.name() == res["torch"][0].grad_fn.name()


# ----- containers and shape layers

def test_unflatten_and_flatten_args():
    run_both(lambda lib, nn, F, x: nn.Unflatten(1, (3, 4))(x), [rand(2, 12, 5)])
    run_both(lambda lib, nn, F, x: nn.Unflatten(-1, (2, -1))(x), [rand(2, 3, 8)])
    run_both(lambda lib, nn, F, x: nn.Unflatten(0, torch.Size([2, 3]) if lib is torch else
                                                tm.Size([2, 3]))(x), [rand(6, 5)])
    run_both(lambda lib, nn, F, x: nn.Flatten(start_dim=2, end_dim=3)(x), [rand(2, 3, 4, 5)])


# ----- reprs, node names and state_dict keys

REPRS = {
    "LeakyReLU": lambda nn: nn.LeakyReLU(),
    "LeakyReLU-inplace": lambda nn: nn.LeakyReLU(0.2, True),
    "ReLU6": lambda nn: nn.ReLU6(),
    "ReLU6-inplace": lambda nn: nn.ReLU6(inplace=True),
    "ELU": lambda nn: nn.ELU(),
    "ELU-args": lambda nn: nn.ELU(0.5, inplace=True),
    "CELU": lambda nn: nn.CELU(2.0),
    "SELU": lambda nn: nn.SELU(inplace=True),
    "GELU": lambda nn: nn.GELU(),
    "GELU-tanh": lambda nn: nn.GELU("tanh"),
    "SiLU": lambda nn: nn.SiLU(),
    "SiLU-inplace": lambda nn: nn.SiLU(True),
    "Hardswish": lambda nn: nn.Hardswish(inplace=True),
    "Hardsigmoid": lambda nn: nn.Hardsigmoid(),
    "PReLU": lambda nn: nn.PReLU(),
    "PReLU-3": lambda nn: nn.PReLU(3, 0.1),
    "Softplus": lambda nn: nn.Softplus(),
    "Softplus-args": lambda nn: nn.Softplus(2, 10),
    "Mish": lambda nn: nn.Mish(),
    "Hardtanh": lambda nn: nn.Hardtanh(-2, 3, True),
    "Threshold": lambda nn: nn.Threshold(0.1, 20),
    "Hardshrink": lambda nn: nn.Hardshrink(),
    "Softshrink": lambda nn: nn.Softshrink(0.3),
    "GLU": lambda nn: nn.GLU(),
    "Softmin": lambda nn: nn.Softmin(1),
    "Softmax2d": lambda nn: nn.Softmax2d(),
    "LogSigmoid": lambda nn: nn.LogSigmoid(),
    "Softsign": lambda nn: nn.Softsign(),
    "GroupNorm": lambda nn: nn.GroupNorm(2, 4),
    "GroupNorm-args": lambda nn: nn.GroupNorm(2, 4, eps=1e-3, affine=False),
    "LayerNorm": lambda nn: nn.LayerNorm(4),
    "LayerNorm-list": lambda nn: nn.LayerNorm([3, 4], elementwise_affine=False),
    "LayerNorm-nobias": lambda nn: nn.LayerNorm(4, bias=False),
    "InstanceNorm2d": lambda nn: nn.InstanceNorm2d(3),
    "InstanceNorm2d-args": lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
    "InstanceNorm1d": lambda nn: nn.InstanceNorm1d(3),
    "BatchNorm1d": lambda nn: nn.BatchNorm1d(3),
    "BatchNorm3d": lambda nn: nn.BatchNorm3d(3, momentum=None),
    "BatchNorm2d-nobias": lambda nn: nn.BatchNorm2d(3, bias=False),
    "Dropout2d": lambda nn: nn.Dropout2d(),
    "Dropout1d": lambda nn: nn.Dropout1d(0.2),
    "Dropout3d": lambda nn: nn.Dropout3d(inplace=True),
    "AlphaDropout": lambda nn: nn.AlphaDropout(0.2),
    "PixelShuffle": lambda nn: nn.PixelShuffle(2),
    "PixelUnshuffle": lambda nn: nn.PixelUnshuffle(3),
    "ReflectionPad2d": lambda nn: nn.ReflectionPad2d(2),
    "ReflectionPad2d-4": lambda nn: nn.ReflectionPad2d((1, 2, 3, 4)),
    "ReplicationPad2d": lambda nn: nn.ReplicationPad2d(1),
    "ZeroPad2d": lambda nn: nn.ZeroPad2d(1),
    "ConstantPad2d": lambda nn: nn.ConstantPad2d(1, 3.5),
    "ReflectionPad1d": lambda nn: nn.ReflectionPad1d(2),
    "ConstantPad1d": lambda nn: nn.ConstantPad1d((1, 2), 0),
    "CircularPad2d": lambda nn: nn.CircularPad2d(1),
    "Upsample": lambda nn: nn.Upsample(scale_factor=2),
    "Upsample-size": lambda nn: nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
    "Upsample-tuple": lambda nn: nn.Upsample(scale_factor=(2, 3), mode="bicubic"),
    "UpsamplingNearest2d": lambda nn: nn.UpsamplingNearest2d(scale_factor=2),
    "UpsamplingBilinear2d": lambda nn: nn.UpsamplingBilinear2d(size=4),
    "AdaptiveMaxPool2d": lambda nn: nn.AdaptiveMaxPool2d(2),
    "AdaptiveMaxPool2d-tuple": lambda nn: nn.AdaptiveMaxPool2d((2, None), True),
    "MaxUnpool2d": lambda nn: nn.MaxUnpool2d(2),
    "MaxUnpool2d-args": lambda nn: nn.MaxUnpool2d(3, 2, 1),
    "Unflatten": lambda nn: nn.Unflatten(1, (2, 3)),
    "ModuleDict": lambda nn: nn.ModuleDict({"a": nn.ReLU(), "b": nn.Linear(2, 3)}),
    "ModuleList-runs":
        lambda nn: nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()] +
                                 [nn.Linear(2, 2), nn.Linear(2, 2)]),
    "ModuleList-nested": lambda nn: nn.ModuleList([nn.Sequential(nn.ReLU(), nn.Tanh())] * 2),
    "LazyLinear": lambda nn: nn.LazyLinear(4),
}


@pytest.mark.parametrize("name", REPRS)
def test_reprs(name):
    assert repr(REPRS[name](tm.nn)) == repr(REPRS[name](torch.nn))


def test_parameter_container_reprs():
    def build(lib):
        nn = lib.nn
        plist = nn.ParameterList([nn.Parameter(lib.ones(2, 3)), nn.Parameter(lib.ones(3))])
        pdict = nn.ParameterDict({"b": nn.Parameter(lib.ones(2)), "a": lib.ones(1, 2)})
        return repr(plist), repr(pdict)
    ours = build(tm)
    theirs = build(torch)
    assert ours == tuple(s.replace("torch.", "tatamikomi.") for s in theirs)


@pytest.mark.parametrize("factory", [lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.LayerNorm(3),
                                     lambda nn: nn.InstanceNorm2d(3, affine=True,
                                                                  track_running_stats=True),
                                     lambda nn: nn.BatchNorm1d(3), lambda nn: nn.PReLU(3),
                                     lambda nn: nn.BatchNorm3d(2, affine=False)])
def test_state_dict_keys_and_dtypes(factory):
    a, b = factory(tm.nn).state_dict(), factory(torch.nn).state_dict()
    assert list(a) == list(b)
    for k in a:
        assert str(a[k].dtype).split(".")[-1] == str(b[k].dtype).split(".")[-1]
        assert_close(a[k], b[k])


NODES = {
    "layer_norm": lambda lib, F, x: F.layer_norm(x, (4,)),
    "group_norm": lambda lib, F, x: F.group_norm(x, 1),
    "batch_norm": lambda lib, F, x: F.batch_norm(x, None, None, training=True),
    "instance_norm": lambda lib, F, x: F.instance_norm(x),
    "leaky_relu": lambda lib, F, x: F.leaky_relu(x),
    "relu6": lambda lib, F, x: F.relu6(x),
    "elu": lambda lib, F, x: F.elu(x), "celu": lambda lib, F, x: F.celu(x),
    "gelu": lambda lib, F, x: F.gelu(x), "silu": lambda lib, F, x: F.silu(x),
    "hardswish": lambda lib, F, x: F.hardswish(x), "mish": lambda lib, F, x: F.mish(x),
    "softplus": lambda lib, F, x: F.softplus(x), "prelu": lambda lib, F, x: F.prelu(
        x, lib.ones(1)), "glu": lambda lib, F, x: F.glu(x, 1),
    "logsigmoid": lambda lib, F, x: F.logsigmoid(x),
    "adaptive_max_pool2d": lambda lib, F, x: F.adaptive_max_pool2d(x, 2),
    "dropout2d": lambda lib, F, x: F.dropout2d(x),
}


@pytest.mark.parametrize("name", NODES)
def test_node_names(name):
    a, b = (NODES[name](lib, F, lib.ones(2, 4, 3, 4, requires_grad=True)).grad_fn.name()
            for lib, _, F in LIBS.values())
    assert a == b


def test_nn_namespace_names_are_pytorchs():
    """Every public nn name is one torch.nn has; nn.DataParallel is nn.parallel's, as torch's."""
    missing = [n for n in tm.nn.__all__ if not hasattr(torch.nn, n)]
    assert not missing
    assert tm.nn.DataParallel is tm.nn.parallel.DataParallel
    assert torch.nn.DataParallel is torch.nn.parallel.DataParallel
