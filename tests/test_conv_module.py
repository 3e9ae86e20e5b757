"""nn.Conv2d as a Module: repr, parameters, state_dict, initialization, dtype conversion."""
import math

import numpy as np
import pytest
import torch
import torch.nn as torch_nn
from helpers import assert_close, pair, to_numpy

import tatamikomi as tm
import tatamikomi.nn as nn

# (args, kwargs) for nn.Conv2d; dtype names are resolved per library.
CONSTRUCTIONS = [
    ((3, 16, 3), {}),
    ((3, 16, 3), {"padding": 1}),
    ((16, 33, (3, 5)), {"stride": (2, 1), "padding": (4, 2), "dilation": (3, 1)}),
    ((4, 8, 3), {"bias": False}),
    ((4, 8, 3), {"groups": 4}),
    ((4, 4, 3), {"groups": 4, "bias": False, "padding": 1}),
    ((3, 6, 5), {"dilation": 2}),
    ((3, 6, 3), {"padding": "same"}),
    ((3, 6, 3), {"padding": "valid"}),
    ((3, 6, 4), {"padding": "same", "dilation": 2, "padding_mode": "reflect"}),
    ((16, 8, 3), {"stride": 2, "padding": 1, "padding_mode": "circular"}),
    ((2, 2, (1, 3)), {"padding": (0, 1), "padding_mode": "replicate", "bias": False}),
    ((3, 6, 3), {"padding": 0, "stride": 1, "dilation": 1, "groups": 1}),
    ((3, 6, (3, 3)), {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)}),
    ((3, 6, 3), {"padding": (0, 1)}),
    ((3, 6, 3), {"stride": (2, 1)}),
    ((3, 6, [3, 2]), {"stride": [2, 1], "padding": [1, 0]}),
    ((3, 6, 3), {"dtype": "float64"}),
    ((), {"in_channels": 1, "out_channels": 32, "kernel_size": 3, "padding": 1}),
    ((3, 64, 7, 2, 3), {"bias": False}),
    ((6, 6, 3, 1, 1, 1, 3, False, "zeros"), {}),
    ((4, 4, 3), {"padding_mode": "zeros", "device": "cpu"}),
    ((4, 4, 3), {"bias": None}),
]
IDS = [f"{a}-{k}" for a, k in CONSTRUCTIONS]


def make(lib_nn, lib, args, kwargs):
    kwargs = dict(kwargs)
    if "dtype" in kwargs:
        kwargs["dtype"] = getattr(lib, kwargs["dtype"])
    return lib_nn.Conv2d(*args, **kwargs)


def copy_state(ours, theirs):
    """Load torch's parameter values into our module through numpy."""
    return ours.load_state_dict({k: tm.tensor(to_numpy(v)) for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("args,kwargs", CONSTRUCTIONS, ids=IDS)
def test_repr_matches_torch(args, kwargs):
    assert repr(make(nn, tm, args, kwargs)) == repr(make(torch_nn, torch, args, kwargs))


def test_repr_examples():
    assert repr(nn.Conv2d(16, 8, 3, stride=2, padding=1, padding_mode="circular")) == (
        "Conv2d(16, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), padding_mode=circular)")
    assert repr(nn.Conv2d(3, 6, 3, padding="same")) == (
        "Conv2d(3, 6, kernel_size=(3, 3), stride=(1, 1), padding=same)")
    assert str(nn.Conv2d(4, 4, 3, groups=4, bias=False)) == (
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), groups=4, bias=False)")


def test_repr_inside_sequential():
    layers = [(1, 2, 3), (2, 2, 3)]
    ours = nn.Sequential(nn.Conv2d(*layers[0]), nn.ReLU(), nn.Conv2d(*layers[1], bias=False))
    theirs = torch_nn.Sequential(torch_nn.Conv2d(*layers[0]), torch_nn.ReLU(),
                                 torch_nn.Conv2d(*layers[1], bias=False))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "0.bias",
                                                                    "2.weight"]


@pytest.mark.parametrize("args,kwargs", CONSTRUCTIONS, ids=IDS)
def test_attributes_and_parameter_shapes(args, kwargs):
    ours, theirs = make(nn, tm, args, kwargs), make(torch_nn, torch, args, kwargs)
    for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                 "groups", "padding_mode"):
        assert getattr(ours, name) == getattr(theirs, name), name
        assert type(getattr(ours, name)) is type(getattr(theirs, name)), name
    assert tuple(ours.weight.shape) == tuple(theirs.weight.shape)
    assert isinstance(ours.weight, nn.Parameter) and ours.weight.requires_grad
    if theirs.bias is None:
        assert ours.bias is None
    else:
        assert tuple(ours.bias.shape) == tuple(theirs.bias.shape)
        assert isinstance(ours.bias, nn.Parameter) and ours.bias.requires_grad


@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_and_parameter_names(bias):
    ours, theirs = nn.Conv2d(3, 6, (3, 2), bias=bias), torch_nn.Conv2d(3, 6, (3, 2), bias=bias)
    keys = ["weight", "bias"] if bias else ["weight"]
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys()) == keys
    assert [n for n, _ in ours.named_parameters()] == keys
    params = list(ours.parameters())
    assert len(params) == len(keys)
    assert params[0] is ours.weight
    assert all(isinstance(p, nn.Parameter) for p in params)
    assert sum(p.numel() for p in params) == sum(p.numel() for p in theirs.parameters())
    for k, v in ours.state_dict().items():
        assert tuple(v.shape) == tuple(theirs.state_dict()[k].shape)


def test_bias_false_is_none():
    conv = nn.Conv2d(2, 4, 3, bias=False)
    assert conv.bias is None
    assert "bias" not in dict(conv.named_parameters())
    y = conv(tm.tensor(np.ones((1, 2, 3, 3), dtype="float32")))
    assert tuple(y.shape) == (1, 4, 1, 1)


@pytest.mark.parametrize("in_c,out_c,k,groups", [(64, 64, 3, 1), (32, 64, (3, 5), 4),
                                                 (64, 128, 5, 64)])
def test_default_init_bounds(in_c, out_c, k, groups):
    """kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same."""
    tm.manual_seed(0)
    conv = nn.Conv2d(in_c, out_c, k, groups=groups)
    kh, kw = (k, k) if isinstance(k, int) else k
    bound = 1 / math.sqrt(in_c // groups * kh * kw)
    w = to_numpy(conv.weight)
    n = w.size  # >= 3200 draws: the limits below are 6 standard errors of U(-b, b) statistics
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 6 * bound / math.sqrt(3 * n)
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=6 * math.sqrt(0.2 / n))
    assert len(np.unique(w)) > 0.99 * n
    b = to_numpy(conv.bias)
    assert np.abs(b).max() <= bound
    assert len(np.unique(b)) == b.size and np.abs(b).max() > 0.5 * bound


def test_default_init_bias_statistics():
    tm.manual_seed(1)
    conv = nn.Conv2d(4, 4096, 1)  # fan_in = 4: bound 0.5 for both tensors
    b = to_numpy(conv.bias)
    assert np.abs(b).max() <= 0.5 and np.abs(b).max() > 0.49
    assert abs(b.mean()) < 0.03
    np.testing.assert_allclose(b.std(), 0.5 / math.sqrt(3), rtol=0.06)


def test_manual_seed_makes_init_reproducible():
    tm.manual_seed(0)
    a = nn.Conv2d(3, 8, 3)
    tm.manual_seed(0)
    b = nn.Conv2d(3, 8, 3)
    c = nn.Conv2d(3, 8, 3)  # the generator moved on
    np.testing.assert_array_equal(to_numpy(a.weight), to_numpy(b.weight))
    np.testing.assert_array_equal(to_numpy(a.bias), to_numpy(b.bias))
    assert not np.array_equal(to_numpy(b.weight), to_numpy(c.weight))
    tm.manual_seed(1)
    d = nn.Conv2d(3, 8, 3)
    assert not np.array_equal(to_numpy(a.weight), to_numpy(d.weight))


def dtype_name(t):
    return str(t.dtype).split(".")[-1]


def test_double_float_to_keep_parameters():
    conv = nn.Conv2d(2, 3, 3)
    w0 = to_numpy(conv.weight).astype("float64")
    assert conv.double() is conv
    assert dtype_name(conv.weight) == dtype_name(conv.bias) == "float64"
    assert isinstance(conv.weight, nn.Parameter) and conv.weight.requires_grad
    np.testing.assert_array_equal(to_numpy(conv.weight), w0)
    y = conv(tm.tensor(np.ones((1, 2, 4, 4))))
    assert dtype_name(y) == "float64"
    conv.float()
    assert dtype_name(conv.weight) == dtype_name(conv.bias) == "float32"
    assert isinstance(conv.bias, nn.Parameter) and conv.bias.requires_grad
    assert conv.to(tm.float64) is conv
    assert dtype_name(conv.weight) == "float64" and isinstance(conv.weight, nn.Parameter)
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]


def test_double_then_backward_reaches_parameters():
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    conv(tm.tensor(np.ones((1, 2, 4, 4)))).sum().backward()
    assert tuple(conv.weight.grad.shape) == (3, 2, 3, 3)
    assert dtype_name(conv.weight.grad) == "float64"
    np.testing.assert_allclose(to_numpy(conv.bias.grad), np.full(3, 16.0))


def test_dtype_constructor_argument():
    conv = nn.Conv2d(2, 3, 3, dtype=tm.float64)
    assert dtype_name(conv.weight) == dtype_name(conv.bias) == "float64"
    bound = 1 / math.sqrt(2 * 9)
    assert np.abs(to_numpy(conv.weight)).max() <= bound
    assert dtype_name(nn.Conv2d(2, 3, 3, dtype=tm.float32).weight) == "float32"


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_load_state_dict_gives_equal_outputs(mode, dtype):
    kwargs = {"stride": (1, 2), "padding": (1, 2), "groups": 2, "padding_mode": mode}
    theirs = torch_nn.Conv2d(4, 6, (3, 2), **kwargs, dtype=getattr(torch, dtype))
    ours = nn.Conv2d(4, 6, (3, 2), **kwargs, dtype=getattr(tm, dtype))
    copy_state(ours, theirs)
    np.testing.assert_array_equal(to_numpy(ours.weight), to_numpy(theirs.weight))
    assert isinstance(ours.weight, nn.Parameter)
    x, tx = pair(np.random.default_rng(0).standard_normal((2, 4, 5, 6)).astype(dtype))
    assert_close(ours(x), theirs(tx), dtype)


def test_load_state_dict_rejects_wrong_shape():
    theirs = torch_nn.Conv2d(3, 6, 3)
    ours = nn.Conv2d(3, 6, 5)
    with pytest.raises(RuntimeError):
        copy_state(ours, theirs)
    with pytest.raises(RuntimeError):
        theirs.load_state_dict(torch_nn.Conv2d(3, 6, 5).state_dict())


def test_unbatched_forward_and_parameter_grads():
    theirs = torch_nn.Conv2d(3, 4, 3, padding=1)
    ours = nn.Conv2d(3, 4, 3, padding=1)
    copy_state(ours, theirs)
    x, tx = pair(np.random.default_rng(1).standard_normal((3, 5, 4)).astype("float32"))
    y, ty = ours(x), theirs(tx)
    assert tuple(y.shape) == (4, 5, 4)
    assert_close(y, ty, "float32")
    y.sum().backward()
    ty.sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad, "float32", scale=10)
    assert_close(ours.bias.grad, theirs.bias.grad, "float32", scale=10)
