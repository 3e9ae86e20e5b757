"""conv_transpose2d/1d and nn.ConvTranspose2d/1d against PyTorch: values, gradients, every
kernel that can run the transposed conv's underlying spec, graphs, reprs, state and lazy forms."""
import numpy as np
import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from helpers import assert_close, pair, to_numpy

import tatamikomi as tm
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F
from tatamikomi import kernels

DTYPES = ["float32", "float64"]


def close(ours, theirs, dtype):
    """assert_close with atol scaled to the result's magnitude (sums of many products)."""
    scale = max(1.0, float(np.abs(to_numpy(theirs)).max(initial=0.0)))
    assert_close(ours, theirs, dtype, scale=scale)


def run_both(fn, x_np, w_np, b_np, dtype, kernel=None, seed=0, **kwargs):
    """fn (a functional name) forward and backward on both libraries, compared; returns our y."""
    x, tx = pair(x_np.astype(dtype), requires_grad=True)
    w, tw = pair(w_np.astype(dtype), requires_grad=True)
    b, tb = pair(b_np.astype(dtype), requires_grad=True) if b_np is not None else (None, None)
    ty = getattr(torch_F, fn)(tx, tw, tb, **kwargs)
    gy = np.random.default_rng(seed + 1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(gy))
    if kernel is None:
        y = getattr(F, fn)(x, w, b, **kwargs)
        y.backward(tm.tensor(gy))
    else:
        with kernels.use(kernel):
            y = getattr(F, fn)(x, w, b, **kwargs)
            y.backward(tm.tensor(gy))
    assert tuple(y.shape) == tuple(ty.shape)
    assert str(y.dtype).split(".")[-1] == dtype
    close(y, ty, dtype)
    close(x.grad, tx.grad, dtype)
    close(w.grad, tw.grad, dtype)
    if b is not None:
        close(b.grad, tb.grad, dtype)
    return y


def arrays(xs, ws, bias, groups=1, seed=0):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(ws[1] * groups) if bias else None
    return rng.standard_normal(xs), rng.standard_normal(ws), b


# (id, input shape, weight shape (C, O // groups, KH, KW), bias?, kwargs)
GRID = [
    ("basic", (2, 3, 5, 5), (3, 4, 3, 3), True, {}),
    ("no-bias", (2, 3, 5, 4), (3, 2, 3, 2), False, {}),
    ("stride-2-pad-1", (2, 4, 4, 4), (4, 3, 4, 4), True, dict(stride=2, padding=1)),
    ("stride-2-output-padding", (2, 3, 4, 5), (3, 2, 3, 3), True,
     dict(stride=2, padding=1, output_padding=1)),
    ("stride-3-output-padding-2", (1, 2, 4, 5), (2, 3, 3, 3), True,
     dict(stride=3, output_padding=2)),
    ("stride-tuple", (2, 2, 5, 4), (2, 3, 3, 2), True,
     dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0))),
    ("padding-wide", (1, 3, 6, 6), (3, 2, 5, 5), True, dict(padding=3)),
    ("padding-tuple", (1, 3, 6, 5), (3, 2, 3, 4), True, dict(padding=(2, 1), stride=(1, 3))),
    # output_padding >= stride, allowed below the dilation: rows beyond every window of x
    ("output-padding-under-dilation", (2, 3, 4, 5), (3, 2, 3, 2), True,
     dict(dilation=2, output_padding=1)),
    ("output-padding-2-under-dilation-3", (1, 2, 4, 4), (2, 2, 2, 3), True,
     dict(dilation=(3, 2), stride=(1, 2), output_padding=(2, 1))),
    ("dilation", (1, 2, 5, 6), (2, 3, 3, 3), True, dict(dilation=(2, 3), padding=(1, 2))),
    ("groups-2", (2, 4, 5, 5), (4, 3, 3, 3), True, dict(groups=2)),
    ("groups-3-everything", (2, 6, 4, 5), (6, 2, 3, 2), True,
     dict(groups=3, stride=2, padding=1, dilation=2, output_padding=1)),
    ("depthwise", (2, 4, 5, 5), (4, 1, 3, 3), True, dict(groups=4, padding=1)),
    ("depthwise-multiplier", (1, 3, 5, 5), (3, 2, 3, 3), False, dict(groups=3, stride=2)),
    ("1x1", (2, 4, 5, 5), (4, 6, 1, 1), True, {}),
    ("1x1-stride-2", (2, 4, 5, 5), (4, 6, 1, 1), True, dict(stride=2, output_padding=1)),
    ("7x7", (1, 16, 6, 6), (16, 16, 7, 7), True, dict(padding=3)),
    ("dcgan-first", (2, 16, 1, 1), (16, 8, 4, 4), False, {}),
    ("dcgan-up", (2, 16, 4, 4), (16, 8, 4, 4), False, dict(stride=2, padding=1)),
    ("many-channels", (2, 32, 6, 6), (32, 16, 3, 3), True, dict(padding=1)),
    ("unbatched", (3, 5, 5), (3, 4, 3, 3), True, dict(stride=2, output_padding=1)),
    ("zero-batch", (0, 3, 5, 5), (3, 4, 3, 3), True, dict(stride=2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,bias,kwargs", [c[1:] for c in GRID], ids=[c[0] for c in GRID])
def test_conv_transpose2d_grid(xs, ws, bias, kwargs, dtype):
    run_both("conv_transpose2d", *arrays(xs, ws, bias, kwargs.get("groups", 1)), dtype, **kwargs)


def supporting(fn, xs, ws, bias, kwargs):
    """The kernels that can run the conv underneath fn at these shapes."""
    x, w, b = (None if a is None else tm.tensor(a) for a in arrays(xs, ws, bias,
                                                                    kwargs.get("groups", 1)))
    x.requires_grad_(True)
    node = getattr(F, fn)(x, w, b, **kwargs).grad_fn
    while not hasattr(node, "spec"):                # an unbatched call's squeeze first
        node = node.next_functions[0][0]
    return [name for name, k in kernels.KERNELS.items() if k.supports(node.spec)]



@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,bias,kwargs", [c[1:] for c in GRID if c[1][0]],
                         ids=[c[0] for c in GRID if c[1][0]])
def test_conv_transpose2d_every_kernel(xs, ws, bias, kwargs, dtype):
    """Every kernel that supports the underlying spec, forced in turn: its grad_input is the
    forward, its forward and grad_weight the backward."""
    names = supporting("conv_transpose2d", xs, ws, bias, kwargs)
    assert "im2col" in names and "direct" in names
    for name in names:
        run_both("conv_transpose2d", *arrays(xs, ws, bias, kwargs.get("groups", 1)), dtype,
                 kernel=name, **kwargs)


def test_every_kernel_runs_somewhere_in_the_grid():
    """The grid reaches each kernel at least once (else a kernel's transposed use is untested)."""
    seen = set()
    for _, xs, ws, bias, kwargs in GRID:
        if xs[0]:
            seen.update(supporting("conv_transpose2d", xs, ws, bias, kwargs))
    assert seen == set(kernels.KERNELS)


# (id, input shape, weight shape (C, O // groups, K), bias?, kwargs)
GRID_1D = [
    ("basic", (2, 3, 7), (3, 4, 3), True, {}),
    ("stride-padding-output-padding", (2, 3, 6), (3, 2, 4), True,
     dict(stride=2, padding=1, output_padding=1)),
    ("stride-3-dilation", (1, 2, 5), (2, 3, 3), False,
     dict(stride=3, dilation=2, output_padding=2)),
    ("output-padding-under-dilation", (2, 2, 5), (2, 2, 3), True,
     dict(dilation=3, output_padding=2)),
    ("groups", (2, 4, 6), (4, 3, 3), True, dict(groups=2, padding=2)),
    ("unbatched", (3, 7), (3, 4, 3), True, dict(stride=2)),
    ("audio-up", (2, 16, 32), (16, 8, 8), True, dict(stride=4, padding=2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,bias,kwargs", [c[1:] for c in GRID_1D],
                         ids=[c[0] for c in GRID_1D])
def test_conv_transpose1d_grid(xs, ws, bias, kwargs, dtype):
    run_both("conv_transpose1d", *arrays(xs, ws, bias, kwargs.get("groups", 1)), dtype, **kwargs)
    for name in supporting("conv_transpose1d", xs, ws, bias, kwargs):
        run_both("conv_transpose1d", *arrays(xs, ws, bias, kwargs.get("groups", 1)), dtype,
                 kernel=name, **kwargs)


def test_output_padding_rows_take_only_the_bias():
    """Hand-derived: with stride 1, dilation 2 and output_padding 1, a 1x1 input under a 2x2
    kernel of ones lands on rows/cols 0 and 2; the extra row and column 3 get the bias alone."""
    y = F.conv_transpose2d(tm.ones(1, 1, 1, 1), tm.ones(1, 1, 2, 2), tm.tensor([0.5]),
                           dilation=2, output_padding=1)
    expected = np.full((4, 4), 0.5)
    expected[::2, ::2][:2, :2] += 1
    assert tuple(y.shape) == (1, 1, 4, 4)
    np.testing.assert_array_equal(y.numpy()[0, 0], expected)


def test_positional_and_keyword_calls():
    x, w, b = arrays((1, 2, 4, 4), (2, 3, 3, 3), True)
    args = (2, 1, 1, 1, 2)                       # stride, padding, output_padding, groups, dil
    ours = F.conv_transpose2d(tm.tensor(x), tm.tensor(w), tm.tensor(b), *args)
    theirs = torch_F.conv_transpose2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), *args)
    close(ours, theirs, "float64")
    kw = dict(input=tm.tensor(x), weight=tm.tensor(w), dilation=2, groups=1, output_padding=1,
              stride=2)
    close(F.conv_transpose2d(**kw), torch_F.conv_transpose2d(
        **{k: torch.tensor(v.numpy()) if isinstance(v, tm.Tensor) else v
           for k, v in kw.items()}), "float64")


@pytest.mark.parametrize("need", ["x", "w", "b"])
def test_only_the_needed_gradient(need):
    x, w, b = (tm.tensor(a) for a in arrays((2, 3, 4, 4), (3, 2, 3, 3), True))
    dict(x=x, w=w, b=b)[need].requires_grad_(True)
    F.conv_transpose2d(x, w, b, stride=2).sum().backward()
    assert [t.grad is not None for t in (x, w, b)] == [need == n for n in "xwb"]


def test_float16_as_pytorch():
    x, w, b = arrays((2, 3, 4, 4), (3, 2, 3, 3), True)
    ours = F.conv_transpose2d(*(tm.tensor(a.astype(np.float16)) for a in (x, w, b)), stride=2)
    theirs = torch_F.conv_transpose2d(*(torch.tensor(a.astype(np.float16)) for a in (x, w, b)),
                                      stride=2)
    assert str(ours.dtype) == "tatamikomi.float16"
    np.testing.assert_allclose(to_numpy(ours).astype(np.float64),
                               to_numpy(theirs).astype(np.float64), rtol=2e-3, atol=2e-3)


def test_int64_as_pytorch():
    rng = np.random.default_rng(0)
    x, w, b = (rng.integers(-5, 5, s) for s in ((2, 3, 4, 4), (3, 2, 3, 3), (2,)))
    ours = F.conv_transpose2d(tm.tensor(x), tm.tensor(w), tm.tensor(b), stride=2, padding=1)
    theirs = torch_F.conv_transpose2d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                      stride=2, padding=1)
    assert str(ours.dtype) == "tatamikomi.int64"
    np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


@pytest.mark.parametrize("bias_dtype", ["float64", "float16"])
def test_bias_of_another_dtype_is_cast_as_pytorch(bias_dtype):
    """PyTorch's transposed conv takes a bias of any float dtype (its conv does not)."""
    x, w, b = arrays((1, 2, 4, 4), (2, 3, 3, 3), True)
    x, w, b = x.astype(np.float32), w.astype(np.float32), b.astype(bias_dtype)
    (ox, tx), (ow, tw), (ob, tb) = pair(x), pair(w), pair(b, requires_grad=True)
    ours, theirs = F.conv_transpose2d(ox, ow, ob), torch_F.conv_transpose2d(tx, tw, tb)
    assert str(ours.dtype) == "tatamikomi.float32"
    close(ours, theirs, "float32")
    ours.sum().backward()
    theirs.sum().backward()
    assert str(ob.grad.dtype).split(".")[-1] == bias_dtype
    close(ob.grad, tb.grad, "float32")


def names(fn, depth=4):
    """The graph under fn's node as nested names, as far as depth (both libraries)."""
    if fn is None or depth == 0:
        return None
    return (fn.name(), [names(f, depth - 1) for f, _ in fn.next_functions])


GRAPHS = {
    "conv1d": lambda L, x, w: L.F.conv1d(x, w),
    "conv1d-unbatched": lambda L, x, w: L.F.conv1d(x[0], w),
    "conv_transpose1d": lambda L, x, w: L.F.conv_transpose1d(x, w.transpose(0, 1)),
    "conv_transpose2d": lambda L, x, w: L.F.conv_transpose2d(x.unsqueeze(2),
                                                             w.transpose(0, 1).unsqueeze(2)),
    "conv_transpose2d-unbatched": lambda L, x, w: L.F.conv_transpose2d(
        x[0].unsqueeze(1), w.transpose(0, 1).unsqueeze(2)),
    "conv2d": lambda L, x, w: L.F.conv2d(x.unsqueeze(2), w.unsqueeze(2)),
    "max_pool1d": lambda L, x, w: L.F.max_pool1d(x, 2),
    "max_pool1d-unbatched": lambda L, x, w: L.F.max_pool1d(x[0], 2, return_indices=True)[0],
    "max_pool2d-unbatched": lambda L, x, w: L.F.max_pool2d(x[0].unsqueeze(0), (1, 2)),
    "avg_pool1d": lambda L, x, w: L.F.avg_pool1d(x, 3, 1, 1),
    "avg_pool2d-unbatched": lambda L, x, w: L.F.avg_pool2d(x[0].unsqueeze(0), (1, 2)),
    "adaptive_avg_pool1d": lambda L, x, w: L.F.adaptive_avg_pool1d(x, 3),
    "adaptive_avg_pool1d-1": lambda L, x, w: L.F.adaptive_avg_pool1d(x, 1),
    "adaptive_avg_pool2d-unbatched": lambda L, x, w: L.F.adaptive_avg_pool2d(
        x[0].unsqueeze(0), (1, 3)),
    "adaptive_max_pool1d": lambda L, x, w: L.F.adaptive_max_pool1d(x, 3),
}


@pytest.mark.parametrize("case", GRAPHS.values(), ids=GRAPHS.keys())
def test_graph_node_names_as_pytorch(case):
    from types import SimpleNamespace
    x_np, w_np = np.ones((2, 3, 8)), np.ones((4, 3, 3))
    graphs = []
    for lib, nf in ((tm, F), (torch, torch_F)):
        x, w = lib.tensor(x_np, requires_grad=True), lib.tensor(w_np, requires_grad=True)
        graphs.append(names(case(SimpleNamespace(F=nf), x, w).grad_fn))
    assert graphs[0] == graphs[1]


# ----- modules

CONSTRUCTIONS = [
    ((3, 4, 3), {}),
    ((3, 4, (3, 2)), dict(stride=2, padding=1, output_padding=1)),
    ((4, 6, 3), dict(groups=2, bias=False, dilation=2)),
    ((4, 6, 3), dict(stride=(1, 2), padding=(0, 1), output_padding=(0, 1), groups=2,
                     dilation=(2, 1))),
    ((3, 4, 1), dict(dilation=1, output_padding=0, padding=0)),
]


@pytest.mark.parametrize("args,kwargs", CONSTRUCTIONS)
@pytest.mark.parametrize("cls", ["ConvTranspose1d", "ConvTranspose2d"])
def test_module_repr_state_and_init_as_pytorch(cls, args, kwargs):
    if cls == "ConvTranspose1d":
        kwargs = {k: v[-1] if isinstance(v, tuple) else v for k, v in kwargs.items()}
        args = args[:2] + (args[2] if isinstance(args[2], int) else args[2][-1],)
    tm.manual_seed(3)
    ours = getattr(nn, cls)(*args, **kwargs)
    torch.manual_seed(3)
    theirs = getattr(torch_nn, cls)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():            # PyTorch's init, draw for draw
        np.testing.assert_array_equal(to_numpy(ours.state_dict()[k]), v.numpy())
    for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                 "output_padding", "dilation", "groups", "transposed", "padding_mode"):
        assert getattr(ours, name) == getattr(theirs, name), name


@pytest.mark.parametrize("dtype", DTYPES)
def test_module_forward_backward_with_torch_weights(dtype):
    theirs = torch_nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    theirs = theirs.to(getattr(torch, dtype))
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                              dtype=getattr(tm, dtype))
    ours.load_state_dict({k: tm.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x, tx = pair(np.random.default_rng(0).standard_normal((2, 4, 5, 5)).astype(dtype),
                 requires_grad=True)
    y, ty = ours(x), theirs(tx)
    close(y, ty, dtype)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad, dtype)
    close(ours.weight.grad, theirs.weight.grad, dtype)
    close(ours.bias.grad, theirs.bias.grad, dtype)


@pytest.mark.parametrize("output_size", [None, [10, 11], (10, 12), [2, 4, 10, 12], [9, 10]])
@pytest.mark.parametrize("batched", [True, False])
def test_module_output_size_picks_output_padding(output_size, batched):
    """forward(input, output_size) chooses output_padding per axis, within [min, min + s - 1]."""
    if output_size is not None and len(output_size) == 4 and not batched:
        output_size = output_size[1:]
    kw = dict(stride=(2, 3), padding=1)
    torch.manual_seed(0)
    theirs = torch_nn.ConvTranspose2d(2, 4, 3, **kw).double()
    ours = nn.ConvTranspose2d(2, 4, 3, dtype=tm.float64, **kw)
    ours.load_state_dict({k: tm.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x, tx = pair(np.random.default_rng(0).standard_normal((2, 2, 5, 4)[1 - batched:]))
    close(ours(x, output_size), theirs(tx, output_size), "float64")


def test_module_output_size_1d():
    torch.manual_seed(0)
    theirs = torch_nn.ConvTranspose1d(2, 3, 4, stride=3).double()
    ours = nn.ConvTranspose1d(2, 3, 4, stride=3, dtype=tm.float64)
    ours.load_state_dict({k: tm.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x, tx = pair(np.random.default_rng(0).standard_normal((2, 2, 5)))
    for size in ([16], [18], (2, 3, 17)):
        close(ours(x, size), theirs(tx, size), "float64")


# ----- lazy forms

LAZY = [
    ("LazyConv1d", (4, 3), dict(stride=2, padding=1), (2, 3, 9)),
    ("LazyConv1d", (4, 3), dict(groups=2, bias=False, padding_mode="circular", padding=1),
     (6, 9)),
    ("LazyConv2d", (4, 3), {}, (2, 3, 6, 6)),
    ("LazyConv2d", (6, (3, 2)), dict(groups=3, padding="same", dilation=2), (2, 3, 6, 6)),
    ("LazyConvTranspose1d", (4, 3), dict(stride=2, output_padding=1), (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 4), dict(stride=2, padding=1), (2, 3, 4, 4)),
    ("LazyConvTranspose2d", (6, 3), dict(groups=2, bias=False, dilation=2), (4, 4, 4)),
]


@pytest.mark.parametrize("cls,args,kwargs,xs", LAZY)
def test_lazy_module_materializes_as_pytorch(cls, args, kwargs, xs):
    tm.manual_seed(1)
    ours = getattr(nn, cls)(*args, **kwargs, dtype=tm.float64)
    torch.manual_seed(1)
    theirs = getattr(torch_nn, cls)(*args, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)                   # before: in_channels 0
    x, tx = pair(np.random.default_rng(0).standard_normal(xs), requires_grad=True)
    y, ty = ours(x), theirs(tx)
    assert type(ours).__name__ == type(theirs).__name__ == cls[len("Lazy"):]
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(to_numpy(ours.state_dict()[k]), v.numpy())
    close(y, ty, "float64")
    y.sum().backward()
    ty.sum().backward()
    close(ours.weight.grad, theirs.weight.grad, "float64")
    close(x.grad, tx.grad, "float64")


def test_lazy_conv_is_a_conv_before_and_after():
    m = nn.LazyConv2d(4, 3)
    assert isinstance(m, nn.Conv2d) and m.has_uninitialized_params()
    m(tm.ones(1, 2, 5, 5))
    assert type(m) is nn.Conv2d and tuple(m.weight.shape) == (4, 2, 3, 3)
    assert not isinstance(nn.ConvTranspose2d(2, 2, 1), nn.Conv2d)     # siblings, as PyTorch's


def test_backward_twice_with_retain_graph():
    """The node keeps what grad_weight reads across backwards (retain_graph), as PyTorch's."""
    x, w, b = arrays((2, 3, 4, 4), (3, 2, 3, 3), True)
    (ox, tx), (ow, tw) = pair(x, requires_grad=True), pair(w, requires_grad=True)
    y, ty = F.conv_transpose2d(ox, ow, stride=2), torch_F.conv_transpose2d(tx, tw, stride=2)
    for _ in range(2):
        y.sum().backward(retain_graph=True)
        ty.sum().backward(retain_graph=True)
    close(ow.grad, tw.grad, "float64")
    close(ox.grad, tx.grad, "float64")
