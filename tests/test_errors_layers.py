"""Bad input to the activations, normalizations, dropouts, resampling layers, losses and
containers: PyTorch's exception types and messages (the catalogue, see catalogue.py), plus
near misses both libraries accept."""
import numpy as np
import pytest
from catalogue import both, ints, params, r, same_result


def x4(L, *shape, dtype="float32"):
    return r(L, *(shape or (2, 3, 4, 5)), dtype=dtype)


def probs(L, *shape):
    return r(L, *shape).sigmoid()


ACTIVATIONS = {
    "leaky-relu-int": lambda L: L.F.leaky_relu(ints(L, 3)),
    "leaky-relu-list": lambda L: L.F.leaky_relu([1.0]),
    "leaky-relu-negative-inplace-backward": lambda L: L.F.leaky_relu(
        r(L, 3, grad=True) * 1, -0.1, inplace=True).sum().backward(),
    "elu-int": lambda L: L.F.elu(ints(L, 3)),
    "elu-inplace-leaf": lambda L: L.F.elu(r(L, 3, grad=True), inplace=True),
    "selu-int": lambda L: L.F.selu(ints(L, 3)),
    "celu-list": lambda L: L.F.celu([1.0]),
    "gelu-int": lambda L: L.F.gelu(ints(L, 3)),
    "gelu-approximate": lambda L: L.F.gelu(r(L, 3), approximate="fast"),
    "GELU-approximate": lambda L: L.nn.GELU("erf")(r(L, 3)),
    "silu-int": lambda L: L.F.silu(ints(L, 3)),
    "hardswish-int": lambda L: L.F.hardswish(ints(L, 3)),
    "hardsigmoid-list": lambda L: L.F.hardsigmoid([1.0]),
    "softplus-int": lambda L: L.F.softplus(ints(L, 3)),
    "mish-int": lambda L: L.F.mish(ints(L, 3)),
    "logsigmoid-int": lambda L: L.F.logsigmoid(ints(L, 3)),
    "hardshrink-int": lambda L: L.F.hardshrink(ints(L, 3)),
    "softshrink-int": lambda L: L.F.softshrink(ints(L, 3)),
    "hardtanh-min-above-max": lambda L: L.F.hardtanh(r(L, 3), 2.0, 1.0),
    "hardtanh-bool": lambda L: L.F.hardtanh(L.lib.tensor([True])),
    "relu6-bool": lambda L: L.F.relu6(L.lib.tensor([True])),
    "relu6-list": lambda L: L.F.relu6([1.0]),
    "Hardtanh-min-above-max": lambda L: L.nn.Hardtanh(2.0, 1.0),
    "Hardtanh-equal": lambda L: L.nn.Hardtanh(1.0, 1.0),
    "prelu-int": lambda L: L.F.prelu(ints(L, 3), ints(L, 1)),
    "prelu-channel-mismatch": lambda L: L.F.prelu(r(L, 2, 4), r(L, 3)),
    "prelu-1d-input-many-weights": lambda L: L.F.prelu(r(L, 4), r(L, 4)),
    "prelu-2d-weight": lambda L: L.F.prelu(r(L, 2, 4), r(L, 2, 2)),
    "prelu-dtype": lambda L: L.F.prelu(r(L, 2, 4), r(L, 4, dtype="float64")),
    "PReLU-channels": lambda L: L.nn.PReLU(3)(r(L, 2, 4, 5)),
    "glu-odd": lambda L: L.F.glu(r(L, 3, 3), 0),
    "glu-scalar": lambda L: L.F.glu(r(L)),
    "glu-dim": lambda L: L.F.glu(r(L, 2, 4), 2),
    "Softmax2d-2d": lambda L: L.nn.Softmax2d()(r(L, 2, 3)),
    "Softmax2d-5d": lambda L: L.nn.Softmax2d()(r(L, 1, 2, 3, 1, 1)),
}

NORMS = {
    "layer-norm-shape": lambda L: L.F.layer_norm(x4(L), (4,)),
    "layer-norm-weight": lambda L: L.F.layer_norm(x4(L), (5,), r(L, 4)),
    "layer-norm-bias": lambda L: L.F.layer_norm(x4(L), (5,), r(L, 5), r(L, 4)),
    "layer-norm-int-shape": lambda L: L.F.layer_norm(x4(L), 5),
    "layer-norm-empty-shape": lambda L: L.F.layer_norm(x4(L), ()),
    "layer-norm-int-input": lambda L: L.F.layer_norm(ints(L, 2, 3), (3,)),
    "layer-norm-list": lambda L: L.F.layer_norm([1.0], (1,)),
    "LayerNorm-shape": lambda L: L.nn.LayerNorm(4)(x4(L)),
    "group-norm-divisible": lambda L: L.F.group_norm(r(L, 2, 3, 4), 2),
    "group-norm-1d": lambda L: L.F.group_norm(r(L, 4), 2),
    "group-norm-weight": lambda L: L.F.group_norm(r(L, 2, 4, 3), 2, r(L, 3)),
    "group-norm-bias": lambda L: L.F.group_norm(r(L, 2, 4, 3), 2, None, r(L, 3)),
    "group-norm-bias-with-weight": lambda L: L.F.group_norm(r(L, 2, 4, 3), 2, r(L, 4), r(L, 3)),
    "group-norm-single-value": lambda L: L.F.group_norm(r(L, 1, 4), 4),
    "group-norm-zero-groups": lambda L: L.F.group_norm(r(L, 2, 4, 3), 0),
    "group-norm-int": lambda L: L.F.group_norm(ints(L, 1, 4, 2), 2),
    "GroupNorm-divisible": lambda L: L.nn.GroupNorm(3, 4),
    "GroupNorm-wrong-channels": lambda L: L.nn.GroupNorm(2, 4)(r(L, 2, 6, 3)),
    "instance-norm-one-pixel": lambda L: L.F.instance_norm(r(L, 2, 3, 1, 1)),
    "instance-norm-eval-without-stats": lambda L: L.F.instance_norm(r(L, 2, 3, 4),
                                                                    use_input_stats=False),
    "InstanceNorm2d-2d": lambda L: L.nn.InstanceNorm2d(3)(r(L, 2, 3)),
    "InstanceNorm1d-4d": lambda L: L.nn.InstanceNorm1d(3)(r(L, 2, 3, 4, 4)),
    "InstanceNorm2d-affine-channels": lambda L: L.nn.InstanceNorm2d(3, affine=True)(
        r(L, 2, 4, 3, 3)),
    "BatchNorm1d-4d": lambda L: L.nn.BatchNorm1d(3)(r(L, 2, 3, 4, 4)),
    "BatchNorm1d-one-value": lambda L: L.nn.BatchNorm1d(3)(r(L, 1, 3)),
    "BatchNorm1d-channels": lambda L: L.nn.BatchNorm1d(3)(r(L, 4, 5)),
    "BatchNorm3d-4d": lambda L: L.nn.BatchNorm3d(3)(r(L, 2, 3, 4, 4)),
}

DROPOUTS = {
    "dropout1d-p": lambda L: L.F.dropout1d(r(L, 2, 3, 4), 1.5),
    "dropout1d-4d": lambda L: L.F.dropout1d(r(L, 2, 3, 4, 4)),
    "dropout1d-list": lambda L: L.F.dropout1d([1.0]),
    "dropout2d-p": lambda L: L.F.dropout2d(x4(L), -0.5),
    "dropout3d-p": lambda L: L.F.dropout3d(x4(L), 2.0),
    "Dropout2d-p": lambda L: L.nn.Dropout2d(-0.1),
    "Dropout1d-p": lambda L: L.nn.Dropout1d(1.01),
    "alpha-dropout-p": lambda L: L.F.alpha_dropout(r(L, 3), 1.5, True),
    "alpha-dropout-list": lambda L: L.F.alpha_dropout([1.0], 0.5, True),
    "AlphaDropout-p": lambda L: L.nn.AlphaDropout(-1),
    "feature-alpha-dropout-1d": lambda L: L.F.feature_alpha_dropout(r(L, 3), 0.5, True),
}

RESAMPLING = {
    "interpolate-size-0": lambda L: L.F.interpolate(x4(L), size=(0, 3)),
    "interpolate-bilinear-size-0": lambda L: L.F.interpolate(x4(L), size=(0, 3), mode="bilinear"),
    "interpolate-scale-too-small": lambda L: L.F.interpolate(x4(L), scale_factor=0.1),
    "interpolate-linear-size-0": lambda L: L.F.interpolate(r(L, 1, 2, 4), size=0, mode="linear"),
    "interpolate-int-nearest": lambda L: L.F.interpolate(ints(L, 1, 1, 2, 2), scale_factor=2),
    "interpolate-int-bilinear": lambda L: L.F.interpolate(ints(L, 1, 1, 2, 2), scale_factor=2,
                                                          mode="bilinear"),
    "interpolate-2d-input": lambda L: L.F.interpolate(r(L, 2, 2), scale_factor=2),
    "interpolate-bad-mode": lambda L: L.F.interpolate(x4(L), scale_factor=2, mode="cubic"),
    "interpolate-bilinear-3d": lambda L: L.F.interpolate(r(L, 1, 2, 4), scale_factor=2,
                                                         mode="bilinear"),
    "interpolate-linear-4d": lambda L: L.F.interpolate(x4(L), scale_factor=2, mode="linear"),
    "interpolate-trilinear-4d": lambda L: L.F.interpolate(x4(L), scale_factor=2,
                                                          mode="trilinear"),
    "interpolate-float-size": lambda L: L.F.interpolate(x4(L), size=(2.0, 3)),
    "interpolate-size-length": lambda L: L.F.interpolate(x4(L), size=(2, 3, 4)),
    "interpolate-scale-length": lambda L: L.F.interpolate(x4(L), scale_factor=(2, 3, 4)),
    "interpolate-both": lambda L: L.F.interpolate(x4(L), size=2, scale_factor=2),
    "interpolate-neither": lambda L: L.F.interpolate(x4(L)),
    "interpolate-align-corners-nearest": lambda L: L.F.interpolate(x4(L), size=2,
                                                                   align_corners=True),
    "interpolate-recompute-with-size": lambda L: L.F.interpolate(
        x4(L), size=2, mode="bilinear", recompute_scale_factor=True),
    "interpolate-antialias-nearest": lambda L: L.F.interpolate(x4(L), size=2, antialias=True),
    "interpolate-list": lambda L: L.F.interpolate([1.0], size=2),
    "Upsample-bad-mode": lambda L: L.nn.Upsample(scale_factor=2, mode="box")(x4(L)),
    "pixel-shuffle-channels": lambda L: L.F.pixel_shuffle(r(L, 1, 6, 2, 3), 2),
    "pixel-shuffle-2d": lambda L: L.F.pixel_shuffle(r(L, 6, 2), 2),
    "pixel-shuffle-zero": lambda L: L.F.pixel_shuffle(r(L, 1, 4, 2, 3), 0),
    "pixel-shuffle-float": lambda L: L.F.pixel_shuffle(r(L, 1, 4, 2, 3), 2.0),
    "pixel-unshuffle-height": lambda L: L.F.pixel_unshuffle(r(L, 1, 2, 3, 6), 2),
    "pixel-unshuffle-width": lambda L: L.F.pixel_unshuffle(r(L, 1, 2, 4, 5), 2),
    "pixel-unshuffle-negative": lambda L: L.F.pixel_unshuffle(r(L, 1, 2, 4, 6), -1),
    "PixelShuffle-channels": lambda L: L.nn.PixelShuffle(3)(r(L, 1, 8, 2, 2)),
    "adaptive-max-2d": lambda L: L.F.adaptive_max_pool2d(r(L, 4, 4), 2),
    "adaptive-max-empty-channels": lambda L: L.F.adaptive_max_pool2d(r(L, 1, 0, 4, 4), 2),
    "adaptive-max-3-sizes": lambda L: L.F.adaptive_max_pool2d(x4(L), (2, 2, 2)),
    "adaptive-max-negative": lambda L: L.F.adaptive_max_pool2d(x4(L), -1),
    "adaptive-max-int": lambda L: L.F.adaptive_max_pool2d(ints(L, 1, 1, 4, 4), 2),
    "max-unpool-invalid-index": lambda L: L.F.max_unpool2d(*L.F.max_pool2d(
        x4(L, 1, 1, 4, 5), 2, return_indices=True), 2),     # one plane: PyTorch's loop is serial
    "max-unpool-output-size": lambda L: L.F.max_unpool2d(*L.F.max_pool2d(
        x4(L), 2, return_indices=True), 2, output_size=(9, 9)),
    "max-unpool-output-size-length": lambda L: L.F.max_unpool2d(*L.F.max_pool2d(
        x4(L), 2, return_indices=True), 2, output_size=(4,)),
    "max-unpool-indices-shape": lambda L: L.F.max_unpool2d(
        x4(L, 2, 3, 2, 2), ints(L, 2, 3, 1, 2, value=0), 2),
    "max-unpool-float-indices": lambda L: L.F.max_unpool2d(x4(L, 2, 3, 2, 2),
                                                           r(L, 2, 3, 2, 2), 2),
    "max-unpool-2d": lambda L: L.F.max_unpool2d(r(L, 2, 2), ints(L, 2, 2, value=0), 2),
}

LOSSES = {
    "bce-target-size": lambda L: L.F.binary_cross_entropy(probs(L, 3, 4), probs(L, 3, 1)),
    "bce-input-above-1": lambda L: L.F.binary_cross_entropy(probs(L, 3) + 1, probs(L, 3)),
    "bce-input-nan": lambda L: L.F.binary_cross_entropy(probs(L, 3) * float("nan"), probs(L, 3)),
    "bce-target-above-1": lambda L: L.F.binary_cross_entropy(probs(L, 3), probs(L, 3) + 1),
    "bce-target-int": lambda L: L.F.binary_cross_entropy(probs(L, 3), ints(L, 3)),
    "bce-target-float64": lambda L: L.F.binary_cross_entropy(probs(L, 3), r(L, 3,
                                                                            dtype="float64")),
    "bce-weight-broadcast": lambda L: L.F.binary_cross_entropy(probs(L, 3, 4), probs(L, 3, 4),
                                                               r(L, 5)),
    "bce-weight-requires-grad": lambda L: L.F.binary_cross_entropy(probs(L, 3), probs(L, 3),
                                                                   r(L, 3, grad=True)),
    "bce-reduction": lambda L: L.F.binary_cross_entropy(probs(L, 3), probs(L, 3),
                                                        reduction="avg"),
    "BCELoss-size": lambda L: L.nn.BCELoss()(probs(L, 3), probs(L, 3, 1)),
    "bce-logits-size": lambda L: L.F.binary_cross_entropy_with_logits(r(L, 3, 4), r(L, 3, 1)),
    "bce-logits-pos-weight": lambda L: L.F.binary_cross_entropy_with_logits(
        r(L, 3, 4), r(L, 3, 4), pos_weight=r(L, 5)),
    "bce-logits-weight": lambda L: L.F.binary_cross_entropy_with_logits(r(L, 3, 4), r(L, 3, 4),
                                                                        r(L, 5)),
    "bce-logits-int-target": lambda L: L.F.binary_cross_entropy_with_logits(r(L, 3), ints(L, 3)),
    "bce-logits-pos-weight-grad": lambda L: L.F.binary_cross_entropy_with_logits(
        r(L, 3), r(L, 3), pos_weight=r(L, 3, grad=True)),
    "smooth-l1-negative-beta": lambda L: L.F.smooth_l1_loss(r(L, 3), r(L, 3), beta=-1.0),
    "smooth-l1-int": lambda L: L.F.smooth_l1_loss(ints(L, 3), ints(L, 3)),
    "huber-zero-delta": lambda L: L.F.huber_loss(r(L, 3), r(L, 3), delta=0.0),
    "huber-int": lambda L: L.F.huber_loss(ints(L, 3), ints(L, 3)),
    "huber-reduction": lambda L: L.F.huber_loss(r(L, 3), r(L, 3), reduction="x"),
    "huber-weight-size": lambda L: L.F.huber_loss(r(L, 3), r(L, 3), weight=r(L, 2)),
    "l1-reduction": lambda L: L.F.l1_loss(r(L, 3), r(L, 3), reduction="x"),
    "l1-int": lambda L: L.F.l1_loss(ints(L, 3), ints(L, 3)),
    "l1-list": lambda L: L.F.l1_loss([1.0], r(L, 3)),
    "l1-broadcast": lambda L: L.F.l1_loss(r(L, 3, 4), r(L, 5)),
    "l1-weight-size": lambda L: L.F.l1_loss(r(L, 3), r(L, 3), weight=r(L, 2)),
    "l1-weight-reduction": lambda L: L.F.l1_loss(r(L, 3), r(L, 3), reduction="x",
                                                 weight=r(L, 3)),
    "mse-int": lambda L: L.F.mse_loss(ints(L, 3), ints(L, 3)),
    "mse-weight-size": lambda L: L.F.mse_loss(r(L, 3), r(L, 3), weight=r(L, 4)),
    "mse-broadcast": lambda L: L.F.mse_loss(r(L, 3, 4), r(L, 5)),
    "kl-div-int": lambda L: L.F.kl_div(ints(L, 3), ints(L, 3)),
    "kl-div-reduction": lambda L: L.F.kl_div(r(L, 3), r(L, 3), reduction="x"),
    "KLDivLoss-broadcast": lambda L: L.nn.KLDivLoss(reduction="sum")(r(L, 3, 4), r(L, 5)),
    "nll-4d-target-size": lambda L: L.F.nll_loss(r(L, 2, 3, 4, 4), ints(L, 2, 4, 5, value=0)),
    "nll-4d-target-rank": lambda L: L.F.nll_loss(r(L, 2, 3, 4, 4), ints(L, 2, 16, value=0)),
}

MODULES = {
    "ModuleDict-update-int": lambda L: L.nn.ModuleDict().update(3),
    "ModuleDict-update-pairs": lambda L: L.nn.ModuleDict([("a", L.nn.ReLU(), 1)]),
    "ModuleDict-update-scalar-element": lambda L: L.nn.ModuleDict([3]),
    "ModuleDict-missing-key": lambda L: L.nn.ModuleDict({"a": L.nn.ReLU()})["b"],
    "ModuleDict-not-module": lambda L: L.nn.ModuleDict({"a": 3}),
    "ParameterDict-int-key": lambda L: L.nn.ParameterDict({"a": r(L, 2)})[3],
    "ParameterDict-missing": lambda L: L.nn.ParameterDict({"a": r(L, 2)})["b"],
    "ParameterDict-update-int": lambda L: L.nn.ParameterDict().update(3),
    "ParameterDict-called": lambda L: L.nn.ParameterDict()(r(L, 2)),
    "ParameterList-called": lambda L: L.nn.ParameterList()(r(L, 2)),
    "ParameterList-index": lambda L: L.nn.ParameterList([r(L, 2)])[1],
    "ParameterList-extend-tensor": lambda L: L.nn.ParameterList().extend(r(L, 2)),
    "ModuleList-index": lambda L: L.nn.ModuleList([L.nn.ReLU()])[1],
    "get-submodule": lambda L: L.nn.Sequential(L.nn.Linear(2, 2)).get_submodule("0.x"),
    "get-submodule-not-module": lambda L: L.nn.Sequential(
        L.nn.Linear(2, 2)).get_submodule("0.weight"),
    "get-parameter-missing": lambda L: L.nn.Sequential(L.nn.Linear(2, 2)).get_parameter("0.w"),
    "get-parameter-module": lambda L: L.nn.Sequential(L.nn.Linear(2, 2)).get_parameter("0"),
    "get-buffer-parameter": lambda L: L.nn.BatchNorm2d(2).get_buffer("weight"),
    "set-submodule-empty": lambda L: L.nn.Sequential().set_submodule("", L.nn.ReLU()),
    "set-submodule-strict": lambda L: L.nn.Sequential().set_submodule("a", L.nn.ReLU(),
                                                                      strict=True),
    "Unflatten-int-size": lambda L: L.nn.Unflatten(1, 6),
    "Unflatten-float-element": lambda L: L.nn.Unflatten(1, (2, 3.0)),
    "Unflatten-wrong-product": lambda L: L.nn.Unflatten(1, (2, 4))(r(L, 2, 6)),
    "LazyLinear-shape": lambda L: L.nn.LazyLinear(3).weight.shape,
    "backward-hook-wrong-count": lambda L: _hooked_backward(L),
    "forward-pre-hook-kwargs-return": lambda L: _pre_hook_bad_return(L),
}


def _hooked_backward(L):
    m = L.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    m(r(L, 3, 2, grad=True)).sum().backward()


def _pre_hook_bad_return(L):
    m = L.nn.Linear(2, 2)
    m.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    m(r(L, 3, 2))


@pytest.mark.parametrize("case", params(ACTIVATIONS))
def test_activations(case):
    both(case)


@pytest.mark.parametrize("case", params(NORMS))
def test_normalizations(case):
    both(case)


@pytest.mark.parametrize("case", params(DROPOUTS))
def test_dropouts(case):
    both(case)


@pytest.mark.parametrize("case", params(RESAMPLING))
def test_resampling(case):
    both(case)


@pytest.mark.parametrize("case", params(LOSSES))
def test_losses(case):
    both(case)


@pytest.mark.parametrize("case", params(MODULES))
def test_modules(case):
    both(case)


ACCEPTED = {
    "hardtanh-int": lambda L: L.F.hardtanh(ints(L, 3, value=5), -1, 2),
    "relu6-int": lambda L: L.F.relu6(ints(L, 3, value=9)),
    "threshold-int": lambda L: L.F.threshold(ints(L, 3, value=2), 1, 7),
    "prelu-0d": lambda L: L.F.prelu(r(L), r(L, 1)),
    "prelu-1d-one-weight": lambda L: L.F.prelu(r(L, 4), r(L, 1)),
    "prelu-0d-weight": lambda L: L.F.prelu(r(L, 2, 4), r(L)),
    "softplus-beta-0": lambda L: L.F.softplus(r(L, 3), 0),
    "interpolate-uint8": lambda L: L.F.interpolate(ints(L, 1, 1, 2, 2, dtype="uint8"),
                                                   scale_factor=2),
    "interpolate-size-int": lambda L: L.F.interpolate(x4(L, dtype="float64"), size=3,
                                                      mode="bicubic"),
    "group-norm-empty-batch": lambda L: L.F.group_norm(r(L, 0, 4, 3), 2),
    "layer-norm-list-shape": lambda L: L.F.layer_norm(x4(L), [4, 5]),
    "bce-0d": lambda L: L.F.binary_cross_entropy(probs(L), probs(L)),
    "bce-weight-broadcasts": lambda L: L.F.binary_cross_entropy(probs(L, 3, 4), probs(L, 3, 4),
                                                                r(L, 4)),
    "smooth-l1-beta-0": lambda L: L.F.smooth_l1_loss(r(L, 3), r(L, 3, 1), beta=0.0),
    "dropout1d-2d": lambda L: L.F.dropout1d(r(L, 3, 4), 0.5, training=False),
    "max-unpool-output-size-4": lambda L: L.F.max_unpool2d(*L.F.max_pool2d(
        x4(L, 1, 1, 4, 4), 2, return_indices=True), 2, output_size=[1, 1, 5, 5]),
    "adaptive-max-none": lambda L: L.F.adaptive_max_pool2d(x4(L), (None, 2)),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", params(ACCEPTED))
def test_near_misses_are_accepted(case):
    same_result(case)


def test_tables_have_many_cases():
    sizes = {name: len(t) for name, t in [("activations", ACTIVATIONS), ("norms", NORMS),
                                         ("dropouts", DROPOUTS), ("resampling", RESAMPLING),
                                         ("losses", LOSSES), ("modules", MODULES)]}
    assert min(sizes.values()) >= 10, sizes
    assert np.sum(list(sizes.values())) >= 150
