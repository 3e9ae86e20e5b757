"""Layers, losses and Module behaviour against PyTorch: forward, backward, reprs and errors."""
import numpy as np
import pytest
import torch

import tatamikomi as tm
from helpers import assert_close, assert_same_error

LIBS = {"ours": (tm, tm.nn, tm.nn.functional), "torch": (torch, torch.nn, torch.nn.functional)}


def run_both(fn, arrays, dtype="float64", seed=1):
    """fn(lib, nn, F, *tensors) in both libraries; compare outputs and input gradients."""
    out, grads = {}, {}
    for name, (lib, nn, F) in LIBS.items():
        ts = [lib.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        y = fn(lib, nn, F, *ts)
        g = np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(dtype)
        y.backward(lib.tensor(g))
        out[name] = y
        grads[name] = [t.grad for t in ts if t.requires_grad]
    scale = max(1.0, float(np.abs(out["torch"].detach().numpy()).max()))
    assert_close(out["ours"], out["torch"], dtype, scale=scale)
    for a, b in zip(grads["ours"], grads["torch"]):
        assert_close(a, b, dtype, scale=max(1.0, float(b.abs().max())))


def rand(*shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


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
def test_layers(i):
    run_both(LAYERS[i], [rand(2, 3, 5, 6)])


TARGET = np.array([0, 3, 1, 3, 2, 0])
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
def test_losses(i, dtype):
    run_both(LOSSES[i], [rand(6, 4, dtype=dtype), TARGET], dtype)


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


REPRS = [
    lambda nn: nn.Linear(3136, 128),
    lambda nn: nn.Linear(3, 4, bias=False),
    lambda nn: nn.MaxPool2d(2, 2),
    lambda nn: nn.MaxPool2d(3, 1, 1, return_indices=True, ceil_mode=True),
    lambda nn: nn.AvgPool2d(2),
    lambda nn: nn.AvgPool2d(3, 2, 1, ceil_mode=True),
    lambda nn: nn.AdaptiveAvgPool2d((2, 3)),
    lambda nn: nn.AdaptiveAvgPool2d(1),
    lambda nn: nn.Dropout(0.25),
    lambda nn: nn.Flatten(),
    lambda nn: nn.BatchNorm2d(16),
    lambda nn: nn.BatchNorm2d(16, affine=False, momentum=None),
    lambda nn: nn.Identity(),
    lambda nn: nn.CrossEntropyLoss(),
    lambda nn: nn.MSELoss(),
    lambda nn: nn.NLLLoss(),
    lambda nn: nn.ReLU(inplace=True),
    lambda nn: nn.Softmax(dim=1),
    lambda nn: nn.LogSoftmax(dim=1),
    lambda nn: nn.Sigmoid(),
    lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Sequential(nn.Flatten()),
                             nn.Linear(4, 2)),
    lambda nn: nn.ModuleList([nn.ReLU(), nn.Tanh()]),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_reprs(i):
    assert repr(REPRS[i](tm.nn)) == repr(REPRS[i](torch.nn))


ERRORS = [
    lambda lib, F: F.max_pool2d(lib.randn(1, 1, 4, 4), 2, padding=2),
    lambda lib, F: F.max_pool2d(lib.randn(1, 1, 1, 1), 2),
    lambda lib, F: F.max_pool2d(lib.randn(1, 1, 4, 4), 2, stride=0),
    lambda lib, F: F.max_pool2d(lib.randn(4, 4), 2),
    lambda lib, F: F.max_pool2d(lib.randn(1, 1, 9, 9), 2, 1, 2, dilation=3),
    lambda lib, F: F.avg_pool2d(lib.randn(1, 1, 4, 4), 2, padding=2),
    lambda lib, F: F.avg_pool2d(lib.randn(1, 1, 4, 4), 2, divisor_override=0),
    lambda lib, F: F.adaptive_avg_pool2d(lib.randn(4, 4), 2),
    lambda lib, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2, 3])),
    lambda lib, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2])),
    lambda lib, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0.0, 1, 2, 1])),
    lambda lib, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2, 1]), reduction="x"),
    lambda lib, F: F.cross_entropy(lib.randn(4, 3), lib.tensor([0, 1, 2, 1]),
                                   label_smoothing=1.5),
    lambda lib, F: F.nll_loss(lib.randn(4, 3), lib.tensor([0, 1, 2, -1])),
    lambda lib, F: F.dropout(lib.randn(3), 1.5),
    lambda lib, F: lib.nn.Dropout(-0.1),
    lambda lib, F: F.linear(lib.randn(4, 3), lib.randn(5, 4)),
    lambda lib, F: lib.nn.Linear(3, 4)(lib.randn(4, 5)),
    lambda lib, F: lib.nn.BatchNorm2d(3)(lib.randn(2, 4, 5, 5)),
    lambda lib, F: lib.nn.BatchNorm2d(3)(lib.randn(2, 3)),
    lambda lib, F: F.log_softmax(lib.randn(3, 4), 2),
    lambda lib, F: F.pad(lib.randn(1, 1, 2, 2), (2, 2, 2, 2), mode="reflect"),
    lambda lib, F: F.pad(lib.randn(1, 1, 2, 2), (1, 1, 1)),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    assert_same_error(lambda: ERRORS[i](tm, tm.nn.functional),
                      lambda: ERRORS[i](torch, torch.nn.functional))


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
def test_calculate_gain_matches_torch(name, args):
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
