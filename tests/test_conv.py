"""F.conv2d and nn.Conv2d against PyTorch: values and gradients over every argument."""
import numpy as np
import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from helpers import assert_close, pair, to_numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tatamikomi as tm
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F

DTYPES = ["float32", "float64"]


def close(ours, theirs, dtype):
    """assert_close with atol scaled to the result's magnitude (sums of many products)."""
    scale = max(1.0, float(np.abs(to_numpy(theirs)).max(initial=0.0)))
    assert_close(ours, theirs, dtype, scale=scale)


def arrays(rng, dtype, *shapes):
    return [None if s is None else rng.standard_normal(s).astype(dtype) for s in shapes]


def check_conv(x_np, w_np, b_np, dtype, seed=0, **kwargs):
    """Forward, then backward with a random upstream gradient, on both libraries."""
    x, tx = pair(x_np, requires_grad=True)
    w, tw = pair(w_np, requires_grad=True)
    b, tb = pair(b_np, requires_grad=True) if b_np is not None else (None, None)
    y = F.conv2d(x, w, b, **kwargs)
    ty = torch_F.conv2d(tx, tw, tb, **kwargs)
    assert tuple(y.shape) == tuple(ty.shape)
    assert str(y.dtype).split(".")[-1] == dtype
    close(y, ty, dtype)
    gy = np.random.default_rng(seed + 1).standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(tm.tensor(gy))
    ty.backward(torch.tensor(gy))
    close(x.grad, tx.grad, dtype)
    close(w.grad, tw.grad, dtype)
    if b is not None:
        close(b.grad, tb.grad, dtype)


# (id, input shape, weight shape, bias?, kwargs). Weight is (O, C // groups, KH, KW).
GRID = [
    ("basic", (2, 3, 7, 7), (4, 3, 3, 3), True, {}),
    ("no-bias", (2, 3, 7, 7), (4, 3, 3, 3), False, {}),
    ("stride-int", (2, 3, 7, 7), (4, 3, 3, 3), True, dict(stride=2)),
    ("stride-tuple", (1, 2, 8, 7), (3, 2, 3, 3), True, dict(stride=(2, 1))),
    ("stride-drops-rows", (1, 2, 8, 8), (3, 2, 3, 3), True, dict(stride=3)),
    ("stride-list", (1, 2, 8, 7), (3, 2, 3, 2), True, dict(stride=[1, 3])),
    ("padding-int", (2, 3, 5, 5), (4, 3, 3, 3), True, dict(padding=1)),
    ("padding-tuple", (1, 2, 5, 6), (3, 2, 3, 3), True, dict(padding=(2, 0))),
    ("padding-list", (1, 2, 5, 6), (3, 2, 1, 3), True, dict(padding=[0, 3])),
    ("padding-wider-than-kernel", (1, 2, 4, 4), (2, 2, 2, 2), True, dict(padding=3)),
    ("same-odd", (2, 3, 6, 5), (4, 3, 3, 3), True, dict(padding="same")),
    ("same-even", (1, 2, 6, 5), (3, 2, 4, 4), True, dict(padding="same")),
    ("same-even-nonsquare", (1, 2, 5, 7), (3, 2, 2, 4), True, dict(padding="same")),
    ("same-dilation", (1, 2, 7, 7), (3, 2, 3, 3), True, dict(padding="same", dilation=2)),
    ("same-even-odd-dilation", (1, 2, 9, 8), (2, 2, 4, 2), True,
     dict(padding="same", dilation=3)),
    ("same-mixed-dilation", (1, 2, 7, 8), (2, 2, 4, 3), False,
     dict(padding="same", dilation=(2, 1))),
    ("same-kernel-larger-than-input", (1, 1, 2, 3), (2, 1, 5, 4), True, dict(padding="same")),
    ("same-stride-1-tuple", (1, 2, 5, 5), (2, 2, 3, 3), True, dict(padding="same", stride=(1, 1))),
    ("valid", (2, 3, 6, 5), (4, 3, 3, 2), True, dict(padding="valid")),
    ("valid-stride", (2, 3, 7, 6), (4, 3, 3, 3), True, dict(padding="valid", stride=2)),
    ("dilation-int", (1, 2, 9, 9), (3, 2, 3, 3), True, dict(dilation=2)),
    ("dilation-tuple", (1, 2, 6, 9), (3, 2, 3, 3), True, dict(dilation=(1, 3))),
    ("dilation-stride-padding", (2, 2, 9, 8), (3, 2, 3, 2), True,
     dict(stride=(2, 3), padding=(1, 2), dilation=(2, 3))),
    ("groups-2", (2, 4, 6, 6), (6, 2, 3, 3), True, dict(groups=2)),
    ("groups-3", (1, 6, 5, 5), (6, 2, 3, 3), False, dict(groups=3)),
    ("depthwise", (2, 4, 6, 6), (4, 1, 3, 3), True, dict(groups=4, padding=1)),
    ("depthwise-multiplier", (1, 3, 5, 5), (6, 1, 3, 3), True, dict(groups=3)),
    ("groups-everything", (2, 4, 9, 8), (4, 2, 3, 2), True,
     dict(groups=2, stride=2, padding=(1, 2), dilation=(2, 1))),
    ("groups-same", (1, 4, 5, 6), (6, 2, 2, 3), True, dict(groups=2, padding="same")),
    ("nonsquare", (2, 2, 9, 5), (3, 2, 3, 2), True, {}),
    ("kernel-5x1", (1, 2, 7, 4), (2, 2, 5, 1), True, dict(stride=(1, 2))),
    ("kernel-1x1", (2, 3, 4, 5), (5, 3, 1, 1), True, {}),
    ("kernel-fills-input", (2, 2, 4, 3), (3, 2, 4, 3), True, {}),
    ("single-channel", (1, 1, 6, 6), (1, 1, 3, 3), True, {}),
    ("unbatched", (3, 6, 6), (4, 3, 3, 3), True, dict(padding=1)),
    ("unbatched-groups-same", (4, 5, 6), (4, 2, 2, 2), True, dict(groups=2, padding="same")),
    ("unbatched-stride-dilation", (2, 8, 7), (3, 2, 2, 3), False, dict(stride=2, dilation=2)),
    ("one-tuples-broadcast", (1, 2, 7, 7), (3, 2, 3, 3), True,
     dict(stride=(2,), padding=(1,), dilation=(2,))),
    ("zero-input-channels", (2, 0, 5, 5), (3, 0, 3, 3), True, dict(padding=1)),
    ("zero-input-channels-groups", (2, 0, 6, 5), (4, 0, 3, 2), True, dict(groups=2, stride=2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,bias,kwargs", [c[1:] for c in GRID], ids=[c[0] for c in GRID])
def test_conv2d_grid(xs, ws, bias, kwargs, dtype):
    rng = np.random.default_rng(0)
    x, w, b = arrays(rng, dtype, xs, ws, (ws[0],) if bias else None)
    check_conv(x, w, b, dtype, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_positional_arguments(dtype):
    rng = np.random.default_rng(1)
    x_np, w_np, b_np = arrays(rng, dtype, (2, 4, 8, 7), (6, 2, 3, 3), (6,))
    (x, tx), (w, tw), (b, tb) = pair(x_np), pair(w_np), pair(b_np)
    close(F.conv2d(x, w, None, 2, 1, 2, 2), torch_F.conv2d(tx, tw, None, 2, 1, 2, 2), dtype)
    close(F.conv2d(x, w, b, (1, 2), (2, 0), 1, 2),
          torch_F.conv2d(tx, tw, tb, (1, 2), (2, 0), 1, 2), dtype)


def test_conv2d_keyword_call():
    rng = np.random.default_rng(2)
    x_np, w_np, b_np = arrays(rng, "float32", (1, 4, 5, 5), (8, 4, 3, 3), (8,))
    (x, tx), (w, tw), (b, tb) = pair(x_np), pair(w_np), pair(b_np)
    ours = F.conv2d(input=x, weight=w, padding=1)
    theirs = torch_F.conv2d(input=tx, weight=tw, padding=1)
    assert tuple(ours.shape) == (1, 8, 5, 5)
    close(ours, theirs, "float32")
    kw = dict(stride=1, padding="same", dilation=1, groups=2)
    ours = F.conv2d(input=x, weight=w[:, :2], bias=b, **kw)
    theirs = torch_F.conv2d(input=tx, weight=tw[:, :2], bias=tb, **kw)
    close(ours, theirs, "float32")


def test_conv2d_sum_backward_and_values():
    """The (y * g).sum() form of the upstream gradient, plus a hand-computable value."""
    rng = np.random.default_rng(3)
    x_np, w_np, b_np = arrays(rng, "float64", (2, 3, 6, 5), (4, 3, 2, 3), (4,))
    g_np = rng.standard_normal((2, 4, 4, 2))
    grads = []
    for lib, fn in ((tm, F.conv2d), (torch, torch_F.conv2d)):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        y = fn(x, w, b, stride=(2, 2), padding=(1, 0))
        (y * lib.tensor(g_np)).sum().backward()
        grads.append((y, x.grad, w.grad, b.grad))
    for ours, theirs in zip(*grads, strict=True):
        close(ours, theirs, "float64")
    # Output [0, 0, 1, 1] covers input rows 1..2 (row -1 is padding) and columns 2..4.
    expected = (x_np[0, :, 1:3, 2:5] * w_np[0]).sum() + b_np[0]
    np.testing.assert_allclose(to_numpy(grads[0][0])[0, 0, 1, 1], expected, rtol=1e-12)


def test_conv2d_same_pads_extra_on_bottom_right():
    """PyTorch puts the odd pixel of an even kernel's 'same' padding after the input."""
    x_np = np.arange(16.0).reshape(1, 1, 4, 4)
    w_np = np.zeros((1, 1, 2, 2))
    w_np[0, 0, 0, 0] = 1.0  # picks the top-left pixel of each window
    x, tx = pair(x_np)
    w, tw = pair(w_np)
    ours = F.conv2d(x, w, padding="same")
    close(ours, torch_F.conv2d(tx, tw, padding="same"), "float64")
    np.testing.assert_array_equal(to_numpy(ours), x_np)


def test_conv2d_gradients_only_where_required():
    rng = np.random.default_rng(4)
    x_np, w_np, b_np = arrays(rng, "float32", (1, 2, 5, 5), (3, 2, 3, 3), (3,))
    x = tm.tensor(x_np, requires_grad=True)
    w, b = tm.tensor(w_np), tm.tensor(b_np)
    y = F.conv2d(x, w, b)
    assert y.requires_grad
    y.sum().backward()
    assert w.grad is None and b.grad is None
    tx = torch.tensor(x_np, requires_grad=True)
    torch_F.conv2d(tx, torch.tensor(w_np), torch.tensor(b_np)).sum().backward()
    close(x.grad, tx.grad, "float32")
    assert not F.conv2d(tm.tensor(x_np), w, b).requires_grad


def test_conv2d_weight_grad_only():
    rng = np.random.default_rng(5)
    x_np, w_np = arrays(rng, "float64", (2, 2, 5, 4), (3, 2, 2, 2))
    x, tx = pair(x_np)
    w, tw = pair(w_np, requires_grad=True)
    F.conv2d(x, w, stride=2).sum().backward()
    torch_F.conv2d(tx, tw, stride=2).sum().backward()
    assert x.grad is None
    close(w.grad, tw.grad, "float64")


def test_conv2d_interleaved_convs_backward_as_pytorch():
    """Two im2col convs whose forwards and backwards interleave (the second's forward between
    the first's forward and backward; the backwards in either order) and a retained graph
    run twice: the forwards' columns handed to grad_weight must never be another conv's."""
    from tatamikomi import kernels
    rng = np.random.default_rng(7)
    shapes = [((4, 3, 9, 9), (5, 3, 3, 3)), ((4, 3, 12, 10), (5, 3, 3, 3))]
    for order in ((0, 1), (1, 0)):
        leaves = [[pair(a, requires_grad=True) for a in arrays(rng, "float64", xs, ws)]
                  for xs, ws in shapes]
        gys = []
        with kernels.use("im2col"):
            outs = [F.conv2d(x, w, padding=1) for (x, _), (w, _) in leaves]
            for i in order:
                gy = rng.standard_normal(tuple(outs[i].shape))
                gys.append((i, gy))
                outs[i].backward(tm.tensor(gy), retain_graph=True)
            i, gy = gys[0]
            outs[i].backward(tm.tensor(gy))                       # a second time: grads add
        for i, gy in gys + gys[:1]:
            (tx, tw) = (leaves[i][0][1], leaves[i][1][1])
            torch_F.conv2d(tx, tw, padding=1).backward(torch.tensor(gy))
        for (x, tx), (w, tw) in leaves:
            close(x.grad, tx.grad, "float64")
            close(w.grad, tw.grad, "float64")


def test_conv2d_zero_batch():
    rng = np.random.default_rng(6)
    x_np, w_np, b_np = arrays(rng, "float32", (0, 2, 5, 5), (3, 2, 3, 3), (3,))
    ours = F.conv2d(*(pair(a)[0] for a in (x_np, w_np, b_np)), padding=1)
    theirs = torch_F.conv2d(*(pair(a)[1] for a in (x_np, w_np, b_np)), padding=1)
    assert tuple(ours.shape) == tuple(theirs.shape) == (0, 3, 5, 5)


@st.composite
def conv_specs(draw):
    """A valid conv2d call: shapes, arguments and whether the input is batched."""
    groups = draw(st.integers(1, 3))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    stride = (1, 1) if mode == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = {"int": draw(st.integers(0, 2)), "tuple": (draw(st.integers(0, 3)),
                                                     draw(st.integers(0, 2)))}.get(mode, mode)
    ph, pw = (pad, pad) if isinstance(pad, int) else pad if isinstance(pad, tuple) else (0, 0)
    span_h, span_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    h = draw(st.integers(max(1, span_h - 2 * ph), max(1, span_h - 2 * ph) + 5))
    w = draw(st.integers(max(1, span_w - 2 * pw), max(1, span_w - 2 * pw) + 5))
    n = draw(st.integers(0, 2))  # 0 means an unbatched (C, H, W) input
    x_shape = (c, h, w) if n == 0 else (n, c, h, w)
    if stride[0] == stride[1] and draw(st.booleans()):
        stride = stride[0]  # the int form
    kwargs = dict(stride=stride, padding=pad, dilation=dilation, groups=groups)
    bias, dtype = draw(st.booleans()), draw(st.sampled_from(DTYPES))
    return x_shape, (o, c // groups, kh, kw), bias, kwargs, dtype


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(spec=conv_specs(), seed=st.integers(0, 2**16))
def test_conv2d_random_sweep(spec, seed):
    x_shape, w_shape, bias, kwargs, dtype = spec
    rng = np.random.default_rng(seed)
    x, w, b = arrays(rng, dtype, x_shape, w_shape, (w_shape[0],) if bias else None)
    check_conv(x, w, b, dtype, seed=seed, **kwargs)


def load_from_torch(ours, theirs):
    """Give our module the torch module's parameter values."""
    state = {k: tm.tensor(to_numpy(v)) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


MODULE_CASES = [
    ("pad1", (3, 4, 3), dict(padding=1), (2, 3, 6, 5)),
    ("pad-tuple", (3, 4, 3), dict(padding=(2, 1)), (2, 3, 5, 6)),
    ("same-even", (2, 3, 4), dict(padding="same"), (1, 2, 6, 7)),
    ("same-mixed", (2, 3, (4, 3)), dict(padding="same", dilation=(1, 2)), (1, 2, 7, 6)),
    ("stride", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 7, 6)),
    ("dilation", (2, 2, 3), dict(dilation=2, padding=2), (1, 2, 6, 6)),
    ("groups-no-bias", (4, 6, (3, 2)), dict(groups=2, padding=(1, 1), bias=False), (2, 4, 5, 5)),
    ("unbatched", (3, 2, 3), dict(padding=1), (3, 4, 5)),
    ("pad-equals-size", (2, 2, 3), dict(padding=2), (1, 2, 3, 3)),
    ("valid", (2, 2, 3), dict(padding="valid"), (1, 2, 4, 4)),
]
PADDING_MODES = ["zeros", "reflect", "replicate", "circular"]


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("args,kwargs,xs", [c[1:] for c in MODULE_CASES],
                         ids=[c[0] for c in MODULE_CASES])
def test_module_padding_modes(args, kwargs, xs, mode):
    theirs = torch_nn.Conv2d(*args, padding_mode=mode, **kwargs).double()
    ours = nn.Conv2d(*args, padding_mode=mode, **kwargs).double()
    load_from_torch(ours, theirs)
    x_np = np.random.default_rng(7).standard_normal(xs)
    x, tx = pair(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    close(y, ty, "float64")
    gy = np.random.default_rng(8).standard_normal(tuple(ty.shape))
    y.backward(tm.tensor(gy))
    ty.backward(torch.tensor(gy))
    close(x.grad, tx.grad, "float64")
    close(ours.weight.grad, theirs.weight.grad, "float64")
    if theirs.bias is not None:
        close(ours.bias.grad, theirs.bias.grad, "float64")


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_module_padding_modes_float32(mode):
    theirs = torch_nn.Conv2d(3, 5, 3, padding=1, stride=(1, 2), padding_mode=mode)
    ours = nn.Conv2d(3, 5, 3, padding=1, stride=(1, 2), padding_mode=mode)
    load_from_torch(ours, theirs)
    x_np = np.random.default_rng(9).standard_normal((2, 3, 6, 7)).astype("float32")
    x, tx = pair(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    assert str(y.dtype).endswith("float32")
    close(y, ty, "float32")
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad, "float32")
    close(ours.weight.grad, theirs.weight.grad, "float32")
    close(ours.bias.grad, theirs.bias.grad, "float32")


def test_module_copy_weights_under_no_grad():
    theirs = torch_nn.Conv2d(2, 3, (2, 3), padding=(1, 0))
    ours = nn.Conv2d(2, 3, (2, 3), padding=(1, 0))
    with tm.no_grad():
        ours.weight.copy_(tm.tensor(to_numpy(theirs.weight)))
        ours.bias.copy_(tm.tensor(to_numpy(theirs.bias)))
    assert ours.weight.requires_grad
    x, tx = pair(np.random.default_rng(10).standard_normal((1, 2, 4, 5)).astype("float32"))
    close(ours(x), theirs(tx), "float32")


GRADCHECK_CASES = [
    ("plain", (1, 2, 5, 4), (3, 2, 3, 2), True, {}),
    ("stride-padding", (2, 2, 5, 5), (2, 2, 3, 3), True, dict(stride=2, padding=1)),
    ("dilation", (1, 1, 6, 5), (2, 1, 2, 2), False, dict(dilation=(2, 3))),
    ("groups", (1, 4, 4, 4), (4, 2, 2, 2), True, dict(groups=2, padding=(0, 1))),
    ("same-even", (1, 2, 4, 5), (2, 2, 2, 4), True, dict(padding="same")),
    ("unbatched", (2, 4, 4), (3, 2, 3, 3), True, dict(stride=(1, 2))),
]


@pytest.mark.parametrize("xs,ws,bias,kwargs", [c[1:] for c in GRADCHECK_CASES],
                         ids=[c[0] for c in GRADCHECK_CASES])
def test_conv2d_gradcheck(xs, ws, bias, kwargs):
    rng = np.random.default_rng(11)
    arrs = arrays(rng, "float64", xs, ws, (ws[0],) if bias else None)
    inputs = tuple(tm.tensor(a, requires_grad=True) for a in arrs if a is not None)

    def fn(*args):
        return F.conv2d(*args, **kwargs)

    assert tm.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_module_gradcheck_padding_modes(mode):
    conv = nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode=mode).double()
    x = tm.tensor(np.random.default_rng(12).standard_normal((1, 2, 4, 3)), requires_grad=True)
    w = conv.weight.detach().clone().requires_grad_(True)
    b = conv.bias.detach().clone().requires_grad_(True)

    def padded_conv(x, w, b):  # what the module computes: pad (left, right, top, bottom), conv
        return F.conv2d(F.pad(x, (2, 2, 1, 1), mode=mode), w, b)

    close(conv(x), padded_conv(x, w, b), "float64")
    assert tm.autograd.gradcheck(conv, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)
    assert tm.autograd.gradcheck(padded_conv, (x, w, b), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradcheck_detects_a_wrong_gradient():
    """Guard: the gradcheck we rely on must fail on a deliberately wrong backward."""
    x = tm.tensor(np.random.default_rng(13).standard_normal((1, 1, 3, 3)), requires_grad=True)
    w = tm.tensor(np.ones((1, 1, 2, 2)))

    def wrong(x):  # detach() hides half of the dependence on x from autograd
        return F.conv2d(x, w) + F.conv2d(x.detach(), w)

    with pytest.raises(Exception):  # torch raises GradcheckError
        tm.autograd.gradcheck(wrong, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)
