"""Every layer, loss and functional form against PyTorch: values, gradients, reprs and errors.

One file for the charter test_nn.py and test_layers.py shared (merged: see the sections
from "----- merged from test_nn.py" on). The shared comparison helpers are in layer_helpers.py.
"""
import itertools
import math

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_same_error, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_helpers import DTYPES, LIBS, assert_state_equal, module_pair, rand, run_both, run_module

import tatamikomi as tm

# ----- Linear, activations, shape layers

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7), (7,), (2, 1, 3, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_module(shape, bias, dtype):
    ours, theirs = run_module(lambda nn: nn.Linear(7, 4, bias=bias), rand(*shape, dtype=dtype),
                              dtype)
    assert (ours.bias is None) == (theirs.bias is None) == (not bias)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_default_init_bounds(dtype):
    tm.manual_seed(0)
    lin = tm.nn.Linear(50, 300)
    if dtype == "float64":
        lin = lin.double()
    bound = 1 / math.sqrt(50)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.shape == (300, 50) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.98 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert lin.weight.requires_grad and lin.bias.requires_grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", [
    lambda lib, nn, F, x: nn.ReLU()(x),
    lambda lib, nn, F, x: nn.Sigmoid()(x),
    lambda lib, nn, F, x: nn.Tanh()(x),
    lambda lib, nn, F, x: nn.Softmax(dim=1)(x),
    lambda lib, nn, F, x: nn.Softmax(dim=-1)(x),
    lambda lib, nn, F, x: nn.LogSoftmax(dim=1)(x),
    lambda lib, nn, F, x: nn.LogSoftmax(dim=0)(x * 30),
    lambda lib, nn, F, x: nn.Flatten()(x),
    lambda lib, nn, F, x: nn.Flatten(0, 1)(x),
    lambda lib, nn, F, x: nn.Flatten(-2)(x),
    lambda lib, nn, F, x: nn.Identity(3, unused=True)(x),
], ids=["relu", "sigmoid", "tanh", "softmax1", "softmax-1", "logsoftmax1", "logsoftmax0-big",
        "flatten", "flatten01", "flatten-2", "identity"])
def test_activation_and_shape_modules(fn, dtype):
    run_both(fn, [rand(2, 3, 4, 5, dtype=dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_inplace(dtype):
    def fn(lib, nn, F, x):
        y = x * 1
        out = nn.ReLU(inplace=True)(y)
        assert out is y
        return out
    run_both(fn, [rand(3, 4, dtype=dtype)], dtype)
    for lib, _, F in LIBS.values():
        x = lib.tensor([-1.0, 0.0, 2.0])
        F.relu(x, inplace=True)
        assert x.tolist() == [0.0, 0.0, 2.0]


def test_identity_and_flatten_shapes():
    for lib, nn, _ in LIBS.values():
        x = lib.zeros(2, 3, 4, 5)
        assert nn.Identity()(x) is x
        assert tuple(nn.Flatten()(x).shape) == (2, 60)
        assert tuple(nn.Flatten(2)(x).shape) == (2, 3, 20)


# ----- MaxPool2d

MAX_ARGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=3, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=1, dilation=2),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 3)),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    dict(kernel_size=(1, 4), stride=(1, 3), ceil_mode=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAX_ARGS, ids=repr)
def test_max_pool2d_module_with_indices(kw, dtype):
    x = rand(2, 3, 9, 10, dtype=dtype)
    run_both(lambda lib, nn, F, t: nn.MaxPool2d(return_indices=True, **kw)(t), [x], dtype)
    run_both(lambda lib, nn, F, t: F.max_pool2d(t, **kw), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAX_ARGS[:5], ids=repr)
def test_max_pool2d_unbatched(kw, dtype):
    run_both(lambda lib, nn, F, t: F.max_pool2d(t, return_indices=True, **kw),
             [rand(3, 8, 7, dtype=dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=3, stride=2, dilation=2, ceil_mode=True)],
                         ids=repr)
def test_max_pool2d_ties(kw, dtype):
    """Many equal values: the index (and so the gradient's target) must be torch's choice."""
    x = np.random.default_rng(3).integers(0, 2, (2, 2, 8, 9)).astype(dtype)
    run_both(lambda lib, nn, F, t: F.max_pool2d(t, return_indices=True, **kw), [x], dtype)
    run_both(lambda lib, nn, F, t: F.max_pool2d(t * 0, return_indices=True, **kw), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_nan_propagates(dtype):
    x = rand(1, 2, 6, 6, dtype=dtype)
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 4, 5] = np.nan
    x[0, 1, 5, 4] = np.nan
    res = run_both(lambda lib, nn, F, t: F.max_pool2d(t, 3, 1, 1, return_indices=True),
                   [x], dtype)
    assert np.isnan(to_numpy(res["ours"][0])).sum() == np.isnan(to_numpy(res["torch"][0])).sum()


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_negative_infinity_and_padding(dtype):
    """Padding never wins, even over -inf inputs."""
    x = np.full((1, 1, 4, 4), -np.inf, dtype=dtype)
    x[0, 0, 2, 2] = 1.0
    for lib, _, F in LIBS.values():
        y, idx = F.max_pool2d(lib.tensor(x), 3, 2, 1, return_indices=True)
        assert to_numpy(idx).min() >= 0
    run_both(lambda lib, nn, F, t: F.max_pool2d(t, 3, 2, 1, return_indices=True), [x], dtype)


def pooled_without_grad(x, *args, **kw):
    """(ours, torch's) max_pool2d of x with no gradient to route (no_grad), as arrays."""
    out = []
    for lib, _, F in LIBS.values():
        with lib.no_grad():
            y = F.max_pool2d(lib.tensor(x, requires_grad=True), *args, **kw)
        assert y.grad_fn is None
        out.append(to_numpy(y))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAX_ARGS, ids=repr)
def test_max_pool2d_without_grad_takes_values_only_as_torch(kw, dtype):
    """No gradient to route: the values-only kernel, tap by tap along rows; ties, NaN (first
    in a window or later), -inf and padding as torch's."""
    x = np.random.default_rng(7).integers(-2, 3, (2, 3, 9, 10)).astype(dtype)
    x[0, 0, 1, 1] = x[1, 2, 8, 9] = x[0, 1, 0, 0] = np.nan
    x[1, 0, :4, :4] = -np.inf
    ours, theirs = pooled_without_grad(x, **kw)
    np.testing.assert_array_equal(ours, theirs)
    ours, theirs = pooled_without_grad(x[0], **kw)                  # one map
    np.testing.assert_array_equal(ours, theirs)


def test_max_pool2d_without_grad_sweep():
    rng = np.random.default_rng(8)
    for k, s, p, d, ceil in itertools.product((1, 2, 3, 4), (1, 2, 3), (0, 1, 2), (1, 2),
                                              (False, True)):
        if p > k // 2:
            continue                                    # torch refuses: pad over half a kernel
        for h, w in ((3, 5), (8, 7), (9, 9)):
            if (h + 2 * p - d * (k - 1) - 1) < 0 or (w + 2 * p - d * (k - 1) - 1) < 0:
                continue                                # no output
            x = rng.standard_normal((1, 2, h, w)).astype("float32")
            ours, theirs = pooled_without_grad(x, k, s, p, d, ceil)
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{k=} {s=} {p=} {d=} {ceil=}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw", [(8, 10), (9, 7), (2, 2), (3, 5)], ids=repr)
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool2d_2x2_fast_path(hw, ceil_mode, dtype):
    """The 2x2 stride-2 loop (uint8 winners, whole-gx backward) against torch: odd sizes leave
    an unused last row/column (zero gradient), or under ceil_mode send the pool to the general
    loop; NaN, -inf and ties pick torch's winner."""
    x = rand(2, 3, *hw, dtype=dtype)
    x[0, 0, 0, 1] = x[0, 1, 1, 0] = np.nan                     # NaN late in its window
    x[1, 0, :2, :2] = -np.inf                                 # a window of -inf only
    x[1, 1, :2, :2] = 1.0                                     # a window of ties
    x[1, 2, 0, 0] = x[1, 2, 1, 1] = np.nan                    # two NaNs: the later one wins
    res = run_both(lambda lib, nn, F, t: F.max_pool2d(t, 2, ceil_mode=ceil_mode,
                                                      return_indices=True), [x], dtype)
    assert np.isnan(to_numpy(res["ours"][0])).sum() == np.isnan(to_numpy(res["torch"][0])).sum()
    run_both(lambda lib, nn, F, t: nn.MaxPool2d(2, 2)(t.transpose(2, 3)), [x], dtype)


def test_max_pool2d_2x2_winners_are_codes_and_indices_match():
    """Only the fast path stores 1-byte winners; max_indices gives torch's int64 indices."""
    from tatamikomi.kernels import pool
    x = rand(2, 3, 9, 8, dtype="float32")
    y, winners = pool.max_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    assert winners.dtype == np.uint8
    _, idx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(pool.max_indices(winners, x.shape), idx.numpy())
    _, winners = pool.max_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), True)    # 9 -> 5 rows
    assert winners.dtype == np.int64


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1000, "parallel"], ids=["serial", "parallel"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_relu_loops_match_torch(n, layout, dtype):
    """relu and its gradient on both sides of the parallel threshold and on a strided view:
    NaN passes forward and backward, an inf gradient at y <= 0 gives 0 (threshold_backward)."""
    from tatamikomi.kernels import elementwise as loops
    n = loops.PARALLEL_MIN + 3 if n == "parallel" else n
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, n)).astype(dtype)
    gy = rng.standard_normal((2, n)).astype(dtype)
    x[0, :4] = [np.nan, 0.0, -0.0, np.inf]
    gy[0, 1], gy[0, 2], gy[1, 0] = np.inf, np.nan, np.inf
    out = []
    for lib in (tm, torch):
        t = lib.tensor(x, requires_grad=True)
        view = t.transpose(0, 1) if layout == "transposed" else t
        y = lib.relu(view)
        y.backward(lib.tensor(gy.T.copy() if layout == "transposed" else gy))
        out.append((to_numpy(y), to_numpy(t.grad)))
    for a, b in zip(out[0], out[1]):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


# ----- AvgPool2d and AdaptiveAvgPool2d

AVG_ARGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), divisor_override=5),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=2),
    dict(kernel_size=(2, 4), stride=(3, 1), padding=(1, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", AVG_ARGS, ids=repr)
def test_avg_pool2d(kw, dtype):
    x = rand(2, 3, 9, 10, dtype=dtype)
    run_both(lambda lib, nn, F, t: nn.AvgPool2d(**kw)(t), [x], dtype)
    run_both(lambda lib, nn, F, t: F.avg_pool2d(t[1], **kw), [x], dtype)       # unbatched


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(3, 4), (4, 7), 5, 1, (None, 3), (2, None), (None, None),
                                  (9, 12), (7, 1)], ids=repr)
def test_adaptive_avg_pool2d(size, dtype):
    x = rand(2, 3, 7, 10, dtype=dtype)
    run_both(lambda lib, nn, F, t: nn.AdaptiveAvgPool2d(size)(t), [x], dtype)
    run_both(lambda lib, nn, F, t: F.adaptive_avg_pool2d(t[0], size), [x], dtype)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(3, 9), w=st.integers(3, 9), k=st.integers(1, 4), s=st.integers(1, 3),
       p=st.integers(0, 2), d=st.integers(1, 2), ceil=st.booleans(), include=st.booleans())
def test_pooling_sweep(h, w, k, s, p, d, ceil, include):
    x = rand(1, 2, h, w, seed=h * 10 + w)
    runs = [lambda lib, nn, F, t: F.max_pool2d(t, k, s, p, d, ceil, return_indices=True),
            lambda lib, nn, F, t: F.avg_pool2d(t, k, s, p, ceil, include)]
    for fn in runs:
        ours, theirs = (lambda fn=fn, lib=lib: fn(*LIBS[lib], LIBS[lib][0].tensor(x))
                        for lib in LIBS)
        try:
            theirs()
        except RuntimeError:
            assert_same_error(ours, theirs)
        else:
            run_both(fn, [x])


# ----- Dropout

def test_dropout_eval_is_identity():
    for lib, nn, F in LIBS.values():
        x = lib.randn(4, 5, requires_grad=True)
        assert nn.Dropout(0.3).eval()(x) is x
        assert F.dropout(x, 0.3, training=False) is x
        assert nn.Dropout(0.0)(x) is x


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_p1_zeros_everything(dtype):
    run_both(lambda lib, nn, F, t: nn.Dropout(1.0)(t), [rand(3, 4, dtype=dtype)], dtype)
    run_both(lambda lib, nn, F, t: F.dropout(t, 1.0), [rand(3, 4, dtype=dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.8])
def test_dropout_mask_statistics_and_gradient(p, dtype):
    tm.manual_seed(7)
    x = tm.tensor(rand(300, 400, dtype=dtype, seed=2) + 3.0, requires_grad=True)
    y = tm.nn.Dropout(p)(x)
    assert y.dtype == x.dtype and y.requires_grad
    ya, xa = y.detach().numpy(), x.detach().numpy()
    kept = ya != 0
    n = kept.size
    assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    tol = TOL_FOR[dtype]
    np.testing.assert_allclose(ya[kept], xa[kept] / (1 - p), rtol=tol)
    gy = rand(300, 400, dtype=dtype, seed=5)
    y.backward(tm.tensor(gy))
    expected = np.where(kept, gy / (1 - p), 0.0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=tol, atol=tol)
    assert x.grad.dtype == x.dtype


TOL_FOR = {"float32": 1e-6, "float64": 1e-14}


def test_dropout_follows_manual_seed_and_varies():
    def draw():
        tm.manual_seed(123)
        d = tm.nn.Dropout(0.5)
        return d(tm.ones(50, 50)).numpy(), d(tm.ones(50, 50)).numpy()
    a1, a2 = draw()
    b1, _ = draw()
    np.testing.assert_array_equal(a1, b1)
    assert (a1 != a2).any()


def test_dropout_inplace():
    tm.manual_seed(0)
    x = tm.ones(20, 20)
    y = tm.nn.Dropout(0.5, inplace=True)(x)
    assert y is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


# ----- containers

def test_sequential_indexing_slicing_len_repr():
    built = {}
    for name, (_, nn, _) in LIBS.items():
        seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Tanh())
        built[name] = seq
        assert len(seq) == 4
        assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Tanh)
        sub = seq[1:3]
        assert isinstance(sub, nn.Sequential) and len(sub) == 2
        assert sub[0] is seq[1] and sub[1] is seq[2]
        assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Tanh"]
        assert [k for k, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                         "2.bias"]
        with pytest.raises(IndexError):
            seq[4]
    a, b = built["ours"], built["torch"]
    assert repr(a) == repr(b)
    assert repr(a[1:3]) == repr(b[1:3])
    assert repr(a[::2]) == repr(b[::2])
    assert repr(b.__class__()) == repr(a.__class__())


def test_sequential_mutation():
    reprs = {}
    for name, (_, nn, _) in LIBS.items():
        seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        seq[1] = nn.Tanh()
        del seq[0]
        seq.append(nn.Sigmoid())
        seq.insert(0, nn.Identity())
        seq.extend([nn.Flatten()])
        reprs[name] = repr(seq), [k for k, _ in seq.named_children()], len(seq)
    assert reprs["ours"] == reprs["torch"]


def test_sequential_ordered_dict_and_forward():
    from collections import OrderedDict

    def factory(nn):
        return nn.Sequential(OrderedDict([("fc", nn.Linear(6, 5)), ("act", nn.ReLU()),
                                          ("out", nn.Linear(5, 3))]))
    ours, theirs = run_module(factory, rand(4, 6))
    assert repr(ours) == repr(theirs)
    assert ours.fc is ours[0] and ours.out is ours[2]


def test_module_list():
    for _, nn, _ in LIBS.values():
        ml = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
        ml.append(nn.Linear(2, 3))
        ml.extend([nn.Tanh()])
        assert len(ml) == 4 and isinstance(ml[-1], nn.Tanh)
        assert len(list(ml.parameters())) == 4
        assert [type(m).__name__ for m in ml] == ["Linear", "ReLU", "Linear", "Tanh"]
        assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 3
        empty = nn.ModuleList()
        assert len(empty) == 0
    rep = {name: repr(nn.ModuleList([nn.Linear(2, 2), nn.ReLU(), nn.ModuleList([nn.Tanh()])]))
           for name, (_, nn, _) in LIBS.items()}
    assert rep["ours"] == rep["torch"]


# ----- BatchNorm2d

BN_KW = [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3), dict(affine=False),
         dict(track_running_stats=False), dict(affine=False, track_running_stats=False)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", BN_KW, ids=repr)
def test_batchnorm2d_train_steps_then_eval(kw, dtype):
    x = rand(4, 3, 5, 6, dtype=dtype) * 2 + 0.5
    ours, theirs = run_module(lambda nn: nn.BatchNorm2d(3, **kw), x, dtype, steps=3)
    if theirs.track_running_stats:
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 3
        assert str(ours.num_batches_tracked.dtype) == "tatamikomi.int64"
    ours.eval()
    theirs.eval()
    mods = {"ours": ours, "torch": theirs}
    run_both(lambda lib, nn, F, t: mods["ours" if lib is tm else "torch"](t),
             [rand(2, 3, 4, 4, dtype=dtype, seed=9)], dtype)
    assert_state_equal(ours, theirs, dtype)


def test_batchnorm2d_cumulative_average_is_exact_mean():
    bn = tm.nn.BatchNorm2d(2, momentum=None).double()
    means = []
    for seed in range(4):
        x = rand(3, 2, 4, 4, seed=seed) + seed
        means.append(x.mean(axis=(0, 2, 3)))
        bn(tm.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean(means, axis=0), rtol=1e-12)


def test_batchnorm2d_eval_without_grad_and_buffers_untouched():
    ours, theirs = module_pair(lambda nn: nn.BatchNorm2d(3))
    ours.eval()
    theirs.eval()
    x = rand(2, 3, 4, 4)
    with tm.no_grad():
        y = ours(tm.tensor(x))
    with torch.no_grad():
        ty = theirs(torch.tensor(x))
    assert_close(y, ty)
    assert not y.requires_grad
    assert int(ours.num_batches_tracked) == 0
    assert_state_equal(ours, theirs)


def test_batchnorm2d_parameters_and_buffers():
    for _, nn, _ in LIBS.values():
        bn = nn.BatchNorm2d(4)
        assert [k for k, _ in bn.named_parameters()] == ["weight", "bias"]
        assert [k for k, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                     "num_batches_tracked"]
        assert bn.weight.tolist() == [1.0] * 4 and bn.bias.tolist() == [0.0] * 4
        assert bn.running_var.tolist() == [1.0] * 4
        bn2 = nn.BatchNorm2d(4, affine=False, track_running_stats=False)
        assert list(bn2.parameters()) == [] and list(bn2.buffers()) == []
        assert bn2.weight is None and bn2.running_mean is None
        assert list(bn2.state_dict()) == []


# ----- losses

TARGET = np.array([0, 3, 1, 3, 2, 0, 1])
TARGET_K = np.array([[[0, 3, 1], [2, 2, 0]], [[1, 1, 3], [3, 0, 2]]])    # (N, d1, d2)
WEIGHT = np.array([1.0, 2.0, 0.5, 3.0])
CE_OPTS = [dict(), dict(ignore_index=3), dict(weight=True), dict(label_smoothing=0.2),
           dict(weight=True, ignore_index=1), dict(weight=True, label_smoothing=0.15),
           dict(weight=True, label_smoothing=0.3, ignore_index=0),
           dict(ignore_index=0, label_smoothing=0.1)]


def _loss_kw(lib, x, opts):
    kw = dict(opts)
    if kw.pop("weight", False):
        kw["weight"] = lib.tensor(WEIGHT.astype(to_numpy(x).dtype))
    return kw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", CE_OPTS, ids=repr)
def test_cross_entropy_class_targets(opts, reduction, dtype):
    def module(lib, nn, F, x, t):
        return nn.CrossEntropyLoss(reduction=reduction, **_loss_kw(lib, x, opts))(x, t)

    def functional(lib, nn, F, x, t):
        return F.cross_entropy(x, t, reduction=reduction, **_loss_kw(lib, x, opts))

    def kdim(lib, nn, F, x, t):                                  # (N, C, d1, d2), strided
        x = x.permute(0, 3, 1, 2) * 1.5
        return F.cross_entropy(x, t, reduction=reduction, **_loss_kw(lib, x, opts))

    run_both(module, [rand(7, 4, dtype=dtype), TARGET], dtype)
    run_both(functional, [rand(7, 4, dtype=dtype), TARGET], dtype)
    run_both(kdim, [rand(2, 2, 3, 4, dtype=dtype), TARGET_K], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", [dict(), dict(weight=True), dict(label_smoothing=0.25),
                                  dict(weight=True, label_smoothing=0.1)], ids=repr)
def test_cross_entropy_probability_targets(opts, reduction, dtype):
    def flat(lib, nn, F, x, p):
        return F.cross_entropy(x, F.softmax(p, 1), reduction=reduction,
                               **_loss_kw(lib, x, opts))

    def kdim(lib, nn, F, x, p):
        return nn.CrossEntropyLoss(reduction=reduction, **_loss_kw(lib, x, opts))(
            x, F.softmax(p, 1))

    run_both(flat, [rand(5, 4, dtype=dtype), rand(5, 4, dtype=dtype, seed=3)], dtype)
    run_both(kdim, [rand(2, 4, 3, 2, dtype=dtype), rand(2, 4, 3, 2, dtype=dtype, seed=3)],
             dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_unbatched_and_extreme_logits(dtype):
    run_both(lambda lib, nn, F, x, t: F.cross_entropy(x, t), [rand(4, dtype=dtype),
                                                             np.array(2)], dtype)
    run_both(lambda lib, nn, F, x, t: F.cross_entropy(x * 1000, t),
             [rand(7, 4, dtype=dtype), TARGET], dtype)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cross_entropy_all_ignored_is_nan():
    for lib, _, F in LIBS.values():
        loss = F.cross_entropy(lib.zeros(3, 4), lib.tensor([1, 1, 1]), ignore_index=1)
        assert math.isnan(loss.item())


NLL_OPTS = [dict(), dict(ignore_index=3), dict(weight=True), dict(weight=True, ignore_index=0),
            dict(ignore_index=-100)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", NLL_OPTS, ids=repr)
def test_nll_loss(opts, reduction, dtype):
    def module(lib, nn, F, x, t):
        return nn.NLLLoss(reduction=reduction, **_loss_kw(lib, x, opts))(F.log_softmax(x, 1), t)

    def functional(lib, nn, F, x, t):
        return F.nll_loss(x, t, reduction=reduction, **_loss_kw(lib, x, opts))

    run_both(module, [rand(7, 4, dtype=dtype), TARGET], dtype)
    run_both(functional, [rand(7, 4, dtype=dtype), TARGET], dtype)
    run_both(functional, [rand(2, 4, 2, 3, dtype=dtype), TARGET_K], dtype)
    run_both(functional, [rand(4, dtype=dtype), np.array(1)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction, dtype):
    run_both(lambda lib, nn, F, x, y: nn.MSELoss(reduction=reduction)(x, y),
             [rand(3, 4, dtype=dtype), rand(3, 4, dtype=dtype, seed=1)], dtype)
    run_both(lambda lib, nn, F, x, y: F.mse_loss(x, y, reduction=reduction),
             [rand(2, 3, 4, dtype=dtype), rand(2, 3, 4, dtype=dtype, seed=1)], dtype)


# ----- F.pad

PADS = [
    ("constant", (1, 2), None, 4), ("constant", (1, 2, 0, 3), 2.5, 4),
    ("constant", (-1, 2, 1, -2), None, 4), ("constant", (1, 1, 1, 1, 1, 0), -1.0, 4),
    ("constant", (0, 0, -1, -1), None, 3), ("constant", (2, -3), 7.0, 3),
    ("reflect", (2, 1, 1, 2), None, 4), ("reflect", (2, 1, 1, 2), None, 3),
    ("reflect", (3, 0), None, 3), ("reflect", (0, 3), None, 2),
    ("replicate", (2, 1, 1, 3), None, 4), ("replicate", (2, 1, 1, 3), None, 3),
    ("replicate", (4, 2), None, 3), ("circular", (2, 1, 1, 3), None, 4),
    ("circular", (2, 1, 1, 3), None, 3), ("circular", (5, 1), None, 3),
    ("reflect", (-1, 2, 1, -1), None, 4), ("circular", (-1, 2, 0, 1), None, 4),
    ("replicate", (-2, 1, 1, 0), None, 3),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,pad,value,ndim", PADS, ids=repr)
def test_pad(mode, pad, value, ndim, dtype):
    shape = (2, 3, 5, 6)[4 - ndim:]
    kw = {} if value is None else dict(value=value)
    run_both(lambda lib, nn, F, t: F.pad(t, pad, mode=mode, **kw), [rand(*shape, dtype=dtype)],
             dtype)


# ----- functional forms

FUNCTIONAL = [
    lambda lib, nn, F, x: F.relu(x),
    lambda lib, nn, F, x: F.max_pool2d(x, 2),
    lambda lib, nn, F, x: F.max_pool2d(x, kernel_size=3, stride=1, padding=1),
    lambda lib, nn, F, x: F.avg_pool2d(x, 2),
    lambda lib, nn, F, x: F.avg_pool2d(x, kernel_size=(2, 3), stride=1),
    lambda lib, nn, F, x: F.adaptive_avg_pool2d(x, (2, 3)),
    lambda lib, nn, F, x: F.adaptive_avg_pool2d(x, 1),
    lambda lib, nn, F, x: F.linear(x, x[0, 0, :2] * 0.3),
    lambda lib, nn, F, x: F.linear(x.flatten(1), x.flatten().reshape(2, 60), x[0, 0, 0, :2]),
    lambda lib, nn, F, x: F.dropout(x, 0.5, training=False) * 2,
    lambda lib, nn, F, x: F.log_softmax(x, dim=1),
    lambda lib, nn, F, x: F.log_softmax(x, -1),
    lambda lib, nn, F, x: F.softmax(x, dim=2),
    lambda lib, nn, F, x: F.softmax(x, 0),
    lambda lib, nn, F, x: F.mse_loss(x, x.detach() * 0.5),
    lambda lib, nn, F, x: F.mse_loss(x, x.detach() ** 2 * 0.1 + 1, reduction="sum"),
    lambda lib, nn, F, x: lib.flatten(x),
    lambda lib, nn, F, x: lib.flatten(x, 1),
    lambda lib, nn, F, x: lib.flatten(x, 1, 2),
    lambda lib, nn, F, x: F.cross_entropy(x.flatten(1), x.flatten(1).argmax(1) * 0 + 1),
    lambda lib, nn, F, x: F.nll_loss(F.log_softmax(x.flatten(1), 1), x.flatten(1).argmax(1)),
    lambda lib, nn, F, x: F.sigmoid(x) * F.tanh(x),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("i", range(len(FUNCTIONAL)))
def test_functional_forms(i, dtype):
    run_both(FUNCTIONAL[i], [rand(2, 3, 4, 5, dtype=dtype)], dtype)


def test_mse_loss_broadcast_warns():
    for lib, _, F in LIBS.values():
        with pytest.warns(UserWarning, match="Using a target size"):
            F.mse_loss(lib.randn(3, 4), lib.randn(4))


def test_softmax_implicit_dim_matches_torch():
    import warnings
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)]:
        x = rand(*shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = tm.nn.functional.softmax(tm.tensor(x))
            b = torch.nn.functional.softmax(torch.tensor(x))
            c = tm.nn.Softmax()(tm.tensor(x))
            d = torch.nn.Softmax()(torch.tensor(x))
        assert_close(a, b)
        assert_close(c, d)


def test_tensor_softmax_methods():
    """x.softmax(dim) and x.log_softmax(dim), as the losses' users write them."""
    run_both(lambda lib, nn, F, x: x.softmax(1) + x.log_softmax(dim=0), [rand(3, 4)])


# ----- nn.init

GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
         ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
         ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
         ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)]


@pytest.mark.parametrize("name,param", GAINS, ids=repr)
def test_calculate_gain(name, param):
    ours = tm.nn.init.calculate_gain(name, param)
    theirs = torch.nn.init.calculate_gain(name, param)
    assert ours == pytest.approx(theirs, rel=1e-15)


def test_calculate_gain_errors():
    assert_same_error(lambda: tm.nn.init.calculate_gain("swish"),
                      lambda: torch.nn.init.calculate_gain("swish"))


def _stats(t):
    a = to_numpy(t).astype(np.float64)
    return a.min(), a.max(), a.mean(), a.std()


INITS = [
    # name, call, expected (low, high) bounds or None, expected mean, expected std
    ("kaiming_uniform_", lambda I, t: I.kaiming_uniform_(t), math.sqrt(3 / 150) * math.sqrt(2),
     0.0, math.sqrt(2 / 150)),
    ("kaiming_uniform_a5", lambda I, t: I.kaiming_uniform_(t, a=math.sqrt(5)),
     1 / math.sqrt(150), 0.0, 1 / math.sqrt(150) / math.sqrt(3)),
    ("kaiming_uniform_fan_out_relu",
     lambda I, t: I.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
     math.sqrt(6 / 1200), 0.0, math.sqrt(2 / 1200)),
    ("kaiming_normal_", lambda I, t: I.kaiming_normal_(t), None, 0.0, math.sqrt(2 / 150)),
    ("kaiming_normal_fan_out", lambda I, t: I.kaiming_normal_(t, mode="fan_out"), None, 0.0,
     math.sqrt(2 / 1200)),
    ("xavier_uniform_", lambda I, t: I.xavier_uniform_(t), math.sqrt(6 / 1350), 0.0,
     math.sqrt(2 / 1350)),
    ("xavier_uniform_gain", lambda I, t: I.xavier_uniform_(t, gain=2.0),
     2 * math.sqrt(6 / 1350), 0.0, 2 * math.sqrt(2 / 1350)),
    ("normal_", lambda I, t: I.normal_(t, 0.5, 2.0), None, 0.5, 2.0),
    ("uniform_", lambda I, t: I.uniform_(t, -0.3, 0.7), (-0.3, 0.7), 0.2, 1 / math.sqrt(12)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,call,bound,mean,std", INITS, ids=[i[0] for i in INITS])
def test_init_statistics(name, call, bound, mean, std, dtype):
    """Conv-shaped weights: fan_in = C * KH * KW, fan_out = O * KH * KW, as torch counts."""
    tm.manual_seed(0)
    shape = (8, 6, 5, 5)                                   # fan_in = 150, fan_out = 200
    if "fan_out" in name:
        shape = (48, 6, 5, 5)                              # fan_out = 1200, fan_in = 150
    if "xavier" in name:
        shape = (48, 6, 5, 5)                              # fan_in + fan_out = 1350
    t = tm.empty(*shape, dtype=getattr(tm, dtype))
    out = call(tm.nn.init, t)
    assert out is t and t.dtype == getattr(tm, dtype)
    lo, hi, m, s = _stats(t)
    n = t.numel()
    if bound is not None:
        low, high = bound if isinstance(bound, tuple) else (-bound, bound)
        assert low <= lo and hi <= high
        width = high - low
        assert lo < low + 0.02 * width and hi > high - 0.02 * width
    assert abs(m - mean) < 5 * std / math.sqrt(n)
    assert abs(s - std) < 0.05 * std
    # the same formula in torch gives the same spread
    torch.manual_seed(0)
    tt = call(torch.nn.init, torch.empty(*shape, dtype=getattr(torch, dtype)))
    assert abs(tt.std().item() - s) < 0.08 * std


def test_init_zeros_ones_constant_and_no_grad():
    for lib, nn, _ in LIBS.values():
        w = nn.Parameter(lib.randn(3, 4))
        assert nn.init.zeros_(w) is w and w.tolist() == [[0.0] * 4] * 3
        assert nn.init.ones_(w) is w and w.tolist() == [[1.0] * 4] * 3
        assert w.requires_grad and w.grad_fn is None and w.is_leaf


@pytest.mark.parametrize("fn", [lambda I, t: I.kaiming_uniform_(t),
                                lambda I, t: I.xavier_uniform_(t),
                                lambda I, t: I.kaiming_normal_(t, mode="fan_x")])
def test_init_errors(fn):
    assert_same_error(lambda: fn(tm.nn.init, tm.empty(5)),
                      lambda: fn(torch.nn.init, torch.empty(5)))


# ----- reprs

REPRS = [
    lambda nn: nn.Linear(3136, 128),
    lambda nn: nn.Linear(3, 4, bias=False),
    lambda nn: nn.ReLU(),
    lambda nn: nn.ReLU(inplace=True),
    lambda nn: nn.MaxPool2d(2),
    lambda nn: nn.MaxPool2d(2, 2),
    lambda nn: nn.MaxPool2d((2, 3), (1, 2), (1, 0), dilation=2, return_indices=True,
                            ceil_mode=True),
    lambda nn: nn.AvgPool2d(2),
    lambda nn: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda nn: nn.AvgPool2d((3, 2), divisor_override=4),
    lambda nn: nn.AdaptiveAvgPool2d((2, 3)),
    lambda nn: nn.AdaptiveAvgPool2d(1),
    lambda nn: nn.AdaptiveAvgPool2d((None, 7)),
    lambda nn: nn.Dropout(),
    lambda nn: nn.Dropout(0.25),
    lambda nn: nn.Dropout(p=0.1, inplace=True),
    lambda nn: nn.Flatten(),
    lambda nn: nn.Flatten(0, 2),
    lambda nn: nn.Identity(),
    lambda nn: nn.Identity(54, unused_argument1=0.1),
    lambda nn: nn.BatchNorm2d(16),
    lambda nn: nn.BatchNorm2d(16, eps=1e-3, momentum=None, affine=False,
                              track_running_stats=False),
    lambda nn: nn.Softmax(dim=1),
    lambda nn: nn.Softmax(),
    lambda nn: nn.LogSoftmax(dim=-1),
    lambda nn: nn.Sigmoid(),
    lambda nn: nn.Tanh(),
    lambda nn: nn.CrossEntropyLoss(),
    lambda nn: nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1, ignore_index=2),
    lambda nn: nn.NLLLoss(),
    lambda nn: nn.MSELoss(reduction="none"),
    lambda nn: nn.Sequential(),
    lambda nn: nn.ModuleList(),
    lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(),
                             nn.Sequential(nn.Flatten(), nn.Dropout(0.5)), nn.Linear(4, 2)),
    # merged from test_nn.py
    lambda nn: nn.MaxPool2d(3, 1, 1, return_indices=True, ceil_mode=True),
    lambda nn: nn.AvgPool2d(3, 2, 1, ceil_mode=True),
    lambda nn: nn.BatchNorm2d(16, affine=False, momentum=None),
    lambda nn: nn.MSELoss(),
    lambda nn: nn.LogSoftmax(dim=1),
    lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Sequential(nn.Flatten()),
                             nn.Linear(4, 2)),
    lambda nn: nn.ModuleList([nn.ReLU(), nn.Tanh()]),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_reprs(i):
    assert repr(REPRS[i](tm.nn)) == repr(REPRS[i](torch.nn))
    assert str(REPRS[i](tm.nn)) == str(REPRS[i](torch.nn))


# ----- errors

ERRORS = [
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 4, 4), 2, padding=2),
    lambda lib, nn, F: nn.MaxPool2d(3, padding=2)(lib.randn(1, 1, 6, 6)),
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 1, 1), 2),
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 9, 9), 4, dilation=3),
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 4, 4), 2, stride=0),
    lambda lib, nn, F: F.max_pool2d(lib.randn(4, 4), 2),
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 4, 4), 0),
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 4, 4), 2, dilation=0),
    lambda lib, nn, F: F.avg_pool2d(lib.randn(1, 1, 4, 4), 2, padding=2),
    lambda lib, nn, F: F.avg_pool2d(lib.randn(1, 1, 1, 1), 2),
    lambda lib, nn, F: F.avg_pool2d(lib.randn(1, 1, 4, 4), 2, stride=0),
    lambda lib, nn, F: F.avg_pool2d(lib.randn(1, 1, 4, 4), 2, divisor_override=0),
    lambda lib, nn, F: nn.AvgPool2d(5)(lib.randn(2, 3, 4, 4)),
    lambda lib, nn, F: F.adaptive_avg_pool2d(lib.randn(4, 4), 2),
    lambda lib, nn, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2, 3])),
    lambda lib, nn, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, -2, 1])),
    lambda lib, nn, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2])),
    lambda lib, nn, F: nn.CrossEntropyLoss()(lib.randn(4, 3), lib.tensor([0, 1, 2, 1, 0])),
    lambda lib, nn, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0.0, 1, 2, 1])),
    lambda lib, nn, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2, 1]), reduction="x"),
    lambda lib, nn, F: nn.CrossEntropyLoss(reduction="avg")(lib.randn(4, 3),
                                                            lib.tensor([0, 1, 2, 1])),
    lambda lib, nn, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2, 1]),
                                       label_smoothing=1.5),
    lambda lib, nn, F: F.nll_loss(lib.randn(4, 3), lib.tensor([0, 1, 2, 5])),
    lambda lib, nn, F: F.nll_loss(lib.randn(4, 3), lib.tensor([0, 1, 2])),
    lambda lib, nn, F: F.nll_loss(lib.randn(4, 3), lib.tensor([0.0, 1, 2, 1])),
    lambda lib, nn, F: F.nll_loss(lib.randn(4, 3), lib.tensor([0, 1, 2, 1]), reduction="all"),
    lambda lib, nn, F: nn.NLLLoss()(lib.randn(4, 3), lib.tensor([0, 1, 2, 9])),
    lambda lib, nn, F: F.mse_loss(lib.randn(3), lib.randn(3), reduction="bad"),
    lambda lib, nn, F: F.dropout(lib.randn(3), 1.5),
    lambda lib, nn, F: F.dropout(lib.randn(3), -0.5),
    lambda lib, nn, F: nn.Dropout(-0.1),
    lambda lib, nn, F: nn.Dropout(1.01),
    lambda lib, nn, F: F.linear(lib.randn(4, 3), lib.randn(5, 4)),
    lambda lib, nn, F: nn.Linear(3, 4)(lib.randn(4, 5)),
    lambda lib, nn, F: nn.Linear(3, 4)(lib.randn(2, 6, 5)),
    lambda lib, nn, F: nn.Linear(3, 4)(lib.randn(5)),
    lambda lib, nn, F: nn.BatchNorm2d(3)(lib.randn(2, 4, 5, 5)),
    lambda lib, nn, F: nn.BatchNorm2d(3)(lib.randn(2, 3)),
    lambda lib, nn, F: nn.BatchNorm2d(3)(lib.randn(2, 3, 4)),
    lambda lib, nn, F: nn.BatchNorm2d(3)(lib.randn(1, 3, 1, 1)),
    lambda lib, nn, F: F.log_softmax(lib.randn(3, 4), 2),
    lambda lib, nn, F: F.softmax(lib.randn(3, 4), -3),
    lambda lib, nn, F: F.pad(lib.randn(1, 1, 2, 2), (2, 2, 2, 2), mode="reflect"),
    lambda lib, nn, F: F.pad(lib.randn(1, 1, 2, 2), (1, 2, 3)),
    lambda lib, nn, F: F.pad(lib.randn(1, 1, 2, 2), (1, 1), mode="reflect", value=2.0),
    lambda lib, nn, F: F.pad(lib.randn(1, 1, 2, 2), (3, 3), mode="circular"),
    lambda lib, nn, F: F.pad(lib.randn(1, 1, 2, 2), (1, 1), mode="wrap"),
    lambda lib, nn, F: F.pad(lib.randn(2, 2), (1, 1, 1, 1, 1, 1)),
    lambda lib, nn, F: F.pad(lib.randn(2, 2), (1, 1, 1, 1, 1, 1), mode="replicate"),
    lambda lib, nn, F: nn.Linear(3, 4)(lib.randn(2, 3, dtype=lib.float64)),
    lambda lib, nn, F: F.cross_entropy(lib.randn(2, 3, 4), lib.tensor([[0, 1], [2, 1]])),
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 1, 4, 4), 2),
    lambda lib, nn, F: F.avg_pool2d(lib.randn(4, 4), 2),
    lambda lib, nn, F: F.adaptive_avg_pool2d(lib.randn(1, 1, 1, 4, 4), 2),
    lambda lib, nn, F: nn.Softmax(dim=3)(lib.randn(2, 3)),
    lambda lib, nn, F: nn.Sequential(nn.Linear(2, 2))[3],
    lambda lib, nn, F: nn.ModuleList([nn.ReLU()])[2],
    # merged from test_nn.py
    lambda lib, nn, F: F.max_pool2d(lib.randn(1, 1, 9, 9), 2, 1, 2, dilation=3),
    lambda lib, nn, F: F.nll_loss(lib.randn(4, 3), lib.tensor([0, 1, 2, -1])),
    lambda lib, nn, F: F.pad(lib.randn(1, 1, 2, 2), (1, 1, 1)),
]


def size_as_ours(fn):
    """fn, with torch.Size in its exception's message printed as ours prints it."""
    def run():
        try:
            fn()
        except Exception as e:
            e.args = (str(e).replace("torch.Size(", "tatamikomi.Size("),) + e.args[1:]
            raise
    return run


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    assert_same_error(lambda: ERRORS[i](*LIBS["ours"]),
                      size_as_ours(lambda: ERRORS[i](*LIBS["torch"])))


# ----- empty batches: PyTorch returns empty outputs (and empty gradients), not errors

EMPTY_BATCH = {
    "max-pool": lambda nn: nn.MaxPool2d(2),
    "max-pool-padded-ceil": lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
    "avg-pool": lambda nn: nn.AvgPool2d(2),
    "avg-pool-no-pad-count": lambda nn: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
    "batchnorm": lambda nn: nn.BatchNorm2d(3),
    "batchnorm-cumulative": lambda nn: nn.BatchNorm2d(3, momentum=None),
    "batchnorm-no-stats": lambda nn: nn.BatchNorm2d(3, affine=False, track_running_stats=False),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("factory", EMPTY_BATCH.values(), ids=EMPTY_BATCH.keys())
def test_empty_batch_in_training(factory, dtype):
    """Output shape and dtype, gradients and (for BatchNorm2d) untouched running stats."""
    run_module(factory, rand(0, 3, 5, 5, dtype=dtype), dtype, steps=2)


def test_empty_batch_max_pool_indices():
    y, idx = tm.nn.functional.max_pool2d(tm.zeros(0, 2, 4, 4), 2, return_indices=True)
    ty, tidx = torch.nn.functional.max_pool2d(torch.zeros(0, 2, 4, 4), 2, return_indices=True)
    assert tuple(idx.shape) == tuple(tidx.shape) == (0, 2, 2, 2)
    assert str(idx.dtype) == "tatamikomi.int64" and str(y.dtype) == "tatamikomi.float32"


# ----- device= and dtype= on layers: the CPU by any name; the dtype honoured

@pytest.mark.parametrize("device", ["cpu", "cpu:0", None, "device"])
@pytest.mark.parametrize("factory", [lambda nn, **kw: nn.Linear(3, 2, **kw),
                                     lambda nn, **kw: nn.Conv2d(2, 4, 3, **kw),
                                     lambda nn, **kw: nn.BatchNorm2d(3, **kw)],
                         ids=["Linear", "Conv2d", "BatchNorm2d"])
def test_layers_take_device_and_dtype(factory, device):
    built = {}
    for name, (lib, nn, _) in LIBS.items():
        where = lib.device("cpu") if device == "device" else device
        built[name] = factory(nn, device=where, dtype=lib.float64)
    for (ka, a), (kb, b) in zip(built["ours"].state_dict().items(),
                                built["torch"].state_dict().items()):
        assert ka == kb and tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert all(str(p.device) == "cpu" for p in built["ours"].parameters())


# ----- merged from test_nn.py: pooling, layer and loss calls, module traversal, init

POOLS = [
    lambda lib, nn, F, x: F.max_pool2d(x, 2),
    lambda lib, nn, F, x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda lib, nn, F, x: F.max_pool2d(x, (2, 3), (1, 2), (1, 0), dilation=(2, 1)),
    lambda lib, nn, F, x: nn.MaxPool2d(3, 1, 1)(x),
    lambda lib, nn, F, x: F.avg_pool2d(x, 2),
    lambda lib, nn, F, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda lib, nn, F, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda lib, nn, F, x: F.avg_pool2d(x, (3, 2), 1, (1, 0), divisor_override=5),
    lambda lib, nn, F, x: F.adaptive_avg_pool2d(x, (3, 4)),
    lambda lib, nn, F, x: nn.AdaptiveAvgPool2d(1)(x),
    lambda lib, nn, F, x: F.adaptive_avg_pool2d(x, (None, 2)),
    lambda lib, nn, F, x: F.max_pool2d(x[0], 2),                      # unbatched
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("i", range(len(POOLS)))
def test_pooling(i, dtype):
    run_both(POOLS[i], [rand(2, 3, 9, 10, dtype=dtype)], dtype)


def test_max_pool_indices_and_ties():
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.5, 2.0, 2.0]]]])       # ties: first wins
    ours = tm.nn.functional.max_pool2d(tm.tensor(x), 2, return_indices=True)
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert ours[1].tolist() == theirs[1].tolist() and ours[1].dtype == tm.int64
    assert_close(ours[0], theirs[0])


LAYERS = [
    lambda lib, nn, F, x: F.linear(x.flatten(0, 2), x.flatten(0, 2)[:4] * 0.5, x[0, 0, 0, :4]),
    lambda lib, nn, F, x: F.linear(x, x[0, 0, :4] * 0.5),                   # batched 4-d input
    lambda lib, nn, F, x: F.relu(x) * 2,
    lambda lib, nn, F, x: F.log_softmax(x, 1),
    lambda lib, nn, F, x: F.softmax(x, -1),
    lambda lib, nn, F, x: nn.LogSoftmax(dim=2)(x),
    lambda lib, nn, F, x: x.sigmoid() + x.tanh(),
    lambda lib, nn, F, x: nn.Flatten()(x),
    lambda lib, nn, F, x: nn.Flatten(0, 2)(x),
    lambda lib, nn, F, x: F.pad(x, (1, 2, 0, 1)),
    lambda lib, nn, F, x: F.pad(x, (1, -1, 2, 0), value=3.0),
    lambda lib, nn, F, x: F.pad(x, (2, 1, 1, 2), mode="reflect"),
    lambda lib, nn, F, x: F.pad(x, (2, 1, 1, 2), mode="replicate"),
    lambda lib, nn, F, x: F.pad(x, (2, 1, 1, 2), mode="circular"),
    lambda lib, nn, F, x: F.pad(x[0], (3, 0), mode="reflect"),
    lambda lib, nn, F, x: F.mse_loss(x, x * 0.3 + 1),
    lambda lib, nn, F, x: nn.MSELoss(reduction="sum")(x, x.detach() * 2),
    lambda lib, nn, F, x: F.dropout(x, 0.5, training=False),
    lambda lib, nn, F, x: nn.Identity()(x),
]


@pytest.mark.parametrize("i", range(len(LAYERS)))
def test_layer_calls(i):
    run_both(LAYERS[i], [rand(2, 3, 5, 6)])


TARGET6 = np.array([0, 3, 1, 3, 2, 0])
LOSSES = [
    lambda lib, nn, F, x, t: F.cross_entropy(x, t),
    lambda lib, nn, F, x, t: F.cross_entropy(x, t, reduction="sum"),
    lambda lib, nn, F, x, t: F.cross_entropy(x, t, reduction="none"),
    lambda lib, nn, F, x, t: F.cross_entropy(x, t, label_smoothing=0.2),
    lambda lib, nn, F, x, t: F.cross_entropy(x, t, ignore_index=3),
    lambda lib, nn, F, x, t: F.cross_entropy(x, t, weight=lib.tensor([1.0, 2.0, 0.5, 3.0],
                                                                     dtype=x.dtype),
                                             label_smoothing=0.1, ignore_index=0),
    lambda lib, nn, F, x, t: nn.CrossEntropyLoss(label_smoothing=0.3, reduction="none")(x, t),
    lambda lib, nn, F, x, t: F.cross_entropy(x, F.softmax(x.detach() * 2, 1)),
    lambda lib, nn, F, x, t: F.cross_entropy(x.view(2, 3, 4).permute(0, 2, 1),
                                             t.view(2, 3)),                  # K-dim input
    lambda lib, nn, F, x, t: F.nll_loss(F.log_softmax(x, 1), t),
    lambda lib, nn, F, x, t: nn.NLLLoss(reduction="sum", ignore_index=1)(x, t),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("i", range(len(LOSSES)))
def test_loss_calls(i, dtype):
    run_both(LOSSES[i], [rand(6, 4, dtype=dtype), TARGET6], dtype)


@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(affine=False),
                                dict(track_running_stats=False), dict(momentum=0.3, eps=1e-3)])
def test_batchnorm_train_then_eval(kw):
    mods = {name: nn.BatchNorm2d(3, **kw).double() for name, (_, nn, _) in LIBS.items()}
    for step in range(3):
        run_both(lambda lib, nn, F, x: mods["ours" if lib is tm else "torch"](x),
                 [rand(4, 3, 5, 5, seed=step)])
    a, b = mods["ours"], mods["torch"]
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        assert_close(va, vb)
    a.eval()
    b.eval()
    run_both(lambda lib, nn, F, x: (a if lib is tm else b)(x), [rand(2, 3, 4, 4, seed=9)])


def test_dropout_statistics_and_gradient():
    tm.manual_seed(0)
    x = tm.ones(200, 500, requires_grad=True)
    y = tm.nn.Dropout(0.25)(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())   # mask * scale
    d = tm.nn.Dropout(0.25).eval()
    assert d(x) is x


def test_batchnorm_single_value_message_names_our_size():
    """PyTorch's text embeds torch.Size's repr; ours embeds tatamikomi.Size's."""
    def make(lib):
        return lambda: lib.nn.BatchNorm2d(3)(lib.randn(1, 3, 1, 1))
    with pytest.raises(ValueError) as ours:
        make(tm)()
    with pytest.raises(ValueError) as theirs:
        make(torch)()
    assert str(ours.value).replace("tatamikomi.", "torch.") == str(theirs.value)


def make_net(nn):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)
            self.bn = nn.BatchNorm2d(2)

        def forward(self, x):
            return self.bn(self.conv(x)).relu() + x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 2, 3)
            self.blocks = nn.Sequential(Block(), Block())
            self.head = nn.Linear(2, 3)
            self.tied = self.head                       # the same module twice: counted once
            self.register_buffer("scale", (nn.Linear(1, 1).weight * 0 + 1).detach())

        def forward(self, x):
            x = self.blocks(self.stem(x) * self.scale)
            return self.head(x.mean((2, 3)) if hasattr(x, "mean") else x)

    return Net()


def test_module_traversal_state_and_repr_match_torch():
    ours, theirs = make_net(tm.nn), make_net(torch.nn)
    assert repr(ours) == repr(theirs)
    for attr in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, attr)()] == [n for n, _ in getattr(theirs, attr)()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters())
    ours.load_state_dict({k: tm.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    x = rand(2, 1, 6, 6, dtype="float32")
    assert_close(ours(tm.tensor(x)), theirs(torch.tensor(x)), "float32")
    assert not any(m.training for m in ours.modules())


def test_load_state_dict_errors_and_non_strict():
    ours, theirs = make_net(tm.nn), make_net(torch.nn)
    bad = {k: v for k, v in theirs.state_dict().items() if k != "head.bias"}
    bad["extra"] = torch.zeros(1)
    for strict_bad in (bad, {**theirs.state_dict(), "head.bias": torch.zeros(4)}):
        converted = {k: tm.tensor(v.numpy()) for k, v in strict_bad.items()}
        assert_same_error(lambda c=converted: ours.load_state_dict(c),
                          lambda s=strict_bad: theirs.load_state_dict(s))
    r1 = ours.load_state_dict({k: tm.tensor(v.numpy()) for k, v in bad.items()}, strict=False)
    r2 = theirs.load_state_dict(bad, strict=False)
    assert (r1.missing_keys, r1.unexpected_keys) == (r2.missing_keys, r2.unexpected_keys)


def test_hooks_modes_and_conversions():
    net = make_net(tm.nn)
    seen = []
    handle = net.stem.register_forward_hook(lambda m, i, o: seen.append((m, i[0].shape, o.shape)))
    net(tm.randn(1, 1, 6, 6))
    assert seen == [(net.stem, (1, 1, 6, 6), (1, 2, 4, 4))]
    handle.remove()
    net(tm.randn(1, 1, 6, 6))
    assert len(seen) == 1
    net.head.register_forward_hook(lambda m, i, o: o * 0)        # a returned value replaces
    assert net(tm.randn(1, 1, 6, 6)).abs().sum().item() == 0
    weight = net.stem.weight
    net.double()
    assert net.stem.weight is weight and weight.dtype == tm.float64
    net.to(tm.float32).to(tm.device("cpu"))
    assert weight.dtype == tm.float32 and isinstance(weight, tm.nn.Parameter)
    net.train(False)
    assert not net.blocks[0].training
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Net" and visited.count("Block") == 2
    net.requires_grad_(True)
    net(tm.randn(1, 1, 6, 6)).sum().backward()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_device_api():
    assert tm.cuda.is_available() is False
    d = tm.device("cuda" if tm.cuda.is_available() else "cpu")
    assert str(d) == "cpu" and tm.ones(2).to(d).device == d
    assert repr(d) == repr(torch.device("cpu"))


def test_errors_inside_models_name_the_layer_after_pytorchs_text():
    def make(nn):
        return nn.Sequential(nn.Conv2d(1, 8, 3), nn.MaxPool2d(2),
                             nn.Sequential(nn.Conv2d(8, 8, 5), nn.ReLU()))
    x = rand(1, 1, 8, 8, dtype="float32")
    with pytest.raises(RuntimeError) as ours:
        make(tm.nn)(tm.tensor(x))
    with pytest.raises(RuntimeError) as theirs:
        make(torch.nn)(torch.tensor(x))
    first, hint = str(ours.value).split("\n")
    assert first == str(theirs.value)
    # the 8x8 input shrinks to 6x6 (conv 3) and 3x3 (pool 2): the 5x5 kernel in layer 2.0 fails
    assert hint == "Hint: raised in layer '2.0' (Conv2d), whose input has size [1, 8, 3, 3]"


@pytest.mark.parametrize("name,args", [("relu", ()), ("leaky_relu", (0.2,)), ("tanh", ()),
                                       ("linear", ()), ("sigmoid", ()), ("conv2d", ()),
                                       ("selu", ()), ("leaky_relu", ())])
def test_calculate_gain_positional(name, args):
    assert tm.nn.init.calculate_gain(name, *args) == pytest.approx(
        torch.nn.init.calculate_gain(name, *args), rel=1e-12)


def test_init_functions_follow_their_formulas():
    """Bounds and standard deviations against the formulas, on a (256, 64, 3, 3) weight."""
    init = tm.nn.init
    tm.manual_seed(0)
    w = tm.empty(256, 64, 3, 3)
    fan_in, fan_out = 64 * 9, 256 * 9
    n = w.numel()

    def check(bound=None, std=None, mean=0.0):
        a = w.numpy()
        if bound is not None:                       # U(-b, b): inside, reaching the edge
            assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound
            std = bound / np.sqrt(3)
        assert abs(a.mean() - mean) < 6 * std / np.sqrt(n)
        np.testing.assert_allclose(a.std(), std, rtol=0.02)

    assert init.kaiming_uniform_(w, nonlinearity="relu") is w
    check(bound=np.sqrt(2.0) * np.sqrt(3.0 / fan_in))
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    check(std=np.sqrt(2.0) / np.sqrt(fan_out))
    init.xavier_uniform_(w, gain=2.0)
    check(bound=2.0 * np.sqrt(6.0 / (fan_in + fan_out)))
    init.normal_(w, 1.5, 0.2)
    check(std=0.2, mean=1.5)
    init.uniform_(w, -0.3, 0.3)
    check(bound=0.3)
    init.zeros_(w)
    assert not w.numpy().any()
    init.ones_(w)
    assert (w.numpy() == 1).all()
    p = tm.nn.Parameter(tm.empty(3, 4))
    init.kaiming_uniform_(p)                          # works on a leaf that requires grad
    assert p.requires_grad and p.is_leaf
