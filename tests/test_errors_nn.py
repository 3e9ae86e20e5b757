"""Bad input to nn.functional, nn modules, Module's API, optim and utils.data: PyTorch's errors.

The catalogue (see catalogue.py): every case runs in torch and in tatamikomi in the same test
and must raise the same exception type with the same first line. Conv2d and F.pad have their
own catalogue in test_conv_errors.py.
"""
import numpy as np
import pytest
from catalogue import both, ints, params, r, same_result


def x4(L, *shape, dtype="float32"):
    """An image batch (1, 1, 4, 4) unless a shape is given."""
    return r(L, *(shape or (1, 1, 4, 4)), dtype=dtype)


def logits(L, n=2, c=3, dtype="float32"):
    return r(L, n, c, dtype=dtype)


def labels(L, *values, dtype="int64"):
    return L.lib.tensor(np.array(values or (0, 1), dtype=dtype))


FUNCTIONAL = {
    # linear
    "linear-bias-wrong-length": lambda L: L.F.linear(r(L, 2, 3), r(L, 4, 3), r(L, 5)),
    "linear-bias-2d-wrong": lambda L: L.F.linear(r(L, 2, 3), r(L, 4, 3), r(L, 2, 5)),
    "linear-input-width": lambda L: L.F.linear(r(L, 2, 3), r(L, 4, 5)),
    "linear-input-width-3d": lambda L: L.F.linear(r(L, 2, 2, 3), r(L, 4, 5)),
    "linear-0d-input": lambda L: L.F.linear(r(L), r(L, 4, 3)),
    "linear-3d-weight": lambda L: L.F.linear(r(L, 2, 3), r(L, 2, 4, 3)),
    "linear-f64-input": lambda L: L.F.linear(r(L, 2, 3, dtype="float64"), r(L, 4, 3)),
    "linear-f64-bias": lambda L: L.F.linear(r(L, 2, 3), r(L, 4, 3), r(L, 4, dtype="float64")),
    "linear-int-input": lambda L: L.F.linear(ints(L, 2, 3), r(L, 4, 3)),
    "linear-list-input": lambda L: L.F.linear([[1.0, 2.0, 3.0]], r(L, 4, 3)),
    "linear-none-weight": lambda L: L.F.linear(r(L, 2, 3), None),
    # relu and friends
    "relu-list": lambda L: L.F.relu([1.0]),
    "relu-bool": lambda L: L.F.relu(L.lib.tensor([True, False])),
    "relu-inplace-leaf": lambda L: L.F.relu(r(L, 3, grad=True), inplace=True),
    "sigmoid-list": lambda L: L.F.sigmoid([1.0]),
    "tanh-none": lambda L: L.F.tanh(None),
    # max_pool2d
    "max-pool-kernel-0": lambda L: L.F.max_pool2d(x4(L), 0),
    "max-pool-kernel-negative": lambda L: L.F.max_pool2d(x4(L), -1),
    "max-pool-kernel-3-tuple": lambda L: L.F.max_pool2d(x4(L), (2, 2, 2)),
    "max-pool-kernel-empty-tuple": lambda L: L.F.max_pool2d(x4(L), ()),
    "max-pool-kernel-float": lambda L: L.F.max_pool2d(x4(L), 2.5),
    "max-pool-stride-0": lambda L: L.F.max_pool2d(x4(L), 2, 0),
    "max-pool-stride-negative": lambda L: L.F.max_pool2d(x4(L), 2, -1),
    "max-pool-stride-2**64": lambda L: L.F.max_pool2d(x4(L), 2, 2 ** 64),
    "max-pool-stride-3-tuple": lambda L: L.F.max_pool2d(x4(L), 2, (1, 1, 1)),
    "max-pool-padding-too-large": lambda L: L.F.max_pool2d(x4(L), 2, padding=2),
    "max-pool-padding-negative": lambda L: L.F.max_pool2d(x4(L), 2, padding=-1),
    "max-pool-dilation-0": lambda L: L.F.max_pool2d(x4(L), 2, dilation=0),
    "max-pool-input-2d": lambda L: L.F.max_pool2d(x4(L, 4, 4), 2),
    "max-pool-input-5d": lambda L: L.F.max_pool2d(x4(L, 1, 1, 1, 4, 4), 2),
    "max-pool-output-too-small": lambda L: L.F.max_pool2d(x4(L, 1, 1, 1, 4), 2),
    "max-pool-zero-channels": lambda L: L.F.max_pool2d(x4(L, 1, 0, 4, 4), 2),
    "max-pool-list": lambda L: L.F.max_pool2d([[1.0]], 2),
    "max-pool-kernel-2**62": lambda L: L.F.max_pool2d(x4(L), 2 ** 62),
    "max-pool-kernel-tuple-float": lambda L: L.F.max_pool2d(x4(L), (2, 2.5)),
    "max-pool-kernel-tuple-float-first": lambda L: L.F.max_pool2d(x4(L), (2.5, 2)),
    "max-pool-kernel-bool": lambda L: L.F.max_pool2d(x4(L), True),
    "max-pool-kernel-none": lambda L: L.F.max_pool2d(x4(L), None),
    "max-pool-padding-3-tuple": lambda L: L.F.max_pool2d(x4(L), 2, padding=(1, 1, 1)),
    "max-pool-dilation-3-tuple": lambda L: L.F.max_pool2d(x4(L), 2, dilation=(1, 1, 1)),
    "max-pool-pad-before-dilation": lambda L: L.F.max_pool2d(x4(L), 2, padding=1, dilation=0),
    "max-pool-pad-half-effective": lambda L: L.F.max_pool2d(x4(L), 3, padding=2),
    "max-pool-empty-height": lambda L: L.F.max_pool2d(x4(L, 1, 1, 0, 4), 2),
    "max-pool-unbatched-empty": lambda L: L.F.max_pool2d(x4(L, 0, 4, 4), 2),
    "max-pool-bool": lambda L: L.F.max_pool2d(L.lib.ones(1, 1, 4, 4, dtype=L.lib.bool), 2),
    # avg_pool2d
    "avg-pool-kernel-0": lambda L: L.F.avg_pool2d(x4(L), 0),
    "avg-pool-kernel-3-tuple": lambda L: L.F.avg_pool2d(x4(L), (2, 2, 2)),
    "avg-pool-stride-0": lambda L: L.F.avg_pool2d(x4(L), 2, 0),
    "avg-pool-stride-2**64": lambda L: L.F.avg_pool2d(x4(L), 2, 2 ** 64),
    "avg-pool-padding-too-large": lambda L: L.F.avg_pool2d(x4(L), 2, padding=2),
    "avg-pool-divisor-0": lambda L: L.F.avg_pool2d(x4(L), 2, divisor_override=0),
    "avg-pool-input-2d": lambda L: L.F.avg_pool2d(x4(L, 4, 4), 2),
    "avg-pool-input-1d": lambda L: L.F.avg_pool2d(x4(L, 4), 2),
    "avg-pool-output-too-small": lambda L: L.F.avg_pool2d(x4(L, 1, 1, 4, 1), 2),
    "avg-pool-input-5d": lambda L: L.F.avg_pool2d(x4(L, 1, 1, 1, 4, 4), 2),
    "avg-pool-zero-channels": lambda L: L.F.avg_pool2d(x4(L, 1, 0, 4, 4), 2),
    "avg-pool-padding-negative": lambda L: L.F.avg_pool2d(x4(L), 2, 2, -1),
    "avg-pool-stride-3-tuple": lambda L: L.F.avg_pool2d(x4(L), 2, (1, 1, 1)),
    "avg-pool-kernel-empty": lambda L: L.F.avg_pool2d(x4(L), ()),
    "avg-pool-kernel-float": lambda L: L.F.avg_pool2d(x4(L), 2.5),
    "avg-pool-stride-2**62": lambda L: L.F.avg_pool2d(x4(L), 2, 2 ** 62),
    "avg-pool-bool": lambda L: L.F.avg_pool2d(L.lib.ones(1, 1, 4, 4, dtype=L.lib.bool), 2),
    "adaptive-pool-input-1d": lambda L: L.F.adaptive_avg_pool2d(x4(L, 4), 1),
    "adaptive-pool-input-2d": lambda L: L.F.adaptive_avg_pool2d(x4(L, 4, 4), 2),
    "adaptive-pool-negative": lambda L: L.F.adaptive_avg_pool2d(x4(L), -1),
    "adaptive-pool-int": lambda L: L.F.adaptive_avg_pool2d(ints(L, 1, 1, 4, 4), 1),
    "adaptive-pool-3-sizes": lambda L: L.F.adaptive_avg_pool2d(x4(L), (1, 1, 1)),
    # dropout
    "dropout-p-negative": lambda L: L.F.dropout(r(L, 3), -0.1),
    "dropout-p-above-1": lambda L: L.F.dropout(r(L, 3), 1.5),
    "dropout-int": lambda L: L.F.dropout(ints(L, 3)),
    "dropout-bool": lambda L: L.F.dropout(L.lib.tensor([True, False])),
    # softmax
    "softmax-dim-out-of-range": lambda L: L.F.softmax(r(L, 2, 3), 2),
    "softmax-int": lambda L: L.F.softmax(ints(L, 3), 0),
    "softmax-int-first-dim": lambda L: L.F.softmax(ints(L, 2, 3), 0),
    "softmax-bool": lambda L: L.F.softmax(L.lib.tensor([True]), 0),
    "log-softmax-dim-out-of-range": lambda L: L.F.log_softmax(r(L, 2, 3), -3),
    "log-softmax-int": lambda L: L.F.log_softmax(ints(L, 3), 0),
    "log-softmax-dtype-string": lambda L: L.F.log_softmax(r(L, 3), 0, dtype="float64"),
    # cross_entropy
    "ce-0d-input": lambda L: L.F.cross_entropy(r(L), labels(L)),
    "ce-int-logits": lambda L: L.F.cross_entropy(ints(L, 2, 3), labels(L)),
    "ce-target-out-of-range": lambda L: L.F.cross_entropy(logits(L), labels(L, 0, 3)),
    "ce-target-negative": lambda L: L.F.cross_entropy(logits(L), labels(L, 0, -1)),
    "ce-batch-mismatch": lambda L: L.F.cross_entropy(logits(L, 2), labels(L, 0, 1, 2)),
    "ce-weight-short": lambda L: L.F.cross_entropy(logits(L), labels(L), r(L, 2)),
    "ce-weight-long": lambda L: L.F.cross_entropy(logits(L), labels(L), r(L, 4)),
    "ce-weight-2d": lambda L: L.F.cross_entropy(logits(L), labels(L), r(L, 1, 3)),
    "ce-target-int32": lambda L: L.F.cross_entropy(logits(L), labels(L, dtype="int32")),
    "ce-target-float-wrong-shape": lambda L: L.F.cross_entropy(logits(L), r(L, 2)),
    "ce-soft-target-wrong-shape": lambda L: L.F.cross_entropy(logits(L), r(L, 2, 4)),
    "ce-soft-smoothing-above-1": lambda L: L.F.cross_entropy(logits(L), r(L, 2, 3),
                                                             label_smoothing=1.5),
    "ce-soft-int-target": lambda L: L.F.cross_entropy(logits(L), ints(L, 2, 3)),
    "ce-soft-weight-short": lambda L: L.F.cross_entropy(logits(L), r(L, 2, 3), r(L, 2)),
    "ce-4d-weight-short": lambda L: L.F.cross_entropy(r(L, 2, 3, 4, 4), ints(L, 2, 4, 4),
                                                      r(L, 2)),
    "ce-weight-f64": lambda L: L.F.cross_entropy(logits(L), labels(L), r(L, 3, dtype="float64")),
    "ce-list-input": lambda L: L.F.cross_entropy([[1.0]], labels(L)),
    "ce-smoothing-above-1": lambda L: L.F.cross_entropy(logits(L), labels(L),
                                                        label_smoothing=1.5),
    "ce-reduction-bogus": lambda L: L.F.cross_entropy(logits(L), labels(L), reduction="avg"),
    "ce-4d-target-shape": lambda L: L.F.cross_entropy(r(L, 2, 3, 4, 4), ints(L, 2, 4, 5)),
    "ce-3d-input-1d-target": lambda L: L.F.cross_entropy(r(L, 2, 3, 4), labels(L)),
    "ce-list-target": lambda L: L.F.cross_entropy(logits(L), [0, 1]),
    # nll_loss
    "nll-weight-short": lambda L: L.F.nll_loss(logits(L), labels(L), r(L, 2)),
    "nll-weight-long": lambda L: L.F.nll_loss(logits(L), labels(L), r(L, 5)),
    "nll-target-out-of-range": lambda L: L.F.nll_loss(logits(L), labels(L, 3, 0)),
    "nll-target-float": lambda L: L.F.nll_loss(logits(L), r(L, 2)),
    "nll-batch-mismatch": lambda L: L.F.nll_loss(logits(L, 3), labels(L)),
    "nll-0d-input": lambda L: L.F.nll_loss(r(L), labels(L)),
    "nll-reduction-bogus": lambda L: L.F.nll_loss(logits(L), labels(L), reduction="max"),
    "nll-4d-target-shape": lambda L: L.F.nll_loss(r(L, 2, 3, 4, 4), ints(L, 2, 5, 4)),
    "nll-4d-target-2d": lambda L: L.F.nll_loss(r(L, 2, 3, 4, 4), ints(L, 2, 4)),
    "nll-1d-input-target-out-of-range": lambda L: L.F.nll_loss(r(L, 3), labels(L, 5)[0]),
    "nll-1d-input-weight-short": lambda L: L.F.nll_loss(r(L, 3), labels(L, 1)[0], r(L, 2)),
    "nll-list-target": lambda L: L.F.nll_loss(logits(L), [0, 1]),
    # mse_loss
    "mse-shapes-differ": lambda L: L.F.mse_loss(r(L, 3), r(L, 4)),
    "mse-reduction-bogus": lambda L: L.F.mse_loss(r(L, 3), r(L, 3), reduction="bogus"),
    "mse-int": lambda L: L.F.mse_loss(ints(L, 3), ints(L, 3)),
    "mse-list-target": lambda L: L.F.mse_loss(r(L, 3), [1.0, 2.0, 3.0]),
    # batch_norm
    "bn-running-mean-wrong-size": lambda L: L.F.batch_norm(x4(L, 2, 3, 2, 2), r(L, 2), r(L, 3)),
    "bn-running-var-wrong-size": lambda L: L.F.batch_norm(x4(L, 2, 3, 2, 2), r(L, 3), r(L, 4)),
    "bn-weight-wrong-size": lambda L: L.F.batch_norm(x4(L, 2, 3, 2, 2), r(L, 3), r(L, 3),
                                                     r(L, 2)),
    "bn-bias-wrong-size": lambda L: L.F.batch_norm(x4(L, 2, 3, 2, 2), r(L, 3), r(L, 3),
                                                   None, r(L, 4)),
    "bn-one-value-per-channel": lambda L: L.F.batch_norm(x4(L, 1, 3, 1, 1), None, None,
                                                         training=True),
    "bn-eval-without-stats": lambda L: L.F.batch_norm(x4(L, 2, 3, 2, 2), None, None),
    "bn-f64-input-f32-stats": lambda L: L.F.batch_norm(x4(L, 2, 3, 2, 2, dtype="float64"),
                                                       r(L, 3), r(L, 3)),
    "bn-f32-input-f64-weight": lambda L: L.F.batch_norm(x4(L, 2, 3, 2, 2), None, None,
                                                        r(L, 3, dtype="float64"),
                                                        training=True),
    "bn-int-input": lambda L: L.F.batch_norm(ints(L, 2, 3, 2, 2), r(L, 3), r(L, 3)),
    "bn-1d-input": lambda L: L.F.batch_norm(r(L, 3), None, None, training=True),
    "bn-one-value-2d": lambda L: L.F.batch_norm(r(L, 1, 3), r(L, 3), r(L, 3), training=True),
}

FUNCTIONAL_XFAIL = {}


@pytest.mark.parametrize("case", params(FUNCTIONAL, FUNCTIONAL_XFAIL))
def test_functional(case):
    both(case)


def call(module, *inputs):
    """module(*inputs): construct in a lambda, fail at the forward."""
    return module(*inputs)


MODULES = {
    # construction
    "linear-negative-in": lambda L: L.nn.Linear(-1, 2),
    "linear-negative-out": lambda L: L.nn.Linear(2, -3),
    "linear-float-size": lambda L: L.nn.Linear(2.5, 2),
    "linear-string-size": lambda L: L.nn.Linear("a", 2),
    "linear-int-dtype": lambda L: L.nn.Linear(2, 2, dtype=L.lib.int64),
    "linear-dtype-string": lambda L: L.nn.Linear(2, 2, dtype="float32"),
    "linear-device-cuda": lambda L: L.nn.Linear(2, 2, device="cuda"),
    "linear-device-bogus": lambda L: L.nn.Linear(2, 2, device="gpu"),
    "conv-device-cuda": lambda L: L.nn.Conv2d(1, 1, 3, device="cuda"),
    "conv-dtype-string": lambda L: L.nn.Conv2d(1, 1, 3, dtype="float64"),
    "conv-int-dtype": lambda L: L.nn.Conv2d(1, 1, 3, dtype=L.lib.int64),
    "batchnorm-device-cuda": lambda L: L.nn.BatchNorm2d(3, device="cuda"),
    "batchnorm-negative": lambda L: L.nn.BatchNorm2d(-1),
    "batchnorm-float-size": lambda L: L.nn.BatchNorm2d(2.5),
    "batchnorm-dtype-string": lambda L: L.nn.BatchNorm2d(3, dtype="float32"),
    "dropout-p-negative": lambda L: L.nn.Dropout(-0.1),
    "dropout-p-above-1": lambda L: L.nn.Dropout(1.5),
    "sequential-int": lambda L: L.nn.Sequential(1),
    "sequential-append-int": lambda L: L.nn.Sequential().append(1),
    "sequential-insert-out-of-range": lambda L: L.nn.Sequential(L.nn.ReLU()).insert(5,
                                                                                     L.nn.ReLU()),
    "sequential-set-int": lambda L: L.nn.Sequential(L.nn.ReLU()).__setitem__(0, 1),
    "sequential-index-out-of-range": lambda L: L.nn.Sequential(L.nn.ReLU())[1],
    "sequential-index-negative": lambda L: L.nn.Sequential(L.nn.ReLU())[-2],
    "sequential-index-string": lambda L: L.nn.Sequential(L.nn.ReLU())["a"],
    "sequential-del-out-of-range": lambda L: L.nn.Sequential(L.nn.ReLU()).__delitem__(3),
    "module-list-index-out-of-range": lambda L: L.nn.ModuleList([L.nn.ReLU()])[2],
    "module-list-append-int": lambda L: L.nn.ModuleList().append(1),
    "module-list-extend-int": lambda L: L.nn.ModuleList().extend(1),
    "module-list-extend-ints": lambda L: L.nn.ModuleList().extend([1]),
    "module-list-int": lambda L: L.nn.ModuleList([1]),
    # forward
    "linear-width": lambda L: call(L.nn.Linear(3, 2), r(L, 4, 5)),
    "linear-f64-input": lambda L: call(L.nn.Linear(3, 2), r(L, 4, 3, dtype="float64")),
    "linear-int-input": lambda L: call(L.nn.Linear(3, 2), ints(L, 4, 3)),
    "linear-0d-input": lambda L: call(L.nn.Linear(3, 2), r(L)),
    "linear-list-input": lambda L: call(L.nn.Linear(1, 2), [[1.0]]),
    "batchnorm-3d-input": lambda L: call(L.nn.BatchNorm2d(3), r(L, 3, 2, 2)),
    "batchnorm-2d-input": lambda L: call(L.nn.BatchNorm2d(3), r(L, 2, 3)),
    "batchnorm-channels": lambda L: call(L.nn.BatchNorm2d(3), x4(L, 2, 4, 2, 2)),
    "batchnorm-int64-input": lambda L: call(L.nn.BatchNorm2d(3), ints(L, 2, 3, 2, 2)),
    "batchnorm-f64-input": lambda L: call(L.nn.BatchNorm2d(3), x4(L, 2, 3, 2, 2, dtype="float64")),
    "batchnorm-f64-input-eval": lambda L: call(L.nn.BatchNorm2d(3).eval(),
                                               x4(L, 2, 3, 2, 2, dtype="float64")),
    "batchnorm-f32-input-f64-module": lambda L: call(L.nn.BatchNorm2d(3, dtype=L.lib.float64),
                                                     x4(L, 2, 3, 2, 2)),
    "batchnorm-one-value": lambda L: call(L.nn.BatchNorm2d(3), x4(L, 1, 3, 1, 1)),
    "maxpool-3-tuple": lambda L: call(L.nn.MaxPool2d((2, 2, 2)), x4(L)),
    "maxpool-kernel-0": lambda L: call(L.nn.MaxPool2d(0), x4(L)),
    "maxpool-stride-0": lambda L: call(L.nn.MaxPool2d(2, stride=0), x4(L)),
    "maxpool-stride-2**64": lambda L: call(L.nn.MaxPool2d(2, stride=2 ** 64), x4(L)),
    "maxpool-2d-input": lambda L: call(L.nn.MaxPool2d(2), x4(L, 4, 4)),
    "maxpool-too-small": lambda L: call(L.nn.MaxPool2d(5), x4(L)),
    "avgpool-3-tuple": lambda L: call(L.nn.AvgPool2d((2, 2, 2)), x4(L)),
    "avgpool-divisor-0": lambda L: call(L.nn.AvgPool2d(2, divisor_override=0), x4(L)),
    "avgpool-padding-too-large": lambda L: call(L.nn.AvgPool2d(2, padding=2), x4(L)),
    "adaptive-3-sizes": lambda L: call(L.nn.AdaptiveAvgPool2d((1, 1, 1)), x4(L)),
    "flatten-start-after-end": lambda L: call(L.nn.Flatten(2, 1), x4(L)),
    "flatten-out-of-range": lambda L: call(L.nn.Flatten(1, 5), x4(L)),
    "relu-list": lambda L: call(L.nn.ReLU(), [1.0]),
    "relu-inplace-leaf": lambda L: call(L.nn.ReLU(inplace=True), r(L, 3, grad=True)),
    "softmax-dim-out-of-range": lambda L: call(L.nn.Softmax(2), r(L, 2, 3)),
    "log-softmax-int": lambda L: call(L.nn.LogSoftmax(0), ints(L, 3)),
    "dropout-int": lambda L: call(L.nn.Dropout(), ints(L, 3)),
    "sequential-forward-mismatch": lambda L: call(
        L.nn.Sequential(L.nn.Linear(3, 4), L.nn.Linear(5, 2)), r(L, 2, 3)),
    "module-without-forward": lambda L: call(L.nn.Module(), r(L, 2)),
    # losses
    "ce-loss-weight-short": lambda L: call(L.nn.CrossEntropyLoss(weight=r(L, 2)), logits(L),
                                           labels(L)),
    "ce-loss-int-logits": lambda L: call(L.nn.CrossEntropyLoss(), ints(L, 2, 3), labels(L)),
    "ce-loss-0d-input": lambda L: call(L.nn.CrossEntropyLoss(), r(L), labels(L)),
    "ce-loss-smoothing": lambda L: call(L.nn.CrossEntropyLoss(label_smoothing=2.0), logits(L),
                                        labels(L)),
    "ce-loss-reduction": lambda L: call(L.nn.CrossEntropyLoss(reduction="avg"), logits(L),
                                        labels(L)),
    "ce-loss-target-out-of-range": lambda L: call(L.nn.CrossEntropyLoss(), logits(L),
                                                  labels(L, 0, 7)),
    "nll-loss-weight-long": lambda L: call(L.nn.NLLLoss(weight=r(L, 4)), logits(L), labels(L)),
    "nll-loss-float-target": lambda L: call(L.nn.NLLLoss(), logits(L), r(L, 2)),
    "mse-loss-reduction": lambda L: call(L.nn.MSELoss(reduction="bogus"), r(L, 3), r(L, 3)),
    "mse-loss-shapes": lambda L: call(L.nn.MSELoss(), r(L, 2, 3), r(L, 3, 2)),
    "mse-loss-int": lambda L: call(L.nn.MSELoss(), ints(L, 3), ints(L, 3)),
}

MODULES_XFAIL = {}


@pytest.mark.parametrize("case", params(MODULES, MODULES_XFAIL))
def test_modules(case):
    both(case)


def net(L):
    """A small model with parameters, buffers and children."""
    return L.nn.Sequential(L.nn.Linear(2, 2), L.nn.BatchNorm2d(2))


def state(L, drop=(), **changes):
    """net's state_dict with keys dropped and values changed ('0_weight' names '0.weight')."""
    sd = dict(net(L).state_dict())
    for k in drop:
        del sd[k]
    sd.update({k.replace("_", ".", 1): v for k, v in changes.items()})
    return sd


def load(L, sd, strict=True):
    return net(L).load_state_dict(sd(L) if callable(sd) else sd, strict=strict)


class Early:
    """Module subclasses that register before calling Module.__init__()."""

    @staticmethod
    def make(L, what):
        class M(L.nn.Module):
            def __init__(self):
                if what == "buffer":
                    self.register_buffer("b", L.lib.ones(1))
                elif what == "parameter":
                    self.register_parameter("p", L.nn.Parameter(L.lib.ones(1)))
                elif what == "attribute-parameter":
                    self.p = L.nn.Parameter(L.lib.ones(1))
                else:
                    self.m = L.nn.ReLU()
        return M()


STATE = {
    # registration
    "buffer-name-dot": lambda L: L.nn.Linear(2, 2).register_buffer("a.b", L.lib.ones(1)),
    "buffer-name-empty": lambda L: L.nn.Linear(2, 2).register_buffer("", L.lib.ones(1)),
    "buffer-name-int": lambda L: L.nn.Linear(2, 2).register_buffer(1, L.lib.ones(1)),
    "buffer-name-taken": lambda L: L.nn.Linear(2, 2).register_buffer("weight", L.lib.ones(1)),
    "buffer-name-attribute": lambda L: L.nn.Linear(2, 2).register_buffer("in_features",
                                                                         L.lib.ones(1)),
    "buffer-not-tensor": lambda L: L.nn.Linear(2, 2).register_buffer("b", 1),
    "buffer-before-init": lambda L: Early.make(L, "buffer"),
    "parameter-name-dot": lambda L: L.nn.Linear(2, 2).register_parameter(
        "a.b", L.nn.Parameter(L.lib.ones(1))),
    "parameter-name-empty": lambda L: L.nn.Linear(2, 2).register_parameter("", None),
    "parameter-name-int": lambda L: L.nn.Linear(2, 2).register_parameter(1, None),
    "parameter-name-attribute": lambda L: L.nn.Linear(2, 2).register_parameter("in_features",
                                                                               None),
    "parameter-plain-tensor": lambda L: L.nn.Linear(2, 2).register_parameter("p", L.lib.ones(1)),
    "parameter-float": lambda L: L.nn.Linear(2, 2).register_parameter("p", 1.0),
    "parameter-before-init": lambda L: Early.make(L, "parameter"),
    "parameter-attribute-before-init": lambda L: Early.make(L, "attribute-parameter"),
    "module-attribute-before-init": lambda L: Early.make(L, "module"),
    "parameter-int-tensor": lambda L: L.nn.Parameter(ints(L, 2)),
    "parameter-list": lambda L: L.nn.Parameter([1.0]),
    "module-not-module": lambda L: L.nn.Module().add_module("a", 1),
    "module-name-int": lambda L: L.nn.Module().add_module(1, L.nn.ReLU()),
    "module-name-dot": lambda L: L.nn.Module().add_module("a.b", L.nn.ReLU()),
    "module-name-empty": lambda L: L.nn.Module().add_module("", L.nn.ReLU()),
    "module-name-attribute": lambda L: L.nn.Module().add_module("training", L.nn.ReLU()),
    "assign-tensor-to-parameter": lambda L: setattr(L.nn.Linear(2, 2), "weight", L.lib.ones(2)),
    "assign-float-to-parameter": lambda L: setattr(L.nn.Linear(2, 2), "weight", 1.0),
    "assign-int-to-module": lambda L: setattr(L.nn.Sequential(L.nn.ReLU()), "0", 1),
    "assign-int-to-buffer": lambda L: setattr(L.nn.BatchNorm2d(2), "running_mean", 1),
    "missing-attribute": lambda L: L.nn.Linear(2, 2).foo,
    # modes and conversions
    "train-string": lambda L: L.nn.Linear(2, 2).train("yes"),
    "train-int": lambda L: L.nn.Linear(2, 2).train(1),
    "requires-grad-string": lambda L: L.nn.Linear(2, 2).requires_grad_("a"),
    "to-cuda": lambda L: L.nn.Linear(2, 2).to("cuda"),
    "to-cuda-keyword": lambda L: L.nn.Linear(2, 2).to(device="cuda"),
    "to-bogus-device": lambda L: L.nn.Linear(2, 2).to("gpu"),
    "to-int-dtype": lambda L: L.nn.Linear(2, 2).to(L.lib.int64),
    "to-dtype-string": lambda L: L.nn.Linear(2, 2).to(dtype="float64"),
    "cuda": lambda L: L.nn.Linear(2, 2).cuda(),
    "type-bad-string": lambda L: L.nn.Linear(2, 2).type("float"),
    # load_state_dict (the whole message is compared in STATE_DICT below)
    "load-list": lambda L: L.nn.Linear(2, 2).load_state_dict([1]),
}

STATE_XFAIL = {}


@pytest.mark.parametrize("case", params(STATE, STATE_XFAIL))
def test_module_api(case):
    both(case)


# load_state_dict's first line only names the model: these compare every line.
STATE_DICT = {
    "missing-key": lambda L: load(L, lambda L: state(L, drop=["0.weight"])),
    "missing-keys": lambda L: load(L, lambda L: state(L, drop=["0.bias", "1.running_var"])),
    "unexpected-key": lambda L: load(L, lambda L: state(L, extra=L.lib.ones(1))),
    "missing-and-unexpected": lambda L: load(L, lambda L: state(L, drop=["1.weight"],
                                                                extra=L.lib.ones(1))),
    "shape-mismatch": lambda L: load(L, lambda L: state(L, **{"0_weight": L.lib.ones(3, 2)})),
    "shape-mismatch-not-strict": lambda L: load(L, lambda L: state(
        L, **{"0_weight": L.lib.ones(3)}), strict=False),
    "shape-mismatch-and-missing": lambda L: load(L, lambda L: state(
        L, drop=["0.bias"], **{"1_running_mean": L.lib.ones(3)})),
    "value-list": lambda L: load(L, lambda L: state(L, **{"0_weight": [[1.0, 1.0]] * 2})),
    "value-float": lambda L: load(L, lambda L: state(L, **{"0_bias": 1.0})),
}


@pytest.mark.parametrize("case", params(STATE_DICT))
def test_load_state_dict(case):
    both(case, whole=True)


def params_of(L, n=1):
    """n leaf parameters to optimize."""
    return [L.nn.Parameter(L.lib.ones(2)) for _ in range(n)]


def opt(L, name="SGD", **kw):
    kw.setdefault("lr", 0.1)
    return getattr(L.optim, name)(params_of(L), **kw)


def add_group(L, group, **kw):
    o = opt(L, **kw)
    o.add_param_group(group(L, o) if callable(group) else group)


def load_opt(L, saved_params, own_params):
    a = L.optim.SGD([L.nn.Parameter(L.lib.ones(1)) for _ in range(saved_params)], lr=0.1)
    b = L.optim.SGD([L.nn.Parameter(L.lib.ones(1)) for _ in range(own_params)], lr=0.1)
    b.load_state_dict(a.state_dict())


def load_groups(L):
    a = L.optim.SGD(params_of(L), lr=0.1)
    a.add_param_group({"params": params_of(L)})
    L.optim.SGD(params_of(L), lr=0.1).load_state_dict(a.state_dict())


OPTIM = {
    "sgd-lr-negative": lambda L: opt(L, lr=-0.1),
    "sgd-momentum-negative": lambda L: opt(L, momentum=-0.9),
    "sgd-weight-decay-negative": lambda L: opt(L, weight_decay=-1e-4),
    "sgd-nesterov-no-momentum": lambda L: opt(L, nesterov=True),
    "sgd-nesterov-dampening": lambda L: opt(L, nesterov=True, momentum=0.9, dampening=0.1),
    "sgd-lr-string": lambda L: opt(L, lr="a"),
    "sgd-empty": lambda L: L.optim.SGD([], lr=0.1),
    "sgd-empty-generator": lambda L: L.optim.SGD(iter([]), lr=0.1),
    "sgd-tensor": lambda L: L.optim.SGD(params_of(L)[0], lr=0.1),
    "sgd-floats": lambda L: L.optim.SGD([1.0], lr=0.1),
    "sgd-non-leaf": lambda L: L.optim.SGD([params_of(L)[0] * 2], lr=0.1),
    "sgd-int": lambda L: L.optim.SGD(1, lr=0.1),
    "sgd-none": lambda L: L.optim.SGD(None, lr=0.1),
    "sgd-group-without-params": lambda L: L.optim.SGD([{"lr": 0.1}], lr=0.1),
    "sgd-mixed-names": lambda L: L.optim.SGD([("a", params_of(L)[0]), params_of(L)[0]], lr=0.1),
    "adam-lr-negative": lambda L: opt(L, "Adam", lr=-1e-3),
    "adam-eps-negative": lambda L: opt(L, "Adam", eps=-1e-8),
    "adam-beta1-one": lambda L: opt(L, "Adam", betas=(1.0, 0.999)),
    "adam-beta2-one": lambda L: opt(L, "Adam", betas=(0.9, 1.0)),
    "adam-beta1-negative": lambda L: opt(L, "Adam", betas=(-0.1, 0.999)),
    "adam-weight-decay-negative": lambda L: opt(L, "Adam", weight_decay=-0.1),
    "adam-betas-one-value": lambda L: opt(L, "Adam", betas=(0.9,)),
    "adam-empty": lambda L: L.optim.Adam([]),
    "adam-non-leaf": lambda L: L.optim.Adam([params_of(L)[0] + 1]),
    "adamw-lr-negative": lambda L: opt(L, "AdamW", lr=-1e-3),
    "adamw-beta2-above-1": lambda L: opt(L, "AdamW", betas=(0.9, 1.5)),
    "adamw-weight-decay-negative": lambda L: opt(L, "AdamW", weight_decay=-0.01),
    "group-not-dict": lambda L: add_group(L, params_of(L)),
    "group-duplicate-param": lambda L: add_group(L, lambda L, o: {
        "params": o.param_groups[0]["params"]}),
    "group-set": lambda L: add_group(L, lambda L, o: {"params": set(params_of(L))}),
    "group-floats": lambda L: add_group(L, {"params": [1.0]}),
    "group-non-leaf": lambda L: add_group(L, lambda L, o: {"params": [params_of(L)[0] * 2]}),
    "load-group-count": load_groups,
    "load-group-size": lambda L: load_opt(L, 2, 1),
    "step-lr-not-optimizer": lambda L: L.optim.lr_scheduler.StepLR(1, 2),
}

OPTIM_XFAIL = {}


@pytest.mark.parametrize("case", params(OPTIM, OPTIM_XFAIL))
def test_optim(case):
    both(case)


def ds(L, n=4):
    return L.data.TensorDataset(r(L, n, 2), labels(L, *range(n)))


DATA = {
    "loader-batch-size-0": lambda L: L.data.DataLoader(ds(L), batch_size=0),
    "loader-batch-size-negative": lambda L: L.data.DataLoader(ds(L), batch_size=-1),
    "loader-batch-size-float": lambda L: L.data.DataLoader(ds(L), batch_size=1.5),
    "loader-batch-size-string": lambda L: L.data.DataLoader(ds(L), batch_size="2"),
    "loader-batch-size-bool": lambda L: L.data.DataLoader(ds(L), batch_size=True),
    "loader-no-batch-drop-last": lambda L: L.data.DataLoader(ds(L), batch_size=None,
                                                             drop_last=True),
    "loader-drop-last-string": lambda L: L.data.DataLoader(ds(L), drop_last="yes"),
    "loader-sampler-and-shuffle": lambda L: L.data.DataLoader(
        ds(L), sampler=L.data.SequentialSampler(ds(L)), shuffle=True),
    "loader-batch-sampler-and-batch-size": lambda L: L.data.DataLoader(
        ds(L), batch_sampler=[[0, 1]], batch_size=2),
    "loader-batch-sampler-and-shuffle": lambda L: L.data.DataLoader(
        ds(L), batch_sampler=[[0, 1]], shuffle=True),
    "loader-batch-sampler-and-sampler": lambda L: L.data.DataLoader(
        ds(L), batch_sampler=[[0, 1]], sampler=[0, 1]),
    "loader-batch-sampler-and-drop-last": lambda L: L.data.DataLoader(
        ds(L), batch_sampler=[[0, 1]], drop_last=True),
    "loader-workers-negative": lambda L: L.data.DataLoader(ds(L), num_workers=-1),
    "loader-timeout-negative": lambda L: L.data.DataLoader(ds(L), timeout=-1),
    "loader-prefetch-without-workers": lambda L: L.data.DataLoader(ds(L), prefetch_factor=2),
    "loader-persistent-without-workers": lambda L: L.data.DataLoader(ds(L),
                                                                     persistent_workers=True),
    "loader-index-out-of-range": lambda L: next(iter(L.data.DataLoader(
        ds(L), batch_size=2, sampler=[0, 9]))),
    "loader-collate-ragged": lambda L: next(iter(L.data.DataLoader(
        [r(L, 2), r(L, 3)], batch_size=2))),
    "loader-collate-object": lambda L: next(iter(L.data.DataLoader([object()] * 2,
                                                                   batch_size=2))),
    "tensor-dataset-sizes": lambda L: L.data.TensorDataset(r(L, 3, 2), r(L, 4)),
    "tensor-dataset-index": lambda L: ds(L)[4],
    "random-sampler-replacement-string": lambda L: L.data.RandomSampler(ds(L),
                                                                        replacement="yes"),
    "random-sampler-num-samples-0": lambda L: L.data.RandomSampler(ds(L), num_samples=0),
    "random-sampler-num-samples-float": lambda L: L.data.RandomSampler(ds(L), num_samples=1.5),
    "batch-sampler-size-0": lambda L: L.data.BatchSampler([0, 1], 0, False),
    "batch-sampler-drop-last-int": lambda L: L.data.BatchSampler([0, 1], 2, 1),
    "random-split-lengths": lambda L: L.data.random_split(ds(L), [3, 2]),
    "random-split-fraction-negative": lambda L: L.data.random_split(ds(L), [1.5, -0.5]),
    "concat-empty": lambda L: L.data.ConcatDataset([]),
    "concat-negative-index": lambda L: L.data.ConcatDataset([ds(L)])[-5],
    "dataset-getitem": lambda L: L.data.Dataset()[0],
    "collate-ragged-lists": lambda L: L.data.default_collate([[1, 2], [3]]),
    "collate-tensors-differ": lambda L: L.data.default_collate([r(L, 2), r(L, 3)]),
    "collate-strings-array": lambda L: L.data.default_collate([np.array(["a"])] * 2),
    "collate-none": lambda L: L.data.default_collate([None, None]),
}

DATA_XFAIL = {}


@pytest.mark.parametrize("case", params(DATA, DATA_XFAIL))
def test_data(case):
    both(case)


# Near misses that PyTorch accepts: the checks above must not refuse them.
ACCEPTED = {
    "linear-1d-weight": lambda L: L.F.linear(r(L, 2, 3), r(L, 3)),
    "linear-0d-bias": lambda L: L.F.linear(r(L, 2, 3), r(L, 4, 3), r(L)),
    "linear-row-bias": lambda L: L.F.linear(r(L, 2, 3), r(L, 4, 3), r(L, 1, 4)),
    "adaptive-2d-input-to-1": lambda L: L.F.adaptive_avg_pool2d(x4(L, 4, 4), 1),
    "adaptive-5d-input-to-1": lambda L: L.F.adaptive_avg_pool2d(x4(L, 1, 1, 1, 4, 4), 1),
    "ce-negative-smoothing": lambda L: L.F.cross_entropy(logits(L), labels(L),
                                                         label_smoothing=-0.1),
    "ce-soft-negative-smoothing": lambda L: L.F.cross_entropy(
        logits(L), L.F.softmax(r(L, 2, 3), 1), label_smoothing=-0.1),
    "ce-uint8-target": lambda L: L.F.cross_entropy(logits(L), labels(L, dtype="uint8")),
    "nll-1d-input-1-target": lambda L: L.F.nll_loss(r(L, 3), labels(L, 1)[:1]),
    "mse-int-target": lambda L: L.F.mse_loss(r(L, 3), ints(L, 3)),
    "max-pool-empty-stride": lambda L: L.F.max_pool2d(x4(L), 2, []),
    "max-pool-list-kernel": lambda L: L.F.max_pool2d(x4(L), [2]),
    "max-pool-numpy-kernel": lambda L: L.F.max_pool2d(x4(L), np.int64(2)),
    "max-pool-tensor-kernel": lambda L: L.F.max_pool2d(x4(L), L.lib.tensor(2)),
    "max-pool-empty-batch-indices": lambda L: L.F.max_pool2d(x4(L, 0, 2, 4, 4), 2,
                                                             return_indices=True)[1],
    "avg-pool-negative-divisor": lambda L: L.F.avg_pool2d(x4(L), 2, divisor_override=-1),
    "avg-pool-empty-batch": lambda L: L.F.avg_pool2d(x4(L, 0, 2, 4, 4), 2),
    "dropout-int-p1": lambda L: L.F.dropout(ints(L, 3), 1.0),
    "dropout-int-p0": lambda L: L.F.dropout(ints(L, 3), 0.0),
    "bn-2d-input": lambda L: L.F.batch_norm(r(L, 2, 3), r(L, 3) ** 2, r(L, 3) ** 2 + 1),
    "bn-empty-batch": lambda L: L.F.batch_norm(x4(L, 0, 3, 2, 2), None, None, training=True),
    "softmax-int-with-dtype": lambda L: L.F.softmax(ints(L, 3), 0, dtype=L.lib.float32),
    "linear-on-cpu": lambda L: L.nn.Linear(2, 3, device="cpu").weight.detach() * 0,
    "conv-float64-on-cpu": lambda L: L.nn.Conv2d(1, 2, 3, dtype=L.lib.float64,
                                                 device=L.lib.device("cpu")).bias.detach() * 0,
    "batchnorm-float64": lambda L: L.nn.BatchNorm2d(3, dtype=L.lib.float64).running_var,
    "module-to-cpu": lambda L: L.nn.Linear(2, 2).to("cpu", L.lib.float64).bias.detach() * 0,
    "sequential-insert-end": lambda L: len(L.nn.Sequential(L.nn.ReLU()).insert(1, L.nn.Tanh())),
    "module-list-insert-past-end": lambda L: [len(m) for m in [L.nn.ModuleList([L.nn.ReLU()])]
                                              if m.insert(3, L.nn.Tanh()) or True],
    "sgd-set-of-params": lambda L: len(L.optim.SGD(set(params_of(L)), lr=0.1).param_groups),
    "sgd-negative-dampening": lambda L: len(opt(L, momentum=0.9, dampening=-1).param_groups),
    "loader-no-batching": lambda L: next(iter(L.data.DataLoader(ds(L), batch_size=None)))[0],
    "loader-workers-0-prefetch-none": lambda L: len(L.data.DataLoader(ds(L), batch_size=3)),
}


@pytest.mark.parametrize("case", params(ACCEPTED))
def test_accepted(case):
    same_result(case)
