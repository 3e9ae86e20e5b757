"""Misuse of conv1d, the transposed convs, their modules, the lazy convs and the 1-d pools:
PyTorch's exception type and message, written once per case against a namespace `L` and run on
both libraries (tests/catalogue.py). conv2d's own catalogue is tests/test_conv_errors.py."""
import numpy as np
import pytest
from catalogue import both, params, r, same_result

x4 = lambda L: r(L, 1, 2, 5, 5)                 # noqa: E731 - the common input and weight
w4 = lambda L: r(L, 2, 3, 3, 3)                 # noqa: E731 - (C, O // groups, KH, KW)
T2 = lambda L, *a, **k: L.F.conv_transpose2d(*a, **k)       # noqa: E731
T1 = lambda L, *a, **k: L.F.conv_transpose1d(*a, **k)       # noqa: E731

CONV_TRANSPOSE2D = {
    # the argument parser: one signature, the argument named
    "stride-float": lambda L: T2(L, x4(L), w4(L), stride=1.5),
    "stride-float-positional": lambda L: T2(L, x4(L), w4(L), None, 1.5),
    "stride-tuple-float-second": lambda L: T2(L, x4(L), w4(L), stride=(1, 1.5)),
    "stride-tuple-float-first-positional": lambda L: T2(L, x4(L), w4(L), None, (1.5, 1)),
    "stride-tuple-float-first-keyword": lambda L: T2(L, x4(L), w4(L), stride=(1.5, 1)),
    "stride-tuple-bool-first": lambda L: T2(L, x4(L), w4(L), stride=(True, 1)),
    "stride-tuple-none-second": lambda L: T2(L, x4(L), w4(L), stride=(1, None)),
    "stride-none": lambda L: T2(L, x4(L), w4(L), stride=None),
    "stride-bool": lambda L: T2(L, x4(L), w4(L), stride=True),
    "stride-float-tensor": lambda L: T2(L, x4(L), w4(L), stride=L.lib.tensor(1.0)),
    "padding-string": lambda L: T2(L, x4(L), w4(L), padding="same"),
    "groups-float": lambda L: T2(L, x4(L), w4(L), groups=1.5),
    "groups-float-positional": lambda L: T2(L, x4(L), w4(L), None, 1, 0, 0, 1.5),
    "groups-bool": lambda L: T2(L, x4(L), w4(L), groups=True),
    "bias-float": lambda L: T2(L, x4(L), w4(L), 1.0),
    "input-numpy": lambda L: T2(L, np.ones((1, 2, 5, 5), "float32"), w4(L)),
    "missing-weight": lambda L: T2(L, x4(L)),
    "missing-both": lambda L: T2(L),
    "missing-input-weight-by-keyword": lambda L: T2(L, weight=w4(L)),
    "unknown-keyword": lambda L: T2(L, x4(L), w4(L), foo=1),
    "unknown-keyword-after-bad-type": lambda L: T2(L, x4(L), w4(L), foo=1, stride=1.5),
    "too-many-positional": lambda L: T2(L, x4(L), w4(L), None, 1, 0, 0, 1, 1, 1),
    "given-twice": lambda L: T2(L, x4(L), w4(L), None, 1, stride=2),
    "bad-type-before-missing": lambda L: T2(L, 1.5),
    "types-first-to-last": lambda L: T2(L, x4(L), w4(L), stride=1.5, groups=1.5),
    "groups-2**64": lambda L: T2(L, x4(L), w4(L), groups=2 ** 64),
    "stride-2**64": lambda L: T2(L, x4(L), w4(L), stride=2 ** 64),
    "stride-tuple-2**64": lambda L: T2(L, x4(L), w4(L), stride=(2 ** 64, 1)),
    "output-padding-2**64": lambda L: T2(L, x4(L), w4(L), output_padding=(1, 2 ** 64)),
    "unpacked-last-to-first": lambda L: T2(L, x4(L), w4(L), stride=(1, 1.5),
                                           output_padding=(1, 1.5), padding=(1, 1.5)),
    "dilation-before-stride": lambda L: T2(L, x4(L), w4(L), stride=(1, 2 ** 64),
                                           dilation=(1, 1.5)),
    "dilation-before-groups": lambda L: T2(L, x4(L), w4(L), groups=2 ** 64,
                                           dilation=(1, 1.5)),
    # shapes and values, in PyTorch's order
    "input-2d": lambda L: T2(L, r(L, 5, 5), w4(L)),
    "input-5d": lambda L: T2(L, r(L, 1, 1, 2, 5, 5), w4(L)),
    "weight-2d": lambda L: T2(L, x4(L), r(L, 2, 3)),
    "weight-3d": lambda L: T2(L, x4(L), r(L, 2, 3, 3)),
    "weight-5d": lambda L: T2(L, x4(L), r(L, 2, 3, 3, 3, 3)),
    "weight-5d-lengths-1": lambda L: T2(L, x4(L), r(L, 2, 3, 3, 3, 3), stride=(1,),
                                        padding=(0,), dilation=(1,), output_padding=(0,)),
    "groups-0": lambda L: T2(L, x4(L), w4(L), groups=0),
    "groups-above-weight": lambda L: T2(L, x4(L), w4(L), groups=3),
    "weight-not-divisible": lambda L: T2(L, r(L, 1, 3, 5, 5), r(L, 3, 3, 3, 3), groups=2),
    "stride-0": lambda L: T2(L, x4(L), w4(L), stride=0),
    "stride-3-tuple": lambda L: T2(L, x4(L), w4(L), stride=(1, 1, 1)),
    "stride-empty": lambda L: T2(L, x4(L), w4(L), stride=[]),
    "padding-negative": lambda L: T2(L, x4(L), w4(L), padding=-1),
    "output-padding-negative": lambda L: T2(L, x4(L), w4(L), output_padding=-1),
    "output-padding-3-tuple": lambda L: T2(L, x4(L), w4(L), output_padding=(1, 1, 1)),
    "output-padding-equals-stride": lambda L: T2(L, x4(L), w4(L), output_padding=1),
    "output-padding-2-stride-2": lambda L: T2(L, x4(L), w4(L), output_padding=2, stride=2),
    "output-padding-width-only": lambda L: T2(L, x4(L), w4(L), output_padding=(0, 2),
                                              stride=2),
    "dilation-0": lambda L: T2(L, x4(L), w4(L), dilation=0),
    "dilation-negative": lambda L: T2(L, x4(L), w4(L), dilation=-1),
    "channels": lambda L: T2(L, r(L, 1, 3, 5, 5), w4(L)),
    "channels-unbatched": lambda L: T2(L, r(L, 3, 5, 5), w4(L)),
    "bias-size": lambda L: T2(L, x4(L), w4(L), r(L, 2)),
    "bias-size-groups": lambda L: T2(L, x4(L), w4(L), r(L, 3), groups=2),
    "kernel-0": lambda L: T2(L, x4(L), r(L, 2, 3, 0, 3)),
    "weight-empty": lambda L: T2(L, x4(L), r(L, 2, 0, 3, 3)),
    "weight-no-in-channels": lambda L: T2(L, r(L, 1, 0, 5, 5), r(L, 0, 3, 3, 3)),
    "output-too-small": lambda L: T2(L, r(L, 1, 2, 1, 1), w4(L), padding=2),
    "output-too-small-height": lambda L: T2(L, r(L, 1, 2, 1, 4), w4(L), padding=(2, 0)),
    "empty-height": lambda L: T2(L, r(L, 1, 2, 0, 4), w4(L)),
    "padding-above-bound": lambda L: T2(L, x4(L), w4(L), padding=2 ** 62),
    "padding-near-bound": lambda L: T2(L, x4(L), w4(L), padding=2 ** 62 - 1),
    "padding-2**31": lambda L: T2(L, x4(L), w4(L), padding=2 ** 31),
    "stride-2**32-reads-0": lambda L: T2(L, x4(L), w4(L), stride=2 ** 32),
    "weight-dtype": lambda L: T2(L, x4(L), r(L, 2, 3, 3, 3, dtype="float64")),
    "weight-int": lambda L: T2(L, x4(L), L.lib.ones(2, 3, 3, 3, dtype=L.lib.int64)),
    "input-int-weight-float": lambda L: T2(L, L.lib.ones(1, 2, 5, 5, dtype=L.lib.int64), w4(L)),
    "input-int32": lambda L: T2(L, L.lib.ones(1, 2, 5, 5, dtype=L.lib.int32),
                                L.lib.ones(2, 3, 3, 3, dtype=L.lib.int32)),
    "half-input-float-bias": lambda L: T2(L, r(L, 1, 2, 5, 5, dtype="float16"),
                                         r(L, 2, 3, 3, 3, dtype="float16"), r(L, 3)),
}

# Several problems at once: the first check PyTorch makes decides the message.
CHECK_ORDER = {
    "rank-before-weight-rank": lambda L: T2(L, r(L, 5, 5), r(L, 2, 3)),
    "lengths-stride-padding-dilation-output-padding": lambda L: T2(
        L, x4(L), w4(L), dilation=(1, 1, 1), output_padding=(1, 1, 1), padding=(1, 1, 1)),
    "dilation-length-before-output-padding-length": lambda L: T2(
        L, x4(L), w4(L), dilation=(1, 1, 1), output_padding=(1, 1, 1)),
    "output-padding-length-before-padding-sign": lambda L: T2(
        L, x4(L), w4(L), padding=-1, output_padding=(1, 1, 1)),
    "padding-sign-before-output-padding-sign": lambda L: T2(L, x4(L), w4(L), padding=-1,
                                                            output_padding=-1),
    "output-padding-sign-before-stride": lambda L: T2(L, x4(L), w4(L), stride=0,
                                                      output_padding=-1),
    "stride-before-dilation-sign": lambda L: T2(L, x4(L), w4(L), stride=0, dilation=-1),
    "dilation-sign-before-weight-rank": lambda L: T2(
        L, x4(L), r(L, 2, 3, 3, 3, 3), stride=(1,), padding=(0,), dilation=(-1,),
        output_padding=(0,)),
    "groups-before-channels": lambda L: T2(L, r(L, 1, 3, 5, 5), w4(L), groups=3),
    "padding-bound-before-channels": lambda L: T2(L, r(L, 1, 3, 5, 5), w4(L), padding=2 ** 62),
    "channels-before-bias": lambda L: T2(L, r(L, 1, 3, 5, 5), w4(L), r(L, 2)),
    "channels-before-kernel": lambda L: T2(L, r(L, 1, 3, 5, 5), r(L, 2, 3, 0, 3)),
    "bias-before-kernel": lambda L: T2(L, x4(L), r(L, 2, 3, 0, 3), r(L, 2)),
    "empty-before-output-padding": lambda L: T2(L, r(L, 1, 2, 0, 5), w4(L), output_padding=1),
    "empty-before-weight-empty": lambda L: T2(L, r(L, 1, 2, 0, 5), r(L, 2, 0, 3, 3)),
    "kernel-before-stride-2**32": lambda L: T2(L, x4(L), r(L, 2, 3, 0, 3), stride=2 ** 32),
    "stride-2**32-before-dilation": lambda L: T2(L, x4(L), w4(L), stride=2 ** 32, dilation=0),
    "dilation-before-output-padding": lambda L: T2(L, x4(L), w4(L), output_padding=1,
                                                   dilation=0),
    "output-padding-before-weight-empty": lambda L: T2(L, x4(L), r(L, 2, 0, 3, 3),
                                                       output_padding=1),
    "weight-empty-before-output-size": lambda L: T2(L, r(L, 1, 2, 1, 1), r(L, 2, 0, 3, 3),
                                                    padding=2),
    "output-padding-before-weight-dtype": lambda L: T2(
        L, x4(L), r(L, 2, 3, 3, 3, dtype="float64"), output_padding=1),
    "output-size-before-weight-dtype": lambda L: T2(
        L, r(L, 1, 2, 1, 1), r(L, 2, 3, 3, 3, dtype="float64"), padding=2),
    "negative-size-before-weight-dtype": lambda L: T2(
        L, x4(L), r(L, 2, 3, 3, 3, dtype="float64"), padding=2 ** 31),
}

CONV_TRANSPOSE1D = {
    "input-1d": lambda L: T1(L, r(L, 5), r(L, 2, 3, 3)),
    "input-4d": lambda L: T1(L, x4(L), r(L, 2, 3, 3)),
    "weight-4d": lambda L: T1(L, r(L, 1, 2, 5), w4(L)),
    "stride-2-tuple": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 3, 3), stride=(1, 1)),
    "channels": lambda L: T1(L, r(L, 1, 3, 5), r(L, 2, 3, 3)),
    "channels-unbatched": lambda L: T1(L, r(L, 3, 5), r(L, 2, 3, 3)),
    "bias-size": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 3, 3), r(L, 2)),
    "output-padding": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 3, 3), output_padding=1),
    "output-too-small": lambda L: T1(L, r(L, 1, 2, 1), r(L, 2, 3, 3), padding=3),
    "kernel-0": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 3, 0)),
    "dilation-0": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 3, 3), dilation=0),
    "weight-empty": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 0, 3)),
    "empty-length": lambda L: T1(L, r(L, 1, 2, 0), r(L, 2, 3, 3)),
    "stride-float": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 3, 3), stride=1.5),
    "padding-string": lambda L: T1(L, r(L, 1, 2, 5), r(L, 2, 3, 3), padding="same"),
}

C1 = lambda L, *a, **k: L.F.conv1d(*a, **k)                 # noqa: E731
x3 = lambda L: r(L, 1, 2, 5)                    # noqa: E731
w3 = lambda L: r(L, 3, 2, 3)                    # noqa: E731

CONV1D = {
    "stride-float": lambda L: C1(L, x3(L), w3(L), stride=1.5),
    "stride-bool": lambda L: C1(L, x3(L), w3(L), stride=True),
    "stride-2**64-in-tuple": lambda L: C1(L, x3(L), w3(L), stride=(2 ** 64,)),
    "missing-weight": lambda L: C1(L, x3(L)),
    "input-1d": lambda L: C1(L, r(L, 5), w3(L)),
    "input-4d": lambda L: C1(L, x4(L), w3(L)),
    "weight-2d": lambda L: C1(L, x3(L), r(L, 3, 2)),
    "weight-4d": lambda L: C1(L, x3(L), r(L, 3, 2, 3, 3)),
    "channels": lambda L: C1(L, r(L, 1, 3, 5), w3(L)),
    "channels-unbatched": lambda L: C1(L, r(L, 3, 5), w3(L)),
    "kernel-too-large": lambda L: C1(L, r(L, 1, 2, 2), w3(L)),
    "dilated-kernel-too-large": lambda L: C1(L, x3(L), w3(L), dilation=3),
    "kernel-0": lambda L: C1(L, x3(L), r(L, 3, 2, 0)),
    "dilation-0": lambda L: C1(L, x3(L), w3(L), dilation=0),
    "dilation-0-kernel-0": lambda L: C1(L, x3(L), r(L, 3, 2, 0), dilation=0),
    "stride-0": lambda L: C1(L, x3(L), w3(L), stride=0),
    "stride-2-tuple": lambda L: C1(L, x3(L), w3(L), stride=(1, 1)),
    "stride-tuple-bool-second": lambda L: C1(L, x3(L), w3(L), stride=(1, True)),
    "stride-tuple-bool-first": lambda L: C1(L, x3(L), w3(L), stride=(True,)),
    "padding-2-tuple": lambda L: C1(L, x3(L), w3(L), padding=(1, 1)),
    "padding-negative": lambda L: C1(L, x3(L), w3(L), padding=-1),
    "padding-above-bound": lambda L: C1(L, x3(L), w3(L), padding=2 ** 62),
    "padding-sum-wraps": lambda L: C1(L, x3(L), w3(L), padding=2 ** 62 - 1),
    "same-strided": lambda L: C1(L, x3(L), w3(L), padding="same", stride=2),
    "same-weight-2d": lambda L: C1(L, x3(L), r(L, 3, 2), padding="same"),
    "same-weight-4d": lambda L: C1(L, x3(L), r(L, 3, 2, 3, 3), padding="same"),
    "padding-string": lambda L: C1(L, x3(L), w3(L), padding="full"),
    "bias-size": lambda L: C1(L, x3(L), w3(L), r(L, 2)),
    "bias-dtype": lambda L: C1(L, x3(L), w3(L), r(L, 3, dtype="float64")),
    "weight-dtype": lambda L: C1(L, x3(L), r(L, 3, 2, 3, dtype="float64")),
    "groups-0": lambda L: C1(L, x3(L), w3(L), groups=0),
    "groups-not-divisible": lambda L: C1(L, r(L, 1, 4, 5), w3(L), groups=2),
    "zero-out-channels": lambda L: C1(L, x3(L), r(L, 0, 2, 3)),
    "empty-length": lambda L: C1(L, r(L, 1, 2, 0), w3(L)),
    "empty-length-padded": lambda L: C1(L, r(L, 1, 2, 0), r(L, 3, 2, 1), padding=1),
    "empty-height-conv2d-padded": lambda L: L.F.conv2d(r(L, 1, 2, 0, 3), r(L, 3, 2, 1, 1),
                                                       padding=1),
}

MODULES = {
    "transpose-reflect": lambda L: L.nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect"),
    "transpose1d-circular": lambda L: L.nn.ConvTranspose1d(2, 3, 3, padding_mode="circular"),
    "transpose-mode-before-groups": lambda L: L.nn.ConvTranspose2d(
        3, 3, 3, groups=2, padding_mode="reflect"),
    "transpose-groups": lambda L: L.nn.ConvTranspose2d(3, 4, 3, groups=2),
    "transpose-groups-0": lambda L: L.nn.ConvTranspose2d(3, 4, 3, groups=0),
    "transpose-output-size-length": lambda L: L.nn.ConvTranspose2d(2, 3, 3, stride=2)(
        x4(L), output_size=[11]),
    "transpose-output-size-length-unbatched": lambda L: L.nn.ConvTranspose2d(2, 3, 3)(
        r(L, 2, 5, 5), output_size=[1, 2, 7, 7]),
    "transpose-output-size-too-big": lambda L: L.nn.ConvTranspose2d(2, 3, 3, stride=2)(
        x4(L), output_size=[11, 13]),
    "transpose-output-size-too-small": lambda L: L.nn.ConvTranspose2d(2, 3, 3, stride=2)(
        x4(L), output_size=(10, 11)),
    "transpose1d-output-size": lambda L: L.nn.ConvTranspose1d(2, 3, 3, stride=2)(
        r(L, 1, 2, 5), output_size=[14]),
    "conv1d-groups": lambda L: L.nn.Conv1d(3, 4, 3, groups=2),
    "conv1d-same-strided": lambda L: L.nn.Conv1d(3, 4, 3, padding="same", stride=2),
    "conv1d-forward-channels": lambda L: L.nn.Conv1d(3, 4, 3)(r(L, 1, 2, 5)),
    "conv1d-reflect-too-short": lambda L: L.nn.Conv1d(3, 4, 3, padding=2,
                                                      padding_mode="reflect")(r(L, 1, 3, 2)),
    "conv1d-forward-3d-weight-on-2d": lambda L: L.nn.Conv1d(3, 4, 3)(r(L, 5)),
    "lazy-conv2d-rank": lambda L: L.nn.LazyConv2d(4, 3)(r(L, 5, 5)),
    "lazy-conv1d-rank": lambda L: L.nn.LazyConv1d(4, 3)(x4(L)),
    "lazy-conv-transpose2d-rank": lambda L: L.nn.LazyConvTranspose2d(4, 3)(r(L, 1, 1, 2, 5, 5)),
    "lazy-groups": lambda L: L.nn.LazyConv2d(4, 3, groups=2)(r(L, 1, 3, 5, 5)),
    "lazy-uninitialized-shape": lambda L: L.nn.LazyConv2d(4, 3).weight.shape,
}

MP1 = lambda L, *a, **k: L.F.max_pool1d(*a, **k)             # noqa: E731
p3 = lambda L: r(L, 2, 3, 10)                   # noqa: E731
POOLS = {
    "max-kernel-2": lambda L: MP1(L, p3(L), (3, 3)),
    "max-kernel-0": lambda L: MP1(L, p3(L), 0),
    "max-stride-0": lambda L: MP1(L, p3(L), 2, 0),
    "max-stride-2": lambda L: MP1(L, p3(L), 2, (1, 1)),
    "max-padding-2": lambda L: MP1(L, p3(L), 3, 1, (1, 1)),
    "max-dilation-2": lambda L: MP1(L, p3(L), 3, 1, 1, (1, 1)),
    "max-padding-big": lambda L: MP1(L, p3(L), 2, padding=2),
    "max-padding-negative": lambda L: MP1(L, p3(L), 2, padding=-1),
    "max-dilation-0": lambda L: MP1(L, p3(L), 2, dilation=0),
    "max-4d": lambda L: MP1(L, x4(L), 2),
    "max-1d": lambda L: MP1(L, r(L, 10), 2),
    "max-too-small": lambda L: MP1(L, r(L, 2, 3, 2), 3),
    "max-empty": lambda L: MP1(L, r(L, 2, 3, 0), 1),
    "max-no-channels": lambda L: MP1(L, r(L, 2, 0, 10), 3),
    "max-kernel-float": lambda L: MP1(L, p3(L), 2.5),
    "max-int": lambda L: MP1(L, L.lib.ones(2, 3, 10, dtype=L.lib.int64), 3),
    "max-bool": lambda L: MP1(L, L.lib.ones(2, 3, 10, dtype=L.lib.bool), 3),
    "max-4d-before-kernel": lambda L: MP1(L, x4(L), (3, 3), 0),
    "max-indices-kernel-2": lambda L: MP1(L, p3(L), (3, 3), return_indices=True),
    "max-indices-kernel-0": lambda L: MP1(L, p3(L), 0, return_indices=True),
    "max-indices-padding-big": lambda L: MP1(L, p3(L), 2, padding=2, return_indices=True),
    "max-indices-padding-negative": lambda L: MP1(L, p3(L), 2, padding=-1,
                                                  return_indices=True),
    "max-indices-dilation-0": lambda L: MP1(L, p3(L), 2, dilation=0, return_indices=True),
    "max-indices-4d": lambda L: MP1(L, x4(L), 2, return_indices=True),
    "max-indices-too-small": lambda L: MP1(L, r(L, 2, 3, 2), 3, return_indices=True),
    "max-indices-empty": lambda L: MP1(L, r(L, 2, 3, 0), 1, return_indices=True),
    "avg-kernel-2": lambda L: L.F.avg_pool1d(p3(L), (3, 3)),
    "avg-kernel-0": lambda L: L.F.avg_pool1d(p3(L), 0),
    "avg-stride-2": lambda L: L.F.avg_pool1d(p3(L), 2, (1, 1)),
    "avg-padding-2": lambda L: L.F.avg_pool1d(p3(L), 2, 1, (1, 1)),
    "avg-padding-big": lambda L: L.F.avg_pool1d(p3(L), 2, padding=2),
    "avg-padding-negative": lambda L: L.F.avg_pool1d(p3(L), 2, padding=-1),
    "avg-4d": lambda L: L.F.avg_pool1d(x4(L), 2),
    "avg-1d": lambda L: L.F.avg_pool1d(r(L, 10), 2),
    "avg-too-small": lambda L: L.F.avg_pool1d(r(L, 2, 3, 2), 3),
    "avg-kernel-float": lambda L: L.F.avg_pool1d(p3(L), 2.5),
    "avg-4d-before-kernel": lambda L: L.F.avg_pool1d(x4(L), (3, 3)),
    "adaptive-avg-2": lambda L: L.F.adaptive_avg_pool1d(p3(L), (4, 4)),
    "adaptive-avg-negative": lambda L: L.F.adaptive_avg_pool1d(p3(L), -1),
    "adaptive-avg-4d": lambda L: L.F.adaptive_avg_pool1d(x4(L), 2),
    "adaptive-avg-1d": lambda L: L.F.adaptive_avg_pool1d(r(L, 10), 2),
    "adaptive-avg-none": lambda L: L.F.adaptive_avg_pool1d(p3(L), None),
    "adaptive-avg-float": lambda L: L.F.adaptive_avg_pool1d(p3(L), 2.5),
    "adaptive-avg-empty": lambda L: L.F.adaptive_avg_pool1d(r(L, 2, 3, 0), 2),
    "adaptive-max-2": lambda L: L.F.adaptive_max_pool1d(p3(L), (4, 4)),
    "adaptive-max-negative": lambda L: L.F.adaptive_max_pool1d(p3(L), -1),
    "adaptive-max-4d": lambda L: L.F.adaptive_max_pool1d(x4(L), 2),
    "adaptive-max-empty": lambda L: L.F.adaptive_max_pool1d(r(L, 2, 3, 0), 2),
    "adaptive-max-length-before-empty": lambda L: L.F.adaptive_max_pool1d(r(L, 2, 3, 0),
                                                                          (2, 2)),
    "adaptive-max-int": lambda L: L.F.adaptive_max_pool1d(
        L.lib.ones(2, 3, 10, dtype=L.lib.int64), 3),
    "adaptive-max-float": lambda L: L.F.adaptive_max_pool1d(p3(L), 2.5),
    "adaptive-avg-2d-empty-width": lambda L: L.F.adaptive_avg_pool2d(r(L, 2, 3, 4, 0), 2),
}


@pytest.mark.parametrize("case", params(CONV_TRANSPOSE2D))
def test_conv_transpose2d_errors(case):
    both(case)


@pytest.mark.parametrize("case", params(CHECK_ORDER))
def test_conv_transpose2d_check_order(case):
    both(case)


@pytest.mark.parametrize("case", params(CONV_TRANSPOSE1D))
def test_conv_transpose1d_errors(case):
    both(case)


@pytest.mark.parametrize("case", params(CONV1D))
def test_conv1d_errors(case):
    both(case)


@pytest.mark.parametrize("case", params(MODULES))
def test_module_errors(case):
    both(case)


@pytest.mark.parametrize("case", params(POOLS))
def test_pool1d_errors(case):
    both(case)


# Near misses of the cases above: inputs both libraries accept, same shape, dtype and values.
ACCEPTED = {
    "transpose-zero-batch": lambda L: T2(L, r(L, 0, 2, 5, 5), w4(L), r(L, 3)),
    "transpose-zero-batch-output-padding": lambda L: T2(L, r(L, 0, 2, 5, 5), w4(L),
                                                        output_padding=1),
    "transpose-zero-batch-weight-dtype": lambda L: T2(L, r(L, 0, 2, 5, 5),
                                                      r(L, 2, 3, 3, 3, dtype="float64")),
    "transpose-output-padding-under-dilation": lambda L: T2(L, x4(L), w4(L), output_padding=1,
                                                            dilation=2),
    "transpose-bias-float64": lambda L: T2(L, x4(L), w4(L), r(L, 3, dtype="float64")),
    "transpose-stride-numpy-int": lambda L: T2(L, x4(L), w4(L), stride=np.int64(2)),
    "transpose-stride-int-tensor": lambda L: T2(L, x4(L), w4(L), stride=L.lib.tensor(2)),
    "transpose-groups-numpy-int": lambda L: T2(L, x4(L), w4(L), groups=np.int64(1)),
    "transpose-keywords-only": lambda L: T2(L, input=x4(L), weight=w4(L), dilation=2),
    "transpose-output-size-zero-column": lambda L: T2(L, r(L, 1, 2, 1, 1), w4(L),
                                                      padding=(1, 0)),
    "conv1d-zero-batch": lambda L: C1(L, r(L, 0, 2, 5), w3(L)),
    "conv1d-no-channels": lambda L: C1(L, r(L, 1, 0, 5), r(L, 3, 0, 3)),
    "conv2d-stride-tuple-bool-second": lambda L: L.F.conv2d(x4(L), r(L, 2, 2, 3, 3),
                                                            stride=(1, True)),
    "max-pool1d-zero-batch": lambda L: MP1(L, r(L, 0, 3, 5), 2),
    "max-pool1d-indices-int": lambda L: MP1(L, L.lib.ones(2, 3, 10, dtype=L.lib.int64), 3,
                                            return_indices=True)[0],
    "avg-pool1d-int": lambda L: L.F.avg_pool1d(L.lib.ones(2, 3, 10, dtype=L.lib.int64), 3),
    "adaptive-avg-pool1d-0": lambda L: L.F.adaptive_avg_pool1d(p3(L), 0),
    "adaptive-max-pool1d-0": lambda L: L.F.adaptive_max_pool1d(p3(L), 0),
}


@pytest.mark.parametrize("case", params(ACCEPTED))
def test_near_misses_are_accepted(case):
    same_result(case)
