"""Optimizers and schedules against PyTorch: same gradients in, same parameters and state out."""
import io
import warnings

import numpy as np
import pytest
import torch
from helpers import assert_same_error

import tatamikomi as tm

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, maximize=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.2, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=1e-2, betas=(0.3, 0.5))),                 # PyTorch's other lerp branch
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-3, maximize=True, weight_decay=0.01)),
    ("Adam", dict(lr=1e-2, amsgrad=True, maximize=True, weight_decay=0.05)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, eps=1e-3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=0.05)),
    ("RMSprop", dict(lr=1e-3, alpha=0.3, centered=True, maximize=True)),     # lerp's other side
    ("RMSprop", dict(lr=1e-2, momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.3, weight_decay=0.1,
                     maximize=True)),
]
NEW = ("Adadelta", "RMSprop", "Adagrad")
LATER = [i for i, (name, _) in enumerate(CASES) if name in NEW]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CASES]
# The second group overrides options, so per-group options must win over the defaults.
GROUP2 = {"SGD": dict(lr=0.02, momentum=0.3), "Adam": dict(lr=3e-3, betas=(0.5, 0.9)),
          "AdamW": dict(lr=3e-3, weight_decay=0.5), "Adadelta": dict(rho=0.5, lr=0.3),
          "RMSprop": dict(lr=3e-3, centered=True), "Adagrad": dict(lr_decay=0.1, eps=1e-3)}


def make_params(lib, dtype=np.float32, seed=0):
    """A matrix, a vector and a 4-d tensor with the same values in either library."""
    rng = np.random.default_rng(seed)
    shapes = [(5, 4), (4,), (2, 3, 2, 2)]
    make = tm.nn.Parameter if lib is tm else torch.nn.Parameter
    return [make(lib.tensor(rng.standard_normal(s).astype(dtype))) for s in shapes]


def build(lib, name, kw, groups=False, dtype=np.float32):
    ps = make_params(lib, dtype)
    spec = [{"params": ps[:2]}, {"params": ps[2:], **GROUP2[name]}] if groups else ps
    return ps, getattr(lib.optim, name)(spec, **kw)


def feed(lib, ps, rng, step, dtype=np.float32):
    """Set .grad from numpy, drawing the same numbers for both libraries; one grad is None."""
    for p in ps:
        g = rng.standard_normal(tuple(p.shape)).astype(dtype)
        p.grad = None if step == 3 and p is ps[1] else lib.tensor(g)


def run(lib, name, kw, steps=8, groups=False, dtype=np.float32):
    ps, opt = build(lib, name, kw, groups, dtype)
    rng = np.random.default_rng(1)
    for step in range(steps):
        feed(lib, ps, rng, step, dtype)
        opt.step()
    return ps, opt


def numpy(t):
    return t.detach().numpy()


def assert_state_matches(oo, ot, ours, theirs, tol):
    for a, b in zip(ours, theirs):
        sa, sb = oo.state[a], ot.state[b]
        assert sorted(sa) == sorted(sb)
        for key in sa:
            assert sa[key].dtype == tm.float32 or key != "step"
            assert tuple(sa[key].shape) == tuple(sb[key].shape), key
            np.testing.assert_allclose(numpy(sa[key]), numpy(sb[key]), **tol)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
@pytest.mark.parametrize("groups", [False, True], ids=["one-group", "two-groups"])
def test_updates_match_torch(name, kw, groups):
    ours, oo = run(tm, name, kw, groups=groups)
    theirs, ot = run(torch, name, kw, groups=groups)
    for a, b in zip(ours, theirs):
        assert type(a) is tm.nn.Parameter and a.dtype == tm.float32
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=2e-6, atol=2e-6)
    assert len(oo.state) == len(ot.state)     # SGD without momentum keeps no state at all
    assert_state_matches(oo, ot, ours, theirs, dict(rtol=2e-6, atol=1e-7))


@pytest.mark.parametrize("name,kw", [CASES[3], CASES[12], CASES[15]], ids=[IDS[3], IDS[12],
                                                                           IDS[15]])
def test_float64_matches_torch_tightly(name, kw):
    ours, oo = run(tm, name, kw, groups=True, dtype=np.float64)
    theirs, ot = run(torch, name, kw, groups=True, dtype=np.float64)
    for a, b in zip(ours, theirs):
        assert a.dtype == tm.float64
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=1e-13, atol=1e-14)
    for a in ours:
        assert all(v.dtype == (tm.float32 if k == "step" else tm.float64)
                   for k, v in oo.state[a].items())


@pytest.mark.parametrize("name,kw", [CASES[1], CASES[7], CASES[15]], ids=[IDS[1], IDS[7],
                                                                          IDS[15]])
def test_updates_are_in_place(name, kw):
    ps, opt = build(tm, name, kw)
    arrays, grads = [p.array for p in ps], [np.ones(p.shape, np.float32) for p in ps]
    before = [a.copy() for a in arrays]
    for p, g in zip(ps, grads):
        p.grad = tm.tensor(g)
    opt.step()
    for p, a, b, g in zip(ps, arrays, before, grads):
        assert p.array is a and not np.array_equal(a, b)      # same memory, new values
        assert p.requires_grad and p.is_leaf and p.grad_fn is None
        np.testing.assert_array_equal(p.grad.numpy(), g)      # the gradient is left alone


def test_conv_model_trained_in_both_libraries():
    """Gradients from each library's own backward; both optimizers move the same way."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 2, 6, 6)).astype(np.float32), np.array([0, 2, 1, 2])
    models = []
    for lib in (tm, torch):
        m = lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3), lib.nn.ReLU(), lib.nn.Flatten(),
                              lib.nn.Linear(48, 3))
        models.append(m)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        a.array[...] = numpy(b)
    for lib, model in zip((tm, torch), models):
        ps = list(model.parameters())
        opts = [lib.optim.SGD(ps[:2], lr=0.1, momentum=0.9, nesterov=True),
                lib.optim.AdamW(ps[2:], lr=1e-2)]
        for _ in range(5):
            for opt in opts:
                opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            for opt in opts:
                opt.step()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=1e-4, atol=1e-5)


def test_zero_grad_matches_torch():
    def grads(lib, set_to_none):
        p = (tm.nn.Parameter if lib is tm else torch.nn.Parameter)(lib.ones(3))
        opt = lib.optim.SGD([p], lr=0.1)
        p.grad = lib.ones(3, requires_grad=True)              # as after create_graph=True
        g = p.grad
        opt.zero_grad() if set_to_none is None else opt.zero_grad(set_to_none=set_to_none)
        return None if p.grad is None else (p.grad.tolist(), p.grad is g, g.requires_grad)
    for set_to_none in (None, True, False):
        assert grads(tm, set_to_none) == grads(torch, set_to_none)
    assert grads(tm, False) == ([0.0, 0.0, 0.0], True, False)   # zeroed in place, detached


def test_step_runs_closure_with_grad_and_returns_its_loss():
    p = tm.nn.Parameter(tm.tensor([3.0]))
    opt = tm.optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with tm.no_grad():                                        # step re-enables grad for it
        loss = opt.step(closure)
    assert loss.item() == 9.0 and p.item() == 1.5             # 3 - 0.25 * 6


def test_param_groups_and_defaults_match_torch():
    def groups(lib, name):
        ps = make_params(lib)
        opt = getattr(lib.optim, name)([("w", ps[0]), ("b", ps[1])], lr=0.5)
        opt.add_param_group({"params": [("k", ps[2])], "lr": 0.1})
        out = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
        return out, opt.defaults, repr(opt)
    for name in ("SGD", "Adam", "AdamW") + NEW:
        assert groups(tm, name) == groups(torch, name)
    p = tm.nn.Parameter(tm.ones(1))
    assert tm.optim.Adam([p], betas=[0.5, 0.6]).param_groups[0]["betas"] == (0.5, 0.6)
    assert isinstance(tm.optim.AdamW([p]), tm.optim.Adam)


def roundtrip(obj):
    buf = io.BytesIO()
    tm.save(obj, buf)
    buf.seek(0)
    return tm.load(buf)


@pytest.mark.parametrize("name,kw", [CASES[i] for i in (2, 7, 10, 15, *LATER)],
                         ids=[IDS[i] for i in (2, 7, 10, 15, *LATER)])
def test_state_dict_layout_matches_torch(name, kw):
    ours, oo = run(tm, name, kw, groups=True)
    theirs, ot = run(torch, name, kw, groups=True)
    a, b = oo.state_dict(), ot.state_dict()
    assert list(a) == list(b) == ["state", "param_groups"]
    assert a["param_groups"] == b["param_groups"]              # options and params indices
    assert list(a["state"]) == list(b["state"])
    for i in a["state"]:
        assert list(a["state"][i]) == list(b["state"][i])
        for key, value in a["state"][i].items():
            assert isinstance(value, tm.Tensor) and value.dtype == tm.float32
            assert tuple(value.shape) == tuple(b["state"][i][key].shape)
            np.testing.assert_allclose(numpy(value), numpy(b["state"][i][key]), rtol=2e-6,
                                       atol=1e-7)
    # as PyTorch, the state is handed out by reference: a later step shows in it
    assert (a["state"][0] is oo.state[ours[0]]) == (b["state"][0] is ot.state[theirs[0]])


LONG = [2, 6, 12, 15, *LATER]          # SGD dampening, Nesterov; Adam(W) amsgrad; the new ones


@pytest.mark.parametrize("name,kw", [CASES[i] for i in LONG], ids=[IDS[i] for i in LONG])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-6)],
                         ids=["float64", "float32"])
def test_long_trajectories_match_torch(name, kw, dtype, tol):
    """30 steps in two groups: the same parameters and state (PyTorch's vectorized kernels
    fuse some multiply-adds, so a few last bits differ; the order of operations is its)."""
    ours, oo = run(tm, name, kw, steps=30, groups=True, dtype=dtype)
    theirs, ot = run(torch, name, kw, steps=30, groups=True, dtype=dtype)
    for a, b in zip(ours, theirs):
        assert a.dtype == getattr(tm, np.dtype(dtype).name)
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=tol, atol=tol)
    assert_state_matches(oo, ot, ours, theirs, dict(rtol=tol, atol=tol))    # step counts too


def test_adagrad_state_exists_before_the_first_step_as_torch():
    """Adagrad fills its state in the constructor; a group added later is filled at its step."""
    def state(lib):
        ps = make_params(lib)
        opt = lib.optim.Adagrad(ps[:2], initial_accumulator_value=0.25)
        before = opt.state_dict()
        opt.add_param_group({"params": ps[2:]})
        for p in ps:
            p.grad = lib.ones(tuple(p.shape))
        opt.step()
        return ({i: {k: numpy(v).tolist() for k, v in s.items()}
                 for i, s in before["state"].items()},
                {i: sorted(s) for i, s in opt.state_dict()["state"].items()},
                numpy(opt.state[ps[2]]["sum"]).tolist())
    assert state(tm) == state(torch)


@pytest.mark.parametrize("name,kw", [CASES[3], CASES[12], CASES[15]] + [CASES[LATER[i]] for i in
                                                                        (1, 3, 7)],
                         ids=[IDS[3], IDS[12], IDS[15]] + [IDS[LATER[i]] for i in (1, 3, 7)])
def test_state_dict_round_trip_resumes_exactly(name, kw):
    ps, opt = run(tm, name, kw, steps=5, groups=True)
    saved = roundtrip(opt.state_dict())
    copies = [tm.nn.Parameter(p.detach().clone()) for p in ps]
    fresh = getattr(tm.optim, name)([{"params": copies[:2]}, {"params": copies[2:]}], lr=9.0)
    fresh.load_state_dict(saved)
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in opt.param_groups]
    assert fresh.param_groups[1]["params"][0] is copies[2]
    rng = np.random.default_rng(3)
    for step in range(4):
        feed(tm, ps, rng, step)
        for p, q in zip(ps, copies):
            q.grad = None if p.grad is None else tm.tensor(p.grad.numpy().copy())
        opt.step()
        fresh.step()
    for p, q in zip(ps, copies):
        np.testing.assert_array_equal(numpy(p), numpy(q))     # bit for bit: same arithmetic


def test_load_state_dict_aliases_and_casts_as_torch():
    def check(lib, dtype):
        p = (tm.nn.Parameter if lib is tm else torch.nn.Parameter)(lib.ones(2, dtype=dtype))
        src = lib.optim.Adam([p])
        p.grad = lib.ones(2, dtype=dtype)
        src.step()
        sd = src.state_dict()
        q = (tm.nn.Parameter if lib is tm else torch.nn.Parameter)(lib.ones(2))   # float32
        dst = lib.optim.Adam([q])
        dst.load_state_dict(sd)
        s = dst.state[q]
        return (s["exp_avg"] is sd["state"][0]["exp_avg"], s["step"] is sd["state"][0]["step"],
                str(s["exp_avg"].dtype).split(".")[1], str(s["step"].dtype).split(".")[1])
    for dtype in ("float32", "float64"):
        assert check(tm, getattr(tm, dtype)) == check(torch, getattr(torch, dtype))


def test_state_dict_indices_and_loaded_groups_match_torch():
    """Indices count positions (a repeated parameter skips one); loading replaces each group."""
    def check(lib):
        ps = make_params(lib)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")               # the duplicate-parameter warning
            opt = lib.optim.SGD([{"params": [ps[0], ps[0], ps[1]]}, {"params": ps[2:]}], lr=0.1)
        saved = opt.state_dict()
        lib.optim.lr_scheduler.StepLR(opt, 2)             # adds initial_lr to each group
        opt.load_state_dict(saved)                        # ...which the saved groups lack
        return ([g["params"] for g in saved["param_groups"]],
                [sorted(g) for g in opt.param_groups])
    assert check(tm) == check(torch)


def test_adam_step_is_a_float32_scalar_tensor():
    p = tm.nn.Parameter(tm.ones(2, dtype=tm.float64))
    opt = tm.optim.Adam([p])
    for _ in range(3):
        p.grad = tm.ones(2, dtype=tm.float64)
        opt.step()
    step = opt.state[p]["step"]
    assert isinstance(step, tm.Tensor) and step.shape == () and step.dtype == tm.float32
    assert step.item() == 3.0


def scheduled_lrs(lib, sched_kw, epochs=12, explicit=False):
    ps = make_params(lib)
    opt = lib.optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.2}], lr=0.5)
    sched = lib.optim.lr_scheduler.StepLR(opt, **sched_kw)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                       # the epoch argument's warning
        for epoch in range(epochs):
            out.append(sched.get_last_lr() + [g["lr"] for g in opt.param_groups])
            opt.step()
            sched.step(epoch + 1) if explicit else sched.step()
    return out, sched


@pytest.mark.parametrize("kw", [dict(step_size=3), dict(step_size=2, gamma=0.5),
                                dict(step_size=1, gamma=0.9)], ids=str)
@pytest.mark.parametrize("explicit", [False, True], ids=["step()", "step(epoch)"])
def test_step_lr_matches_torch(kw, explicit):
    (ours, so), (theirs, st) = scheduled_lrs(tm, kw, explicit=explicit), \
        scheduled_lrs(torch, kw, explicit=explicit)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)
    assert so.state_dict() == st.state_dict()                # same keys, order and values


def test_step_lr_state_dict_resumes():
    _, sched = scheduled_lrs(tm, dict(step_size=3), epochs=4)
    p = tm.nn.Parameter(tm.ones(1))
    opt = tm.optim.SGD([{"params": [p]}, {"params": [tm.nn.Parameter(tm.ones(1))], "lr": 0.2}],
                       lr=0.5)
    resumed = tm.optim.lr_scheduler.StepLR(opt, step_size=3)
    resumed.load_state_dict(roundtrip(sched.state_dict()))
    for group, lr in zip(opt.param_groups, sched.get_last_lr()):
        group["lr"] = lr                                      # as the optimizer's own state would
    for _ in range(5):
        opt.step()
        sched.optimizer.step()
        resumed.step()
        sched.step()
        assert resumed.get_last_lr() == sched.get_last_lr()


def warnings_of(lib, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(lib)
    return [(w.category, str(w.message).split(".")[0]) for w in caught]


WARNINGS = {
    "sched-before-opt": lambda lib: lib.optim.lr_scheduler.StepLR(
        lib.optim.SGD([lib.nn.Parameter(lib.ones(1))]), 2).step(),
    "get-lr-outside-step": lambda lib: lib.optim.lr_scheduler.StepLR(
        lib.optim.SGD([lib.nn.Parameter(lib.ones(1))]), 2).get_lr(),
    "epoch-argument": lambda lib: _stepped(lib).step(5),
    "in-order": lambda lib: _stepped(lib).step(),
    "duplicate-params": lambda lib: lib.optim.SGD([lib.nn.Parameter(lib.ones(1))] * 2),
}


def _stepped(lib):
    opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))])
    sched = lib.optim.lr_scheduler.StepLR(opt, 2)
    opt.step()
    sched.step()
    return sched


@pytest.mark.parametrize("name", WARNINGS)
def test_warnings_match_torch(name):
    assert warnings_of(tm, WARNINGS[name]) == warnings_of(torch, WARNINGS[name])


def _loaded(lib, p, groups):
    opt = lib.optim.SGD([p], lr=0.1)
    opt.load_state_dict({"state": {}, "param_groups": groups})


ERRORS = {
    "lr": lambda lib, p: lib.optim.SGD([p], lr=-1),
    "momentum": lambda lib, p: lib.optim.SGD([p], lr=0.1, momentum=-0.5),
    "wd": lambda lib, p: lib.optim.SGD([p], lr=0.1, weight_decay=-1),
    "nesterov": lambda lib, p: lib.optim.SGD([p], lr=0.1, nesterov=True),
    "nesterov-damp": lambda lib, p: lib.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1,
                                                  nesterov=True),
    "adam-lr": lambda lib, p: lib.optim.Adam([p], lr=-0.5),
    "beta0": lambda lib, p: lib.optim.Adam([p], betas=(1.0, 0.999)),
    "beta1": lambda lib, p: lib.optim.Adam([p], betas=(0.9, -0.1)),
    "beta-ints": lambda lib, p: lib.optim.Adam([p], betas=(0, 0.99)),
    "eps": lambda lib, p: lib.optim.Adam([p], eps=-1e-8),
    "adam-wd": lambda lib, p: lib.optim.Adam([p], weight_decay=-0.1),
    "adamw-lr": lambda lib, p: lib.optim.AdamW([p], lr=-0.1),
    "adamw-no-decoupled-kw": lambda lib, p: lib.optim.AdamW([p], decoupled_weight_decay=False),
    "empty": lambda lib, p: lib.optim.Adam([]),
    "adadelta-lr": lambda lib, p: lib.optim.Adadelta([p], lr=-1),
    "adadelta-lr-tensor": lambda lib, p: lib.optim.Adadelta([p], lr=lib.ones(2)),
    "adadelta-rho": lambda lib, p: lib.optim.Adadelta([p], rho=1.5),
    "adadelta-eps": lambda lib, p: lib.optim.Adadelta([p], eps=-1.0),
    "adadelta-wd": lambda lib, p: lib.optim.Adadelta([p], weight_decay=-1),
    "rmsprop-lr": lambda lib, p: lib.optim.RMSprop([p], lr=-0.01),
    "rmsprop-eps": lambda lib, p: lib.optim.RMSprop([p], eps=-1e-8),
    "rmsprop-momentum": lambda lib, p: lib.optim.RMSprop([p], momentum=-0.9),
    "rmsprop-wd": lambda lib, p: lib.optim.RMSprop([p], weight_decay=-0.1),
    "rmsprop-alpha": lambda lib, p: lib.optim.RMSprop([p], alpha=-0.5),
    "adagrad-lr": lambda lib, p: lib.optim.Adagrad([p], lr=-1),
    "adagrad-lr_decay": lambda lib, p: lib.optim.Adagrad([p], lr_decay=-1),
    "adagrad-wd": lambda lib, p: lib.optim.Adagrad([p], weight_decay=-1),
    "adagrad-initial": lambda lib, p: lib.optim.Adagrad([p], initial_accumulator_value=-1),
    "adagrad-eps": lambda lib, p: lib.optim.Adagrad([p], eps=-1),
    "adagrad-fused-foreach": lambda lib, p: lib.optim.Adagrad([p], fused=True, foreach=True),
    "tensor-not-list": lambda lib, p: lib.optim.SGD(p),
    "not-a-tensor": lambda lib, p: lib.optim.SGD([p, 1.5]),
    "non-leaf": lambda lib, p: lib.optim.SGD([p * 2]),
    "set": lambda lib, p: lib.optim.SGD([{"params": {p}}]),
    "group-not-dict": lambda lib, p: lib.optim.SGD([{"params": [p]}, p]),
    "duplicate": lambda lib, p: lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1),
    "add-duplicate": lambda lib, p: lib.optim.SGD([p]).add_param_group({"params": p}),
    "mixed-names": lambda lib, p: lib.optim.SGD([("a", p)]).add_param_group(
        {"params": [lib.nn.Parameter(lib.ones(1))]}),
    "load-groups": lambda lib, p: _loaded(lib, p, []),
    "load-sizes": lambda lib, p: _loaded(lib, p, [{"params": [0, 1], "lr": 0.1}]),
    "sched-not-opt": lambda lib, p: lib.optim.lr_scheduler.StepLR(p, 2),
    "sched-resume": lambda lib, p: lib.optim.lr_scheduler.StepLR(lib.optim.SGD([p]), 2,
                                                                 last_epoch=3),
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


ADAM_FLAGS = [dict(), dict(maximize=True, weight_decay=0.05), dict(amsgrad=True),
              dict(weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True, maximize=True)]


@pytest.mark.parametrize("loop", ["_adam_fused", "_adam_fused_par"])
@pytest.mark.parametrize("kw", ADAM_FLAGS, ids=lambda kw: "-".join(kw) or "plain")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_fused_loop_equals_numpy_form_bit_for_bit(kw, dtype, loop):
    """The one-pass loops (serial and parallel) and the whole-array form round identically,
    NaN included."""
    from tatamikomi.optim import adam
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(257).astype(dtype) for _ in range(5)]
    arrays[1][3] = np.nan                                     # a NaN gradient
    arrays[4][5] = np.nan                                     # a NaN in max_exp_avg_sq
    arrays[3] = np.abs(arrays[3])                             # v and vmax are >= 0
    arrays[4] = np.abs(arrays[4])
    fused, ref = [a.copy() for a in arrays], [a.copy() for a in arrays]
    c = np.array([1 - 1e-3 * 0.1, 0.05, 0.1, 0.999, 1e-3, (1 - 0.999 ** 3) ** 0.5, 1e-8,
                  1e-3 / (1 - 0.9 ** 3)], dtype)
    maximize, amsgrad = kw.get("maximize", False), kw.get("amsgrad", False)
    getattr(adam, loop)(*fused, c, maximize, amsgrad)
    adam._adam_numpy(*ref, c, maximize, amsgrad)
    for a, b in zip(fused, ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", ["transposed-grad", "fortran-param"])
def test_adam_non_contiguous_arrays_take_the_numpy_form(layout):
    """Views that cannot be flattened in place still update as PyTorch's do."""
    from tatamikomi.optim import adam
    rng = np.random.default_rng(4)
    w = rng.standard_normal((6, 5)).astype(np.float32)
    grads = [rng.standard_normal((5, 6)).astype(np.float32) for _ in range(3)]   # stored as g.T
    ours = tm.nn.Parameter(tm.tensor(w))
    if layout == "fortran-param":
        ours.array = np.asfortranarray(w)
    theirs = torch.nn.Parameter(torch.tensor(w))
    opts = [tm.optim.Adam([ours], lr=1e-2, amsgrad=True),
            torch.optim.Adam([theirs], lr=1e-2, amsgrad=True)]
    for g in grads:
        ours.grad = tm.tensor(g).T if layout == "transposed-grad" else tm.tensor(g.T.copy())
        theirs.grad = torch.tensor(g.T.copy())
        assert not adam._fusable(ours.array, ours.grad.array)
        for opt in opts:
            opt.step()
    assert not ours.array.flags.c_contiguous or layout == "transposed-grad"
    np.testing.assert_allclose(numpy(ours), numpy(theirs), rtol=2e-6, atol=2e-6)
