"""conv2d, nn.Conv2d and F.pad misuse: PyTorch's exception type and message, same moment.

Every case is written once against a library namespace `L` (ours or torch) and run on both.
The expected messages are never written here: each case runs in torch 2.13 in the same test.
"""
import re
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from helpers import assert_same_error, raised

import tatamikomi as tm
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F

OURS = types.SimpleNamespace(lib=tm, nn=nn, F=F)
TORCH = types.SimpleNamespace(lib=torch, nn=torch_nn, F=torch_F)


def r(L, *shape, dtype="float32"):
    """The same pseudo-random array in either library (seeded by the shape)."""
    rng = np.random.default_rng(sum(shape) + 7 * len(shape))
    return L.lib.tensor(rng.standard_normal(shape).astype(dtype))


def ints(L, *shape, dtype="int64"):
    return L.lib.tensor(np.ones(shape, dtype=dtype))


def both(case):
    """Assert case(ours) and case(torch) raise the same exception type and message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns for zero-size init and 'same' + even k
        assert_same_error(lambda: case(OURS), lambda: case(TORCH))


def sorted_sets(message):
    """Sort the items of each printed Python set: `{'valid', 'same'}` -> `{'same', 'valid'}`."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m[1].split(", "))) + "}",
                  message)


def both_modulo_set_order(case):
    """As both(), but torch prints Python sets whose order no other module can reproduce.

    nn.Conv2d formats {"same", "valid"} and {"zeros", "reflect", "replicate", "circular"}: the
    literal compiles to a frozenset constant stored in the .pyc in the order of the hash seed
    of the process that compiled it, so the printed order differs between files and processes.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = raised(lambda: case(OURS)), raised(lambda: case(TORCH))
    assert theirs is not None, "torch did not raise: the test case is wrong"
    assert ours is not None, f"tatamikomi did not raise; torch raised {theirs!r}"
    assert type(ours).__name__ == type(theirs).__name__, f"{ours!r} vs {theirs!r}"
    first = [sorted_sets(str(e).split("\n")[0]) for e in (ours, theirs)]
    assert first[0] == first[1], f"{ours!r} vs {theirs!r}"


def f64(L, *shape):
    return r(L, *shape, dtype="float64")


FUNCTIONAL = {
    "channel-mismatch": lambda L: L.F.conv2d(r(L, 2, 6, 5, 5), r(L, 12, 5, 3, 3)),
    "channel-mismatch-padded": lambda L: L.F.conv2d(r(L, 2, 6, 5, 5), r(L, 12, 5, 3, 3),
                                                    padding=1),
    "channel-mismatch-groups": lambda L: L.F.conv2d(r(L, 2, 5, 5, 5), r(L, 12, 2, 3, 3),
                                                    groups=2),
    "channel-mismatch-groups-weight": lambda L: L.F.conv2d(r(L, 2, 4, 5, 5), r(L, 6, 4, 3, 3),
                                                           groups=2),
    "out-not-divisible": lambda L: L.F.conv2d(r(L, 2, 4, 5, 5), r(L, 5, 2, 3, 3), groups=2),
    "out-not-divisible-3": lambda L: L.F.conv2d(r(L, 2, 4, 5, 5), r(L, 5, 4, 3, 3), groups=3),
    "zero-out-channels": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 0, 1, 3, 3)),
    "input-1d": lambda L: L.F.conv2d(r(L, 5), r(L, 1, 1, 1, 1)),
    "input-2d": lambda L: L.F.conv2d(r(L, 5, 5), r(L, 1, 1, 3, 3)),
    "input-5d": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5, 5), r(L, 1, 1, 3, 3)),
    "unbatched-channels": lambda L: L.F.conv2d(r(L, 2, 5, 5), r(L, 2, 1, 3, 3)),
    "unbatched-channels-groups": lambda L: L.F.conv2d(r(L, 3, 5, 5), r(L, 4, 1, 3, 3),
                                                      groups=2),
    "unbatched-kernel-too-large": lambda L: L.F.conv2d(r(L, 1, 2, 2), r(L, 1, 1, 3, 3)),
    "weight-2d": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 3, 3)),
    "weight-3d": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3)),
    "weight-5d": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 1, 3, 3)),
    # one-element lists broadcast: the output_padding PyTorch passes on fails first
    "weight-5d-lengths-1": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 1, 3, 3),
                                                stride=(1,), padding=(0,), dilation=(1,)),
    "empty-height-padded": lambda L: L.F.conv2d(r(L, 1, 2, 0, 3), r(L, 3, 2, 1, 1), padding=1),
    "groups-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), groups=0),
    "groups-negative": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), groups=-1),
    "stride-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=0),
    "stride-negative": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=-1),
    "stride-tuple-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=(1, 0)),
    "stride-3-tuple": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                           stride=(1, 1, 1)),
    "stride-empty": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=()),
    "padding-negative": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding=-1),
    "padding-tuple-negative": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                   padding=(0, -1)),
    "padding-3-tuple": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                            padding=(1, 1, 1)),
    "padding-4-tuple": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                            padding=(1, 1, 1, 1)),
    "dilation-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), dilation=0),
    "dilation-tuple-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                             dilation=(1, 0)),
    "dilation-negative": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), dilation=-1),
    "dilation-mixed-negative": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                    dilation=(0, -1)),
    "dilation-3-tuple": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                             dilation=(1, 2, 3)),
    "kernel-too-large": lambda L: L.F.conv2d(r(L, 1, 1, 2, 2), r(L, 1, 1, 3, 3)),
    "kernel-too-wide": lambda L: L.F.conv2d(r(L, 1, 1, 5, 2), r(L, 1, 1, 3, 3)),
    "kernel-too-large-padded": lambda L: L.F.conv2d(r(L, 1, 1, 2, 5), r(L, 1, 1, 3, 3),
                                                    padding=(0, 1)),
    "dilated-kernel-too-large": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                     dilation=3),
    "dilated-kernel-too-wide": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                    dilation=(1, 3)),
    "dilated-strided-too-large": lambda L: L.F.conv2d(r(L, 1, 1, 4, 4), r(L, 1, 1, 3, 3),
                                                      stride=2, dilation=2),
    "zero-batch-kernel-too-large": lambda L: L.F.conv2d(r(L, 0, 1, 2, 2), r(L, 1, 1, 3, 3)),
    "zero-kernel": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 0, 3)),
    "zero-kernel-width": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 0)),
    "same-stride-2": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=2,
                                          padding="same"),
    "same-stride-tuple": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                              stride=(1, 2), padding="same"),
    "same-stride-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=0,
                                          padding="same"),
    "padding-string-invalid": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                   padding="full"),
    "padding-string-uppercase": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                     padding="SAME"),
    "valid-kernel-too-large": lambda L: L.F.conv2d(r(L, 1, 1, 2, 2), r(L, 1, 1, 3, 3),
                                                   padding="valid"),
    "same-channel-mismatch": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 1, 1, 3, 3),
                                                  padding="same"),
    "same-dilation-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                            padding="same", dilation=0),
    "same-groups-0": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                          padding="same", groups=0),
    "bias-wrong-size": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), r(L, 3)),
    "bias-size-1": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), r(L, 1)),
    "bias-2d": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), r(L, 2, 1)),
    "bias-2d-row": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), r(L, 1, 2)),
    "bias-0d": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3),
                                    L.lib.tensor(np.float32(1.0))),
    "f32-input-f64-bias": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), f64(L, 2)),
    "f64-input-f32-weight": lambda L: L.F.conv2d(f64(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3)),
    "f32-input-f64-weight": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), f64(L, 2, 1, 3, 3)),
    "f64-input-weight-f32-bias": lambda L: L.F.conv2d(f64(L, 1, 1, 5, 5), f64(L, 2, 1, 3, 3),
                                                      r(L, 2)),
    "f64-input-f32-weight-f64-bias": lambda L: L.F.conv2d(f64(L, 1, 1, 5, 5),
                                                          r(L, 2, 1, 3, 3), f64(L, 2)),
    "int64-input": lambda L: L.F.conv2d(ints(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3)),
    "int64-input-float-bias": lambda L: L.F.conv2d(ints(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3),
                                                   r(L, 2)),
    "int64-weight": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), ints(L, 2, 1, 3, 3)),
    "int64-bias": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), ints(L, 2)),
    # PyTorch's own error_inputs for conv2d
    "same-weight-3d": lambda L: L.F.conv2d(r(L, 1, 1, 4, 3), r(L, 1, 2, 2), padding="same"),
    "same-weight-3d-unbatched": lambda L: L.F.conv2d(r(L, 1, 4, 3), r(L, 1, 2, 2),
                                                     padding="same"),
    "same-weight-5d": lambda L: L.F.conv2d(r(L, 1, 1, 4, 3), r(L, 1, 1, 2, 2, 2), padding="same"),
    "groups-above-out-channels": lambda L: L.F.conv2d(r(L, 1, 6, 4, 3), r(L, 2, 2, 1, 3),
                                                      groups=3),
    "same-groups-above-out-channels": lambda L: L.F.conv2d(r(L, 1, 6, 4, 3), r(L, 2, 2, 1, 3),
                                                           groups=3, padding="same"),
    # integers past int64, and paddings whose sum would overflow it
    "stride-2**64": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=2 ** 64),
    "stride-2**63": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=2 ** 63),
    "stride-below-int64": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                               stride=-2 ** 63 - 1),
    "stride-tuple-2**64": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                               stride=(1, 2 ** 64)),
    "stride-list-2**64": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                              stride=[2 ** 64]),
    "padding-2**64": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding=2 ** 64),
    "dilation-tuple-2**64": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                 dilation=(2 ** 64, 1)),
    "groups-2**64": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), groups=2 ** 64),
    "groups-int64-max": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                             groups=2 ** 63 - 1),
    "padding-2**62": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding=2 ** 62),
    "padding-width-int64-max": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                    padding=(1, 2 ** 63 - 1)),
    "padding-sum-wraps": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                              padding=2 ** 62 - 1),
    "stride-first-element-float": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                       stride=(1.5, 1)),
}

# Several problems at once: the first check torch makes decides the message.
CHECK_ORDER = {
    "input-rank-before-groups": lambda L: L.F.conv2d(r(L, 5, 5), r(L, 1, 1, 3, 3), groups=0),
    "input-rank-before-weight-rank": lambda L: L.F.conv2d(r(L, 5, 5), r(L, 3, 3)),
    "weight-rank-before-groups": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 3, 3), groups=0),
    "groups-before-stride": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                 stride=0, groups=0),
    "groups-before-lengths": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                  stride=(1, 1, 1), groups=0),
    "stride-length-before-padding-sign": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=(1, 1, 1), padding=-1),
    "padding-length-before-dilation-length": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding=(1, 1, 1), dilation=(1, 1, 1)),
    "padding-sign-before-stride-sign": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=0, padding=-1),
    "stride-before-dilation": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                   stride=0, dilation=0),
    "stride-before-channels": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 1, 1, 3, 3),
                                                   stride=0),
    "divisible-before-channels": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 3, 1, 3, 3),
                                                      groups=2),
    "zero-out-before-channels": lambda L: L.F.conv2d(r(L, 1, 3, 5, 5), r(L, 0, 1, 3, 3)),
    "channels-before-dilation": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 1, 1, 3, 3),
                                                     dilation=0),
    "channels-before-kernel-size": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 1, 1, 7, 7)),
    "channels-before-bias-shape": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 2, 1, 3, 3),
                                                       r(L, 3)),
    "bias-shape-before-kernel-size": lambda L: L.F.conv2d(r(L, 1, 1, 2, 2), r(L, 2, 1, 3, 3),
                                                          r(L, 3)),
    "bias-shape-before-dilation": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3),
                                                       r(L, 3), dilation=0),
    "channels-before-weight-dtype": lambda L: L.F.conv2d(f64(L, 1, 2, 5, 5), r(L, 2, 1, 3, 3)),
    "kernel-size-before-weight-dtype": lambda L: L.F.conv2d(f64(L, 1, 1, 2, 2),
                                                            r(L, 2, 1, 3, 3)),
    "bias-dtype-before-bias-shape": lambda L: L.F.conv2d(f64(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3),
                                                         r(L, 3)),
    "bias-dtype-before-channels": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 2, 1, 3, 3),
                                                       f64(L, 2)),
    "bias-dtype-before-input-rank": lambda L: L.F.conv2d(f64(L, 5, 5), r(L, 2, 1, 3, 3),
                                                         r(L, 2)),
    "same-input-rank-before-padding-string": lambda L: L.F.conv2d(r(L, 5, 5), r(L, 2, 1, 3, 3),
                                                                  padding="bogus"),
    "padding-string-before-stride": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3),
                                                         padding="bogus", stride=0),
    "same-stride-before-channels": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 2, 1, 3, 3),
                                                        padding="same", stride=2),
    "same-stride-before-bias": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3),
                                                    r(L, 3), padding="same", stride=2),
    "same-weight-rank-before-groups": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 3, 3),
                                                           padding="same", groups=0),
    "same-groups-before-stride": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                      padding="same", stride=2, groups=0),
    "same-weight-rank-before-stride-length": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 3, 3), padding="same", stride=(1, 1, 1)),
    "same-weight-rank-before-strided": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 3, 3),
                                                            padding="same", stride=2),
    "same-stride-length-before-strided": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding="same", stride=(1, 2, 1)),
    "same-weight-rank-before-dilation-length": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 3, 3), padding="same", dilation=(1, 1)),
    "types-before-overflow": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                  stride=2 ** 64, groups=1.5),
    "groups-overflow-before-stride": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                          stride=(1, 1.5), groups=2 ** 64),
    "dilation-overflow-before-padding": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding=(1, 2 ** 64), dilation=(1, 2 ** 64)),
    "padding-overflow-before-stride": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=(1, 2 ** 64), padding=(1, 2 ** 64)),
    "padding-type-before-stride-type": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=(1, 1.5), padding=(1, 2.5)),
    "overflow-before-padding-string": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=(1, 2 ** 64), padding="bogus"),
    "overflow-before-stride-sign": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                        padding=(2 ** 64,), stride=0),
    "channels-before-padding-bound": lambda L: L.F.conv2d(r(L, 1, 2, 5, 5), r(L, 1, 1, 3, 3),
                                                          padding=2 ** 62),
    "padding-bound-before-dilation": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3),
                                                          padding=2 ** 62, dilation=0),
    "padding-bound-before-weight-dtype": lambda L: L.F.conv2d(
        f64(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding=2 ** 62),
    "keywords-listed-last-to-first": lambda L: L.F.conv2d(
        r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=1.5, groups=1.5, dilation=1.5),
}

# Wrong argument types: torch's argument parser raises TypeError (first line compared).
TYPE_ERRORS = {
    "stride-float": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), stride=1.5),
    "padding-float": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), padding=1.0),
    "groups-float": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), groups=1.0),
    "bias-python-float": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), 1.0),
    "numpy-input": lambda L: L.F.conv2d(np.ones((1, 1, 5, 5), "float32"), r(L, 2, 1, 3, 3)),
    "missing-weight": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5)),
    "unknown-keyword": lambda L: L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 2, 1, 3, 3), foo=1),
}


@pytest.mark.parametrize("case", FUNCTIONAL.values(), ids=FUNCTIONAL.keys())
def test_functional_errors(case):
    both(case)


@pytest.mark.parametrize("case", CHECK_ORDER.values(), ids=CHECK_ORDER.keys())
def test_functional_check_order(case):
    both(case)


@pytest.mark.parametrize("case", TYPE_ERRORS.values(), ids=TYPE_ERRORS.keys())
def test_functional_type_errors(case):
    both(case)


# Constructor raises: (args, kwargs) for nn.Conv2d.
CONSTRUCTION = {
    "in-not-divisible": ((5, 6, 3), {"groups": 2}),
    "out-not-divisible": ((4, 5, 3), {"groups": 2}),
    "out-not-divisible-4": ((4, 6, 3), {"groups": 4}),
    "both-not-divisible": ((5, 5, 3), {"groups": 2}),
    "groups-0": ((4, 4, 3), {"groups": 0}),
    "groups-negative": ((4, 4, 3), {"groups": -1}),
    "groups-non-integer": ((4, 4, 3), {"groups": 1.5}),
    "padding-string": ((4, 4, 3), {"padding": "full"}),
    "padding-string-uppercase": ((4, 4, 3), {"padding": "Same"}),
    "same-stride-2": ((4, 4, 3), {"padding": "same", "stride": 2}),
    "same-stride-tuple": ((4, 4, 3), {"padding": "same", "stride": (1, 2)}),
    "padding-mode-zero": ((4, 4, 3), {"padding_mode": "zero"}),
    "padding-mode-constant": ((4, 4, 3), {"padding_mode": "constant"}),
    "padding-mode-capital": ((4, 4, 3), {"padding_mode": "Reflect"}),
    "padding-mode-none": ((4, 4, 3), {"padding_mode": None}),
    "padding-string-before-mode": ((4, 4, 3), {"padding": "full", "padding_mode": "zero"}),
    "padding-string-before-stride": ((4, 4, 3), {"padding": "full", "stride": 2}),
    "same-stride-before-mode": ((4, 4, 3), {"padding": "same", "stride": 2,
                                            "padding_mode": "x"}),
    "groups-before-mode": ((5, 5, 3), {"groups": 2, "padding_mode": "x"}),
    "groups-0-before-padding": ((5, 4, 3), {"groups": 0, "padding": "full"}),
    "negative-out-channels": ((4, -1, 3), {}),
    "negative-in-channels": ((-1, 4, 3), {}),
    "negative-kernel-size": ((4, 4, -1), {}),
}


@pytest.mark.parametrize("args,kwargs", CONSTRUCTION.values(), ids=CONSTRUCTION.keys())
def test_construction_errors(args, kwargs):
    both_modulo_set_order(lambda L: L.nn.Conv2d(*args, **kwargs))


def test_set_order_normalization():
    assert sorted_sets("one of {'valid', 'same'}, x") == "one of {'same', 'valid'}, x"
    assert sorted_sets("{'zeros', 'circular'} {'b', 'a'}") == "{'circular', 'zeros'} {'a', 'b'}"


@pytest.mark.parametrize("kernel_size", [3.0, "3", None])
def test_construction_kernel_size_type_errors(kernel_size):
    both(lambda L: L.nn.Conv2d(4, 4, kernel_size))


# Construction succeeds in torch; the forward raises. (args, kwargs, input builder)
FORWARD = {
    "kernel-size-0": ((4, 4, 0), {}, lambda L: r(L, 1, 4, 5, 5)),
    "kernel-size-tuple-0": ((4, 4, (3, 0)), {}, lambda L: r(L, 1, 4, 5, 5)),
    "kernel-size-3-tuple": ((4, 4, (3, 3, 3)), {}, lambda L: r(L, 1, 4, 5, 5)),
    "kernel-size-1-tuple": ((4, 4, (3,)), {}, lambda L: r(L, 1, 4, 5, 5)),
    "stride-0": ((4, 4, 3), {"stride": 0}, lambda L: r(L, 1, 4, 5, 5)),
    "stride-negative": ((4, 4, 3), {"stride": -1}, lambda L: r(L, 1, 4, 5, 5)),
    "stride-3-tuple": ((4, 4, 3), {"stride": (1, 1, 1)}, lambda L: r(L, 1, 4, 5, 5)),
    "padding-negative": ((4, 4, 3), {"padding": -1}, lambda L: r(L, 1, 4, 5, 5)),
    "padding-3-tuple": ((4, 4, 3), {"padding": (1, 1, 1)}, lambda L: r(L, 1, 4, 5, 5)),
    "dilation-0": ((4, 4, 3), {"dilation": 0}, lambda L: r(L, 1, 4, 5, 5)),
    "dilation-negative": ((4, 4, 3), {"dilation": -1}, lambda L: r(L, 1, 4, 5, 5)),
    "zero-out-channels": ((4, 0, 3), {}, lambda L: r(L, 1, 4, 5, 5)),
    "channel-mismatch": ((3, 4, 3), {}, lambda L: r(L, 1, 2, 5, 5)),
    "channel-mismatch-groups": ((4, 4, 3), {"groups": 2}, lambda L: r(L, 1, 3, 5, 5)),
    "unbatched-channels": ((3, 4, 3), {}, lambda L: r(L, 2, 5, 5)),
    "input-2d": ((3, 4, 3), {}, lambda L: r(L, 5, 5)),
    "input-5d": ((3, 4, 3), {}, lambda L: r(L, 1, 1, 3, 5, 5)),
    "kernel-too-large": ((3, 4, 3), {}, lambda L: r(L, 1, 3, 2, 2)),
    "dilated-kernel-too-large": ((3, 4, 3), {"dilation": 2}, lambda L: r(L, 1, 3, 4, 4)),
    "valid-kernel-too-large": ((3, 4, 3), {"padding": "valid"}, lambda L: r(L, 1, 3, 2, 2)),
    "f64-input": ((3, 4, 3), {}, lambda L: f64(L, 1, 3, 5, 5)),
    "f64-module": ((3, 4, 3), {"dtype": "float64"}, lambda L: r(L, 1, 3, 5, 5)),
    "int64-input": ((3, 4, 3), {}, lambda L: ints(L, 1, 3, 5, 5)),
    "no-bias-f64-input": ((4, 4, 3), {"bias": False}, lambda L: f64(L, 1, 4, 5, 5)),
    "no-bias-int64-input": ((4, 4, 3), {"bias": False}, lambda L: ints(L, 1, 4, 5, 5)),
    "reflect-pad-equals-size": ((3, 4, 3), {"padding": 2, "padding_mode": "reflect"},
                                lambda L: r(L, 1, 3, 2, 2)),
    "reflect-width": ((3, 4, 3), {"padding": (0, 2), "padding_mode": "reflect"},
                      lambda L: r(L, 1, 3, 5, 2)),
    "reflect-height": ((3, 4, 3), {"padding": (2, 0), "padding_mode": "reflect"},
                       lambda L: r(L, 1, 3, 2, 5)),
    "reflect-1x1": ((3, 4, 1), {"padding": 1, "padding_mode": "reflect"},
                    lambda L: r(L, 1, 3, 1, 1)),
    "reflect-unbatched": ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"},
                          lambda L: r(L, 3, 1, 4)),
    "reflect-same-dilated": ((4, 4, 3), {"padding": "same", "padding_mode": "reflect",
                                         "dilation": 2}, lambda L: r(L, 1, 4, 2, 2)),
    "reflect-channel-mismatch": ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"},
                                 lambda L: r(L, 1, 2, 5, 5)),
    "reflect-valid-too-large": ((4, 4, 3), {"padding": "valid", "padding_mode": "reflect"},
                                lambda L: r(L, 1, 4, 2, 2)),
    "reflect-input-2d": ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"},
                         lambda L: r(L, 5, 5)),
    "reflect-input-5d": ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"},
                         lambda L: r(L, 1, 1, 3, 5, 5)),
    "reflect-int64-input": ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"},
                            lambda L: ints(L, 1, 3, 5, 5)),
    "circular-pad-exceeds-size": ((3, 4, 3), {"padding": 3, "padding_mode": "circular"},
                                  lambda L: r(L, 1, 3, 2, 2)),
    "circular-width": ((3, 4, 3), {"padding": (0, 3), "padding_mode": "circular"},
                       lambda L: r(L, 1, 3, 4, 2)),
    "circular-height": ((3, 4, 3), {"padding": (3, 0), "padding_mode": "circular"},
                        lambda L: r(L, 1, 3, 2, 4)),
    "circular-same-dilated": ((4, 4, 3), {"padding": "same", "padding_mode": "circular",
                                          "dilation": 3}, lambda L: r(L, 1, 4, 2, 2)),
    "circular-unbatched-channels": ((3, 4, 3), {"padding": 1, "padding_mode": "circular"},
                                    lambda L: r(L, 2, 5, 5)),
    "circular-input-2d": ((3, 4, 3), {"padding": 1, "padding_mode": "circular"},
                          lambda L: r(L, 5, 5)),
    "circular-f64-input": ((3, 4, 3), {"padding": 1, "padding_mode": "circular"},
                           lambda L: f64(L, 1, 3, 5, 5)),
    "replicate-empty-height": ((3, 4, 3), {"padding": 2, "padding_mode": "replicate"},
                               lambda L: r(L, 1, 3, 0, 4)),
    "replicate-input-5d": ((3, 4, 3), {"padding": 1, "padding_mode": "replicate"},
                           lambda L: r(L, 1, 1, 3, 5, 5)),
    "replicate-stride-0": ((4, 4, 3), {"stride": 0, "padding": 1, "padding_mode": "replicate"},
                           lambda L: r(L, 1, 4, 5, 5)),
    "stride-past-int64": ((1, 1, 3), {"stride": 2 ** 64 + 1}, lambda L: r(L, 1, 1, 8, 8)),
}


def build(L, args, kwargs):
    kwargs = dict(kwargs)
    if "dtype" in kwargs:
        kwargs["dtype"] = getattr(L.lib, kwargs["dtype"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return L.nn.Conv2d(*args, **kwargs)


@pytest.mark.parametrize("args,kwargs,make_input", FORWARD.values(), ids=FORWARD.keys())
def test_forward_errors(args, kwargs, make_input):
    assert raised(lambda: build(TORCH, args, kwargs)) is None, "torch's constructor raised"
    ours, theirs = build(OURS, args, kwargs), build(TORCH, args, kwargs)  # must not raise
    both(lambda L: (ours if L is OURS else theirs)(make_input(L)))


# Constructions torch accepts although the values are unusable; they fail only at forward.
@pytest.mark.parametrize("kwargs", [{"stride": 0}, {"padding": -1}, {"dilation": 0},
                                    {"stride": (1, 1, 1)}, {"groups": True}, {"bias": None}])
def test_construction_accepts_what_torch_accepts(kwargs):
    ours, theirs = build(OURS, (4, 4, 3), kwargs), build(TORCH, (4, 4, 3), kwargs)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_negative_padding_with_padding_mode_crops(mode):
    """Non-zeros padding_mode pads with F.pad, which crops for negative amounts: no error."""
    theirs = build(TORCH, (4, 4, 3), {"padding": -1, "padding_mode": mode})
    ours = build(OURS, (4, 4, 3), {"padding": -1, "padding_mode": mode})
    assert tuple(ours(r(OURS, 1, 4, 5, 5)).shape) == tuple(theirs(r(TORCH, 1, 4, 5, 5)).shape)


PAD = {
    "reflect-too-large": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (2, 2, 2, 2), mode="reflect"),
    "reflect-3-pairs-on-4d": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (1, 1, 1, 1, 1, 1),
                                               mode="reflect"),
    "circular-too-large": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (3, 3, 3, 3), mode="circular"),
    "circular-left-too-large": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (3, 0, 0, 0),
                                                 mode="circular"),
    "circular-top-too-large": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (0, 0, 3, 0),
                                                mode="circular"),
    "odd-length": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (1, 1, 1), mode="reflect"),
    "odd-length-constant": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (1, 1, 1)),
    "reflect-2d-input": lambda L: L.F.pad(r(L, 2, 2), (1, 1, 1, 1), mode="reflect"),
    "replicate-2d-input": lambda L: L.F.pad(r(L, 2, 2), (1, 1, 1, 1), mode="replicate"),
    "circular-5d-input": lambda L: L.F.pad(r(L, 1, 1, 1, 2, 2), (1, 1, 1, 1), mode="circular"),
    "unknown-mode": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (1, 1, 1, 1), mode="wrap"),
    "zeros-is-not-a-mode": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (1, 1, 1, 1), mode="zeros"),
    "reflect-with-value": lambda L: L.F.pad(r(L, 1, 1, 2, 2), (1, 1, 1, 1), mode="reflect",
                                            value=1.0),
    "replicate-empty-dim": lambda L: L.F.pad(r(L, 1, 1, 0, 2), (1, 1, 1, 1), mode="replicate"),
    "reflect-empty-dim": lambda L: L.F.pad(r(L, 1, 1, 0, 2), (1, 1, 1, 1), mode="reflect"),
}


@pytest.mark.parametrize("case", PAD.values(), ids=PAD.keys())
def test_pad_errors(case):
    both(case)


def test_valid_inputs_do_not_raise():
    """Guard for the cases above: the nearby valid calls work in both libraries."""
    for L in (OURS, TORCH):
        assert tuple(L.F.conv2d(r(L, 1, 5, 5), r(L, 2, 1, 3, 3)).shape) == (2, 3, 3)
        assert tuple(L.F.conv2d(r(L, 1, 1, 1, 1), r(L, 1, 1, 3, 3), padding=1).shape) == (
            1, 1, 1, 1)
        assert tuple(L.F.conv2d(r(L, 1, 1, 5, 5), r(L, 1, 1, 3, 3), dilation=3,
                                padding=1).shape) == (1, 1, 1, 1)
        assert tuple(L.F.pad(r(L, 1, 1, 2, 2), (2, 2, 2, 2), mode="circular").shape) == (
            1, 1, 6, 6)
        assert tuple(L.F.pad(r(L, 1, 1, 2, 2), (1, 1, 1, 1), mode="reflect").shape) == (
            1, 1, 4, 4)
        conv = build(L, (3, 4, 3), {"padding": 2, "padding_mode": "circular"})
        assert tuple(conv(r(L, 1, 3, 2, 2)).shape) == (1, 4, 4, 4)
        conv = build(L, (3, 4, 3), {"padding": 2, "padding_mode": "replicate"})
        assert tuple(conv(r(L, 1, 3, 1, 1)).shape) == (1, 4, 3, 3)
