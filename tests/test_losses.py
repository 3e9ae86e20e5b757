"""Losses against PyTorch in the same process: BCE (with logits), L1, smooth L1, Huber, KL
divergence and MSE, as modules and functional forms, every reduction, weights, gradients with
respect to input and target, node names, warnings, and the deprecated size_average/reduce."""
import warnings

import numpy as np
import pytest
import torch
from layer_helpers import DTYPES, LIBS, rand, run_both

import tatamikomi as tm

REDUCTIONS = ["mean", "sum", "none"]


def probs(*shape, dtype="float64", seed=0):
    """Values strictly inside (0, 1), as BCE's input and target must be."""
    return (1 / (1 + np.exp(-2 * rand(*shape, seed=seed)))).astype(dtype)


def const(lib, x, values):
    return lib.tensor(np.asarray(values, dtype=str(x.dtype).split(".")[-1]))


LOSSES = {
    "mse": lambda lib, nn, F, x, t, r: F.mse_loss(x, t, reduction=r),
    "MSELoss": lambda lib, nn, F, x, t, r: nn.MSELoss(reduction=r)(x, t),
    "l1": lambda lib, nn, F, x, t, r: F.l1_loss(x, t, reduction=r),
    "L1Loss": lambda lib, nn, F, x, t, r: nn.L1Loss(reduction=r)(x, t),
    "smooth_l1": lambda lib, nn, F, x, t, r: F.smooth_l1_loss(x, t, reduction=r),
    "SmoothL1Loss-beta": lambda lib, nn, F, x, t, r: nn.SmoothL1Loss(reduction=r, beta=0.3)(x, t),
    "smooth_l1-beta0": lambda lib, nn, F, x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.0),
    "huber": lambda lib, nn, F, x, t, r: F.huber_loss(x, t, reduction=r),
    "HuberLoss-delta": lambda lib, nn, F, x, t, r: nn.HuberLoss(reduction=r, delta=0.4)(x, t),
    "bce_logits": lambda lib, nn, F, x, t, r: F.binary_cross_entropy_with_logits(
        x * 3, t.sigmoid(), reduction=r),
    "BCEWithLogitsLoss-weights": lambda lib, nn, F, x, t, r: nn.BCEWithLogitsLoss(
        weight=const(lib, x, [0.5, 2.0, 1.0, 0.1, 3.0]), reduction=r,
        pos_weight=const(lib, x, [1.0, 3.0, 0.2, 1.0, 2.0]))(x * 3, t.sigmoid()),
    "bce_logits-big": lambda lib, nn, F, x, t, r: F.binary_cross_entropy_with_logits(
        x * 60, t.sigmoid(), pos_weight=const(lib, x, [2.0]), reduction=r),
    "bce": lambda lib, nn, F, x, t, r: F.binary_cross_entropy(x.sigmoid(), t.sigmoid(),
                                                              reduction=r),
    "BCELoss-weight": lambda lib, nn, F, x, t, r: nn.BCELoss(
        weight=const(lib, x, [0.5, 2.0, 1.0, 0.1, 3.0]), reduction=r)(x.sigmoid(), t.sigmoid()),
    "bce-weight-broadcast": lambda lib, nn, F, x, t, r: F.binary_cross_entropy(
        x.sigmoid(), t.sigmoid(), weight=const(lib, x, [[2.0]] * 4), reduction=r),
    "kl_div-log_target": lambda lib, nn, F, x, t, r: F.kl_div(
        F.log_softmax(x, 1), F.log_softmax(t, 1), reduction=r, log_target=True),
    "KLDivLoss": lambda lib, nn, F, x, t, r: nn.KLDivLoss(reduction=r)(
        F.log_softmax(x, 1), F.softmax(t, 1)),
}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", LOSSES)
def test_losses_value_and_both_gradients(name, reduction, dtype):
    """Gradients with respect to the input and the target (both require grad here)."""
    res = run_both(lambda lib, nn, F, x, t: LOSSES[name](lib, nn, F, x, t, reduction),
                   [rand(4, 5, dtype=dtype), rand(4, 5, dtype=dtype, seed=1)], dtype)
    assert res["ours"][0].grad_fn.name() == res["torch"][0].grad_fn.name()


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_div_batchmean_and_zero_targets(dtype):
    t = probs(4, 5, dtype=dtype)
    t[0, :2] = 0                                          # xlogy(0, 0) is 0, not NaN
    for r in ["batchmean", "sum", "none"]:
        res = run_both(lambda lib, nn, F, x, p, r=r: nn.KLDivLoss(reduction=r)(
            F.log_softmax(x, 1), p.detach()),
                       [rand(4, 5, dtype=dtype), t], dtype)
        assert res["ours"][0].grad_fn.name() == res["torch"][0].grad_fn.name()


def test_bce_at_exact_zero_and_one():
    """log is clamped at -100 and the gradient's denominator at 1e-12, as PyTorch's."""
    x = np.array([0.0, 1.0, 0.5, 1e-20, 1.0 - 1e-16])
    t = np.array([0.5, 0.5, 1.0, 0.0, 1.0])
    run_both(lambda lib, nn, F, a, b: F.binary_cross_entropy(a, b, reduction="none"), [x, t])
    run_both(lambda lib, nn, F, a, b: F.binary_cross_entropy(a, b, reduction="sum"), [x, t])


@pytest.mark.parametrize("fn", [
    lambda lib, nn, F, x, t: F.mse_loss(x, t[:1]), lambda lib, nn, F, x, t: F.l1_loss(x[0], t),
    lambda lib, nn, F, x, t: F.smooth_l1_loss(x, t[:, :1], reduction="sum"),
    lambda lib, nn, F, x, t: F.huber_loss(x[:1], t, reduction="none"),
], ids=["mse", "l1", "smooth_l1", "huber"])
def test_broadcasting_targets_warn_and_reduce_to_each_shape(fn):
    for lib, nn, F in LIBS.values():
        with pytest.warns(UserWarning, match="Using a target size"):
            fn(lib, nn, F, lib.ones(3, 4), lib.ones(3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_both(fn, [rand(3, 4), rand(3, 4, seed=1)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses(name, reduction):
    run_both(lambda lib, nn, F, x, t, w: getattr(F, name)(x, t, reduction=reduction,
                                                        weight=w.detach().abs()),
             [rand(3, 4), rand(3, 4, seed=1), rand(3, 4, seed=2)])


@pytest.mark.parametrize("legacy", [dict(size_average=False), dict(reduce=False),
                                    dict(size_average=True, reduce=True),
                                    dict(size_average=False, reduce=True)], ids=repr)
@pytest.mark.parametrize("factory", [
    lambda nn, kw: nn.MSELoss(**kw), lambda nn, kw: nn.L1Loss(**kw),
    lambda nn, kw: nn.BCELoss(**kw), lambda nn, kw: nn.BCEWithLogitsLoss(**kw),
    lambda nn, kw: nn.SmoothL1Loss(**kw), lambda nn, kw: nn.KLDivLoss(**kw),
    lambda nn, kw: nn.CrossEntropyLoss(**kw), lambda nn, kw: nn.NLLLoss(**kw),
], ids=["mse", "l1", "bce", "bce_logits", "smooth_l1", "kl_div", "cross_entropy", "nll"])
def test_deprecated_size_average_and_reduce(factory, legacy):
    """The old pair picks the reduction (with PyTorch's deprecation warning)."""
    built = {}
    for key, (_, nn, _) in LIBS.items():
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            built[key] = factory(nn, legacy)
    assert built["ours"].reduction == built["torch"].reduction
    classes = "CrossEntropyLoss", "NLLLoss"
    target = np.array([0, 2, 1, 4]) if type(built["ours"]).__name__ in classes else probs(4, 5)
    run_both(lambda lib, nn, F, x, t: built["ours" if lib is tm else "torch"](
        F.log_softmax(x, 1) if isinstance(built["ours"], tm.nn.NLLLoss) else
        x.sigmoid() if isinstance(built["ours"], tm.nn.BCELoss) else x, t),
        [rand(4, 5), target])


def test_kl_div_mean_warns_and_functional_legacy_args():
    for lib, _, F in LIBS.values():
        with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
            F.kl_div(lib.zeros(2, 3), lib.ones(2, 3) / 3)
        with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
            F.mse_loss(lib.zeros(2), lib.ones(2), size_average=False)


@pytest.mark.parametrize("factory", [
    lambda lib: lib.nn.BCELoss(weight=lib.ones(3)),
    lambda lib: lib.nn.BCEWithLogitsLoss(weight=lib.ones(3), pos_weight=lib.ones(3) * 2),
    lambda lib: lib.nn.BCEWithLogitsLoss(), lambda lib: lib.nn.CrossEntropyLoss(),
    lambda lib: lib.nn.NLLLoss(weight=lib.ones(2)), lambda lib: lib.nn.KLDivLoss(),
])
def test_loss_buffers_state_dict_and_repr(factory):
    a, b = factory(tm), factory(torch)
    assert list(a.state_dict()) == list(b.state_dict())
    assert list(a._buffers) == list(b._buffers)
    assert repr(a) == repr(b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_and_cross_entropy_4d(reduction, dtype):
    """Segmentation-shaped input (N, C, H, W) with (N, H, W) targets; PyTorch's 2-D node."""
    target = np.random.default_rng(0).integers(0, 4, (2, 3, 5))
    target[0, 0, :2] = -100
    for fn in (lambda lib, nn, F, x, t: nn.NLLLoss(reduction=reduction)(F.log_softmax(x, 1), t),
               lambda lib, nn, F, x, t: F.cross_entropy(x, t, reduction=reduction,
                                                        label_smoothing=0.1)):
        res = run_both(fn, [rand(2, 4, 3, 5, dtype=dtype), target], dtype)
        assert res["ours"][0].grad_fn.name() == res["torch"][0].grad_fn.name()


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_probability_targets_with_smoothing_and_weight(dtype):
    run_both(lambda lib, nn, F, x, p: nn.CrossEntropyLoss(
        weight=const(lib, x, [1.0, 0.5, 2.0, 1.5]), label_smoothing=0.2)(x, F.softmax(p, 1)),
        [rand(5, 4, dtype=dtype), rand(5, 4, dtype=dtype, seed=3)], dtype)


def test_node_names_of_plain_calls():
    for fn in (lambda F, x, t: F.mse_loss(x, t), lambda F, x, t: F.l1_loss(x, t),
               lambda F, x, t: F.cross_entropy(x, t.argmax(1)),
               lambda F, x, t: F.nll_loss(x, t.argmax(1), reduction="none")):
        a, b = (fn(F, lib.ones(3, 4, requires_grad=True), lib.ones(3, 4)).grad_fn.name()
                for lib, _, F in LIBS.values())
        assert a == b
