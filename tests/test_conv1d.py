"""conv1d, nn.Conv1d and the 1-d pools against PyTorch: values, gradients, every kernel that can
run the 2-d conv underneath (H = 1), padding modes, reprs and state."""
import numpy as np
import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from helpers import pair, to_numpy
from test_conv_transpose import arrays, close, run_both, supporting

import tatamikomi as tm
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F

DTYPES = ["float32", "float64"]

# (id, input shape, weight shape (O, C // groups, K), bias?, kwargs)
GRID = [
    ("basic", (2, 3, 9), (4, 3, 3), True, {}),
    ("no-bias", (2, 3, 9), (4, 3, 2), False, {}),
    ("stride", (2, 3, 10), (4, 3, 3), True, dict(stride=3)),
    ("padding", (2, 3, 6), (4, 3, 5), True, dict(padding=3)),
    ("padding-tuple", (1, 2, 6), (3, 2, 3), True, dict(padding=(1,), stride=(2,))),
    ("dilation", (1, 2, 12), (3, 2, 3), True, dict(dilation=4, padding=2)),
    ("same-odd", (2, 3, 8), (4, 3, 3), True, dict(padding="same")),
    ("same-even-dilated", (2, 3, 8), (4, 3, 4), True, dict(padding="same", dilation=3)),
    ("valid", (2, 3, 8), (4, 3, 4), True, dict(padding="valid", stride=2)),
    ("groups", (2, 4, 8), (6, 2, 3), True, dict(groups=2)),
    ("depthwise", (2, 4, 8), (4, 1, 5), True, dict(groups=4, padding=2)),
    ("1x1", (2, 8, 7), (16, 8, 1), True, {}),
    ("big-kernel", (1, 16, 40), (16, 16, 9), True, dict(padding=4)),
    ("audio-ish", (2, 32, 200), (32, 32, 9), True, dict(padding=4)),
    ("one-channel", (2, 1, 50), (16, 1, 11), True, dict(stride=2)),
    ("unbatched", (3, 9), (4, 3, 3), True, dict(stride=2)),
    ("zero-batch", (0, 3, 9), (4, 3, 3), True, {}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,bias,kwargs", [c[1:] for c in GRID], ids=[c[0] for c in GRID])
def test_conv1d_grid(xs, ws, bias, kwargs, dtype):
    x, w, _ = arrays(xs, ws, False)
    b = np.random.default_rng(1).standard_normal(ws[0]) if bias else None
    run_both("conv1d", x, w, b, dtype, **kwargs)
    if xs[0]:
        for name in supporting("conv1d", xs, ws, False, kwargs):
            run_both("conv1d", x, w, b, dtype, kernel=name, **kwargs)


def test_conv1d_is_conv2d_with_one_row():
    """The 2-d conv of the same data with H = 1 is the oracle we ride on: equal to the bit."""
    x, w, b = arrays((2, 3, 9), (4, 3, 3), False)
    y1 = F.conv1d(tm.tensor(x), tm.tensor(w), stride=2, padding=1)
    y2 = F.conv2d(tm.tensor(x[:, :, None]), tm.tensor(w[:, :, None]), stride=(1, 2),
                  padding=(0, 1))
    np.testing.assert_array_equal(y1.numpy(), y2.numpy()[:, :, 0])


def test_conv1d_int64_as_pytorch():
    rng = np.random.default_rng(0)
    x, w = rng.integers(-5, 5, (2, 3, 7)), rng.integers(-5, 5, (4, 3, 3))
    ours, theirs = F.conv1d(tm.tensor(x), tm.tensor(w)), torch_F.conv1d(torch.tensor(x),
                                                                        torch.tensor(w))
    assert str(ours.dtype) == "tatamikomi.int64"
    np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


MODULES = [
    ((3, 4, 3), {}),
    ((3, 4, 3), dict(padding=1, stride=2)),
    ((3, 4, 4), dict(padding="same", dilation=2)),
    ((4, 6, 3), dict(padding="valid", groups=2, bias=False)),
    ((3, 4, 5), dict(padding=2, dilation=1)),
]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("args,kwargs", MODULES)
@pytest.mark.parametrize("batched", [True, False])
def test_conv1d_module_as_pytorch(args, kwargs, mode, batched):
    tm.manual_seed(2)
    ours = nn.Conv1d(*args, **kwargs, padding_mode=mode, dtype=tm.float64)
    torch.manual_seed(2)
    theirs = torch_nn.Conv1d(*args, **kwargs, padding_mode=mode, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():            # PyTorch's init, draw for draw
        np.testing.assert_array_equal(to_numpy(ours.state_dict()[k]), v.numpy())
    assert ours._reversed_padding_repeated_twice == theirs._reversed_padding_repeated_twice
    x, tx = pair(np.random.default_rng(0).standard_normal((2, args[0], 7)[1 - batched:]),
                 requires_grad=True)
    y, ty = ours(x), theirs(tx)
    close(y, ty, "float64")
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad, "float64")
    close(ours.weight.grad, theirs.weight.grad, "float64")


# ----- the 1-d pools

POOLS = [
    ("max_pool1d", (3,), {}),
    ("max_pool1d", (3, 2, 1), dict(ceil_mode=True)),
    ("max_pool1d", (2,), dict(dilation=3, padding=1)),
    ("max_pool1d", (4,), dict(stride=1, return_indices=True)),
    ("avg_pool1d", (3,), {}),
    ("avg_pool1d", (3, 2, 1), dict(ceil_mode=True)),
    ("avg_pool1d", (4, 1, 2), dict(count_include_pad=False)),
    ("adaptive_avg_pool1d", (4,), {}),
    ("adaptive_avg_pool1d", (1,), {}),
    ("adaptive_avg_pool1d", (7,), {}),
    ("adaptive_max_pool1d", (4,), {}),
    ("adaptive_max_pool1d", (3, True), {}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("fn,args,kwargs", POOLS)
def test_pool1d_as_pytorch(fn, args, kwargs, batched, dtype):
    x, tx = pair(np.random.default_rng(0).standard_normal((2, 3, 11)[1 - batched:])
                 .astype(dtype), requires_grad=True)
    ours, theirs = getattr(F, fn)(x, *args, **kwargs), getattr(torch_F, fn)(tx, *args, **kwargs)
    if isinstance(theirs, tuple):
        np.testing.assert_array_equal(to_numpy(ours[1]), to_numpy(theirs[1]))   # indices
        assert str(ours[1].dtype) == "tatamikomi.int64"
        ours, theirs = ours[0], theirs[0]
    close(ours, theirs, dtype)
    gy = np.random.default_rng(1).standard_normal(tuple(theirs.shape)).astype(dtype)
    ours.backward(tm.tensor(gy))
    theirs.backward(torch.tensor(gy))
    close(x.grad, tx.grad, dtype)


POOL_MODULES = [
    ("MaxPool1d", (2,), {}),
    ("MaxPool1d", (3, 1, 1, 2, True, True), {}),
    ("AvgPool1d", (2,), {}),
    ("AvgPool1d", (3,), dict(stride=1, padding=1, ceil_mode=True, count_include_pad=False)),
    ("AdaptiveAvgPool1d", (3,), {}),
    ("AdaptiveMaxPool1d", (3,), dict(return_indices=True)),
]


@pytest.mark.parametrize("cls,args,kwargs", POOL_MODULES)
def test_pool1d_modules_as_pytorch(cls, args, kwargs):
    ours, theirs = getattr(nn, cls)(*args, **kwargs), getattr(torch_nn, cls)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    x, tx = pair(np.random.default_rng(0).standard_normal((2, 3, 10)))
    y, ty = ours(x), theirs(tx)
    if isinstance(ty, tuple):
        np.testing.assert_array_equal(to_numpy(y[1]), to_numpy(ty[1]))
        y, ty = y[0], ty[0]
    close(y, ty, "float64")
    assert not isinstance(ours, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                                 nn.AdaptiveMaxPool2d))
