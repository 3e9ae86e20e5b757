"""Optimizers and schedules against PyTorch: same gradients in, same parameters and state out."""
import numpy as np
import pytest
import torch

import tatamikomi as tm
from helpers import assert_same_error

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-3, maximize=True, weight_decay=0.01)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, amsgrad=True)),
]


def params(lib, rng):
    """Two parameters (a matrix and a vector) with the same values in either library."""
    arrays = [rng.standard_normal((5, 4)).astype(np.float32),
              rng.standard_normal(4).astype(np.float32)]
    make = tm.nn.Parameter if lib is tm else torch.nn.Parameter
    return [make(lib.tensor(a)) for a in arrays]


def run(lib, name, kw, steps=8, groups=False):
    rng = np.random.default_rng(0)
    ps = params(lib, rng)
    spec = [{"params": [ps[0]]}, {"params": [ps[1]], "lr": kw["lr"] / 2}] if groups else ps
    opt = getattr(lib.optim, name)(spec, **kw)
    for step in range(steps):
        for p in ps:
            g = rng.standard_normal(tuple(p.shape)).astype(np.float32)
            p.grad = None if step == 3 and p is ps[1] else lib.tensor(g)   # a skipped param
        opt.step()
    return ps, opt


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{sorted(k.items())}" for n, k in CASES])
@pytest.mark.parametrize("groups", [False, True])
def test_updates_match_torch(name, kw, groups):
    ours, oo = run(tm, name, kw, groups=groups)
    theirs, ot = run(torch, name, kw, groups=groups)
    for a, b in zip(ours, theirs):
        assert a.dtype == tm.float32 and isinstance(a, tm.nn.Parameter)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(ours, theirs):               # the optimizer's state too (momentum, moments)
        sa, sb = oo.state[a], ot.state[b]
        assert sorted(sa) == sorted(sb)
        for key in sa:
            np.testing.assert_allclose(np.asarray(sa[key].numpy()), sb[key].numpy(),
                                       rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,kw", CASES[1:2] + CASES[7:8] + CASES[9:10])
def test_state_dict_layout_and_round_trip(name, kw):
    ours, oo = run(tm, name, kw, groups=True)
    theirs, ot = run(torch, name, kw, groups=True)
    a, b = oo.state_dict(), ot.state_dict()
    assert [sorted(g) for g in a["param_groups"]] == [sorted(g) for g in b["param_groups"]]
    assert [g["params"] for g in a["param_groups"]] == [g["params"] for g in b["param_groups"]]
    assert {k: sorted(v) for k, v in a["state"].items()} == \
        {k: sorted(v) for k, v in b["state"].items()}
    # resume: a fresh optimizer loaded from the state dict continues exactly as the original
    rng = np.random.default_rng(1)
    fresh = [tm.nn.Parameter(p.detach().clone()) for p in ours]
    spec = [{"params": [fresh[0]]}, {"params": [fresh[1]]}]
    resumed = getattr(tm.optim, name)(spec, **kw)
    resumed.load_state_dict(tm.load(_roundtrip(a)))
    for _ in range(3):
        for p, q in zip(ours, fresh):
            g = rng.standard_normal(tuple(p.shape)).astype(np.float32)
            p.grad, q.grad = tm.tensor(g), tm.tensor(g)
        oo.step()
        resumed.step()
    for p, q in zip(ours, fresh):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def _roundtrip(obj):
    import io
    buf = io.BytesIO()
    tm.save(obj, buf)
    buf.seek(0)
    return buf


def test_zero_grad_sets_to_none_by_default():
    p = tm.nn.Parameter(tm.ones(3))
    opt = tm.optim.SGD([p], lr=0.1)
    p.grad = tm.ones(3)
    opt.zero_grad()
    assert p.grad is None
    p.grad = tm.ones(3)
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0, 0.0]


def test_step_lr_matches_torch():
    def lrs(lib):
        p = (tm.nn.Parameter if lib is tm else torch.nn.Parameter)(lib.zeros(1))
        opt = lib.optim.SGD([p], lr=0.5)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.3)
        out = []
        for _ in range(10):
            out.append((sched.get_last_lr()[0], opt.param_groups[0]["lr"]))
            opt.step()
            sched.step()
        return out
    np.testing.assert_allclose(lrs(tm), lrs(torch), rtol=1e-12)


ERRORS = {
    "lr": lambda lib, p: lib.optim.SGD([p], lr=-1),
    "momentum": lambda lib, p: lib.optim.SGD([p], lr=0.1, momentum=-0.5),
    "wd": lambda lib, p: lib.optim.SGD([p], lr=0.1, weight_decay=-1),
    "nesterov": lambda lib, p: lib.optim.SGD([p], lr=0.1, nesterov=True),
    "nesterov-damp": lambda lib, p: lib.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1,
                                                  nesterov=True),
    "beta0": lambda lib, p: lib.optim.Adam([p], betas=(1.0, 0.999)),
    "beta1": lambda lib, p: lib.optim.Adam([p], betas=(0.9, -0.1)),
    "eps": lambda lib, p: lib.optim.Adam([p], eps=-1e-8),
    "adam-lr": lambda lib, p: lib.optim.AdamW([p], lr=-0.1),
    "empty": lambda lib, p: lib.optim.Adam([]),
    "duplicate": lambda lib, p: lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    assert_same_error(lambda: ERRORS[name](tm, tm.nn.Parameter(tm.ones(2))),
                      lambda: ERRORS[name](torch, torch.nn.Parameter(torch.ones(2))))


def test_adam_trains_a_small_problem():
    """Least squares by Adam: the loss must fall by orders of magnitude."""
    tm.manual_seed(0)
    X, w_true = tm.randn(64, 3), tm.tensor([[1.5], [-2.0], [0.5]])
    y = X @ w_true
    w = tm.nn.Parameter(tm.zeros(3, 1))
    opt = tm.optim.Adam([w], lr=0.1)
    first = None
    for _ in range(200):
        opt.zero_grad()
        loss = ((X @ w - y) ** 2).mean()
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4 * first
