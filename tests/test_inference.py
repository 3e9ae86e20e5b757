"""inference_mode and the eval fast path (nn/_eval_plan.py): PyTorch's semantics and messages,
fused results against the plain path and PyTorch, and every way the cache must be rebuilt."""
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from models_ref import Ref, resnet

import tatamikomi as tk
from tatamikomi import nn
from tatamikomi.nn import _eval_plan
from tatamikomi.vision import models

RTOL = {"float32": 1e-5, "float64": 1e-12}


def close(a, b, dtype="float32"):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    scale = max(np.abs(b).max(), 1e-30)
    np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


# ----- inference_mode

def test_inference_mode_flags_and_tensors_match_pytorch():
    for lib in (torch, tk):
        w = lib.ones(2, 2, requires_grad=True)
        with lib.inference_mode():
            x = lib.ones(2, 2)
            got = [lib.is_inference_mode_enabled(), lib.is_grad_enabled(), x.is_inference(),
                   (w * 2).requires_grad, w[0].is_inference(), x[0].is_inference()]
            with lib.inference_mode(False):
                got += [lib.is_inference_mode_enabled(), lib.is_grad_enabled(),
                        lib.ones(1).is_inference()]
        got += [lib.is_inference_mode_enabled(), lib.is_grad_enabled(), w.is_inference()]

        @lib.inference_mode
        def bare(lib=lib):
            return lib.ones(1)

        @lib.inference_mode(mode=False)
        def called(lib=lib):
            return lib.ones(1)
        got += [bare().is_inference(), called().is_inference()]
        if lib is torch:
            expected = got
    assert got == expected


@pytest.mark.parametrize("misuse", ["save", "inplace", "view_inplace", "requires_grad"])
def test_misusing_inference_tensors_raises_pytorchs_error(misuse):
    def run(lib):
        with lib.inference_mode():
            x = lib.ones(2, 2)
        w = lib.ones(2, 2, requires_grad=True)
        try:
            {"save": lambda: x * w, "inplace": lambda: x.add_(1),
             "view_inplace": lambda: x[0].mul_(2),
             "requires_grad": lambda: x.requires_grad_()}[misuse]()
        except RuntimeError as e:
            return str(e)
        return None
    expected = run(torch)
    assert expected is not None and run(tk) == expected


def test_inference_tensors_are_free_inside_inference_mode_and_in_unsaved_ops():
    with tk.inference_mode():
        x = tk.ones(3)
    w = tk.ones(3, requires_grad=True)
    (x + w).sum().backward()             # add saves nothing: allowed, as PyTorch's
    assert w.grad.tolist() == [1, 1, 1]
    with tk.inference_mode():
        x.add_(1)                        # in place inside: allowed
    assert x.tolist() == [2, 2, 2]
    y = x.clone()
    assert not y.is_inference() and y.add_(1).tolist() == [3, 3, 3]


def test_inference_mode_is_per_thread():
    seen = []
    with tk.inference_mode():
        t = threading.Thread(target=lambda: seen.append(
            (tk.is_inference_mode_enabled(), tk.is_grad_enabled(), tk.ones(1).is_inference())))
        t.start()
        t.join()
        assert tk.is_inference_mode_enabled()
    assert seen == [(False, True, False)]


# ----- fused results against PyTorch and the plain path

def _randomize_bn(bn, rng):
    c = bn.num_features
    bn.running_mean.array[:] = rng.normal(size=c) * 0.5
    bn.running_var.array[:] = rng.uniform(0.5, 2, c)
    if bn.weight is not None:
        bn.weight.array[:] = rng.uniform(0.5, 1.5, c)
        bn.bias.array[:] = rng.normal(size=c) * 0.2


def _prepared(model, rng, dtype):
    model = model.double() if dtype == "float64" else model
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            _randomize_bn(m, rng)
    return model.eval()


def _plain_and_fast(model, x):
    plain = model(x).detach()            # grad recording on: the plain path
    with tk.no_grad():
        fast = model(x)
    with tk.inference_mode():
        inf = model(x)
    np.testing.assert_array_equal(fast.numpy(), inf.numpy())
    return plain, fast


ACTS = {"relu": (nn.ReLU, TF.relu), "relu6": (nn.ReLU6, TF.relu6), "silu": (nn.SiLU, TF.silu),
        "hardswish": (nn.Hardswish, TF.hardswish), "sigmoid": (nn.Sigmoid, torch.sigmoid)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("geom", [dict(k=3, s=1, p=1, g=1, bias=False),
                                  dict(k=1, s=2, p=0, g=1, bias=True),
                                  dict(k=3, s=2, p=1, g=8, bias=False)])
def test_sequential_conv_bn_act_equals_plain_path_and_pytorch(dtype, act, geom):
    rng = np.random.default_rng(0)
    tk.manual_seed(0)
    layer, fn = ACTS[act]
    model = _prepared(nn.Sequential(
        nn.Conv2d(8, 8, geom["k"], geom["s"], geom["p"], groups=geom["g"], bias=geom["bias"]),
        nn.BatchNorm2d(8), layer(inplace=True) if act != "sigmoid" else layer()), rng, dtype)
    x = tk.tensor(rng.normal(size=(2, 8, 9, 9)).astype(dtype))
    plain, fast = _plain_and_fast(model, x)
    close(fast, plain, dtype)
    c, bn = model[0], model[1]
    t = {k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()}
    y = TF.conv2d(torch.tensor(x.numpy()), t["0.weight"], t.get("0.bias"), geom["s"],
                  geom["p"], 1, c.groups)
    y = fn(TF.batch_norm(y, t["1.running_mean"], t["1.running_var"], t["1.weight"],
                         t["1.bias"], False, 0.1, bn.eps))
    close(fast, y, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_alone_and_a_user_forward_match_pytorch(dtype):
    rng = np.random.default_rng(1)

    class Net(nn.Module):                 # a forward we do not own: packed conv, one-pass BN
        def __init__(self):
            super().__init__()
            self.conv1, self.bn = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6)

        def forward(self, x):
            return tk.nn.functional.relu(self.bn(self.conv1(x))) * 2

    model = _prepared(Net(), rng, dtype)
    x = tk.tensor(rng.normal(size=(2, 3, 7, 7)).astype(dtype))
    plain, fast = _plain_and_fast(model, x)
    close(fast, plain, dtype)
    t = {k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()}
    y = TF.conv2d(torch.tensor(x.numpy()), t["conv1.weight"], t["conv1.bias"], 1, 1)
    y = TF.relu(TF.batch_norm(y, t["bn.running_mean"], t["bn.running_var"], t["bn.weight"],
                              t["bn.bias"], False, 0.1, 1e-5)) * 2
    close(fast, y, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("build", [
    lambda: models.ResNet(models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=5),
    lambda: models.ResNet(models.resnet.Bottleneck, [1, 1, 1, 1], num_classes=5),
    lambda: models.mobilenet_v2(num_classes=5, width_mult=0.25)], ids=["basic", "bottle", "mbv2"])
def test_vision_models_blocks_fused_equal_the_plain_path(dtype, build):
    rng = np.random.default_rng(2)
    tk.manual_seed(0)
    model = _prepared(build(), rng, dtype)
    x = tk.tensor(rng.normal(size=(2, 3, 32, 32)).astype(dtype))
    plain, fast = _plain_and_fast(model, x)
    close(fast, plain, dtype)
    assert len(_eval_plan._CACHE) > 0


def test_hooks_and_training_keep_the_plain_path():
    rng = np.random.default_rng(3)
    model = _prepared(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()), rng,
                      "float64")
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    x = tk.randn(1, 3, 5, 5, dtype=tk.float64)
    plain, fast = _plain_and_fast(model, x)
    assert len(seen) == 3                # the BN ran as a module every time: its hook saw it
    close(fast, plain, "float64")
    model.train()
    assert model[0] not in _eval_plan._CACHE      # train() drops what eval packed
    with tk.no_grad():
        y = model(x)
    assert model[1].num_batches_tracked.item() == 1 and y.shape == plain.shape


# ----- invalidation: each change reaches the fused result

def _seq(rng):
    return _prepared(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4),
                                   nn.ReLU()), rng, "float64")


def _check(model, x):
    plain, fast = _plain_and_fast(model, x)
    close(fast, plain, str(x.dtype).split(".")[-1])
    return fast.numpy()


CHANGES = {
    "weight_inplace": lambda m: m[0].weight.mul_(2),
    "running_var_inplace": lambda m: m[1].running_var.add_(1),
    "bn_weight_inplace": lambda m: m[1].weight.mul_(-1),
    "through_data_then_eval": lambda m: (m[0].weight.data.mul_(2), m.eval()),
    "eps": lambda m: setattr(m[1], "eps", 0.5),
    "new_parameter": lambda m: setattr(m[0], "bias", nn.Parameter(tk.ones(4, dtype=tk.float64))),
    "new_child": lambda m: m.__setitem__(2, nn.Sigmoid()),
    "new_bn": lambda m: m.__setitem__(1, _randomized(nn.BatchNorm2d(4).double().eval())),
    "load_state_dict": lambda m: m.load_state_dict(
        {k: v * 3 if v.dtype == tk.float64 else v for k, v in m.state_dict().items()}),
    "train_steps": lambda m: _train(m, 2),
}


def _randomized(bn):
    _randomize_bn(bn, np.random.default_rng(9))
    return bn


@tk.enable_grad()
def _train(model, steps):
    opt = tk.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        model(tk.randn(2, 3, 5, 5, dtype=tk.float64)).square().mean().backward()
        opt.step()
    model.eval()


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_to_a_source_rebuilds_the_cache(change):
    rng = np.random.default_rng(4)
    tk.manual_seed(0)
    model = _seq(rng)
    x = tk.tensor(rng.normal(size=(2, 3, 5, 5)))
    before = _check(model, x)
    with tk.no_grad():
        CHANGES[change](model)
    after = _check(model, x)            # fused equals plain after the change...
    assert not np.allclose(before, after)    # ...and the change was visible


def test_to_dtype_rebuilds_the_cache():
    rng = np.random.default_rng(5)
    model = _prepared(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.SiLU()), rng,
                      "float32")
    x = rng.normal(size=(2, 3, 6, 6))
    _check(model, tk.tensor(x.astype(np.float32)))
    model.double()
    with tk.no_grad():
        y = model(tk.tensor(x))
    assert y.dtype == tk.float64
    close(y, model(tk.tensor(x)), "float64")


def test_optimizer_step_bumps_the_version_as_pytorchs():
    for lib in (torch, tk):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        v = p._version
        p.sum().backward()
        opt.step()
        assert p._version > v


def test_trained_evaluated_trained_again_gives_pytorchs_numbers():
    """A small ResNet, float64, SGD: our fused eval and training steps against PyTorch's."""
    rng = np.random.default_rng(6)
    tk.manual_seed(0)
    ours = models.ResNet(models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=3).double()
    theirs = {k: torch.tensor(v.numpy().copy()) for k, v in ours.state_dict().items()}
    names = [k for k, _ in ours.named_parameters()]
    for k in names:
        theirs[k].requires_grad_(True)
    opt = tk.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD([theirs[k] for k in names], lr=0.05, momentum=0.9)
    xs = [rng.normal(size=(4, 3, 32, 32)) for _ in range(3)]
    labels = [rng.integers(0, 3, 4) for _ in range(3)]

    def forward(training, x):
        return resnet(Ref(theirs, training), torch.tensor(x), "basic", [1, 1, 1, 1],
                      num_classes=3)

    for _ in range(2):
        ours.train()
        for x, t in zip(xs, labels):
            opt.zero_grad()
            loss = tk.nn.functional.cross_entropy(ours(tk.tensor(x)), tk.tensor(t))
            loss.backward()
            opt.step()
            topt.zero_grad()
            tloss = TF.cross_entropy(forward(True, x), torch.tensor(t))
            tloss.backward()
            topt.step()
            # training itself drifts from PyTorch's by rounding (batch statistics of 4 values)
            assert loss.item() == pytest.approx(tloss.item(), rel=1e-8)
        ours.eval()
        plain = ours(tk.tensor(xs[0]))
        np.testing.assert_allclose(plain.detach().numpy(), forward(False, xs[0]).detach(),
                                   rtol=1e-8, atol=1e-8)
        for ctx in (tk.no_grad, tk.inference_mode):
            with ctx():
                close(ours(tk.tensor(xs[0])), plain, "float64")
