"""Learning-rate schedules against PyTorch: the same lrs (and momenta) step by step, the same
state_dicts, warnings and errors."""
import copy
import warnings

import numpy as np
import pytest
import torch
from helpers import assert_same_error

import tatamikomi as tm


def optimizer(lib, name="SGD", **kw):
    """Two groups with different lrs, so per-group arithmetic shows."""
    make = tm.nn.Parameter if lib is tm else torch.nn.Parameter
    ps = [make(lib.ones(2)), make(lib.ones(3))]
    kw = {"momentum": 0.9, **kw} if name == "SGD" else kw
    return getattr(lib.optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.2}],
                                    lr=0.5, **kw)


def seq(L, o, *parts):
    """A SequentialLR over schedules built by parts (each a function of L and o)."""
    *makers, milestones = parts
    return L.SequentialLR(o, [m(L, o) for m in makers], milestones)


SCHEDULES = {
    "StepLR": lambda L, o: L.StepLR(o, 4, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, [3, 7, 7, 12], gamma=0.5),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, 0.9),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-per-group": lambda L, o: L.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: e // 3]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 0.99),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=6),
    "LinearLR-down": lambda L, o: L.LinearLR(o, 1.0, 0.1, total_iters=9),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=8, power=2.0),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta_min": lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, 5),
    "CosineAnnealingWarmRestarts-mult": lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=1e-3),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=41),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.3], epochs=4,
                                                   steps_per_epoch=11, anneal_strategy="linear",
                                                   pct_start=0.25),
    "OneCycleLR-three-phase": lambda L, o: L.OneCycleLR(o, 0.8, total_steps=41, three_phase=True,
                                                        base_momentum=0.8, max_momentum=0.9,
                                                        div_factor=10.0, final_div_factor=1e3),
    "OneCycleLR-no-momentum": lambda L, o: L.OneCycleLR(o, 0.8, total_steps=41,
                                                        cycle_momentum=False),
    "CyclicLR": lambda L, o: L.CyclicLR(o, 0.01, [0.5, 0.2], step_size_up=4, step_size_down=6),
    "CyclicLR-triangular2": lambda L, o: L.CyclicLR(o, 0.01, 0.3, 5, mode="triangular2",
                                                    base_momentum=0.7),
    "CyclicLR-exp_range": lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.3, 3, mode="exp_range",
                                                  gamma=0.95, cycle_momentum=False),
    "CyclicLR-scale_fn": lambda L, o: L.CyclicLR(o, 0.01, 0.3, 4, scale_fn=lambda x: 0.9 ** x,
                                                 scale_mode="iterations"),
    "SequentialLR": lambda L, o: seq(L, o, lambda L, o: L.LinearLR(o, 0.1, total_iters=5),
                                     lambda L, o: L.ExponentialLR(o, 0.9), [5]),
    "SequentialLR-three": lambda L, o: seq(
        L, o, lambda L, o: L.ConstantLR(o, 0.3, total_iters=2),
        lambda L, o: L.CosineAnnealingLR(o, T_max=8), lambda L, o: L.StepLR(o, 3), [3, 12]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler([L.ConstantLR(o, 0.5, total_iters=3),
                                                         L.ExponentialLR(o, 0.9)]),
}
ADAM = {"OneCycleLR", "OneCycleLR-three-phase", "CyclicLR"}     # with Adam: betas[0] cycles
CASES = [(k, "SGD") for k in SCHEDULES] + [(k, "Adam") for k in sorted(ADAM)] + \
    [("CosineAnnealingLR", "RMSprop"), ("OneCycleLR", "RMSprop")]


def trajectory(lib, name, opt_name, steps=40):
    """Per step: get_last_lr() and every group's lr and momentum (or betas)."""
    opt = optimizer(lib, opt_name)
    sched = SCHEDULES[name](lib.optim.lr_scheduler, opt)
    out = []
    for _ in range(steps):
        out.append((sched.get_last_lr(), [(g["lr"], g.get("momentum"), g.get("betas"))
                                          for g in opt.param_groups]))
        opt.step()
        sched.step()
    return out, sched, opt


def plain(state):
    """A state_dict with the lambdas' slots and nested state_dicts made comparable."""
    return {k: [plain(s) for s in v] if k == "_schedulers" else v for k, v in state.items()}


@pytest.mark.parametrize("name,opt_name", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_lrs_match_torch_step_by_step(name, opt_name):
    ours, so, oo = trajectory(tm, name, opt_name)
    theirs, st, ot = trajectory(torch, name, opt_name)
    assert ours == theirs                                  # bit for bit: the same arithmetic
    assert list(so.state_dict()) == list(st.state_dict())  # keys, in PyTorch's order
    assert plain(so.state_dict()) == plain(st.state_dict())
    assert [sorted(g) for g in oo.param_groups] == [sorted(g) for g in ot.param_groups]


def test_two_schedulers_on_one_optimizer_compose_as_torch():
    """Chainable forms: each scales the lr the other left, whichever steps first."""
    def run(lib):
        L, opt = lib.optim.lr_scheduler, optimizer(lib)
        a, b = L.StepLR(opt, 3, gamma=0.5), L.CosineAnnealingLR(opt, T_max=6, eta_min=0.01)
        c = L.MultiplicativeLR(opt, lambda e: 0.97)
        out = []
        for _ in range(20):
            opt.step()
            for s in (b, a, c):
                s.step()
            out.append([a.get_last_lr(), b.get_last_lr(), c.get_last_lr()])
        return out
    assert run(tm) == run(torch)


CLOSED = ["StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR", "PolynomialLR",
          "CosineAnnealingLR-eta_min", "LambdaLR", "CosineAnnealingWarmRestarts-mult"]


@pytest.mark.parametrize("name", CLOSED)
def test_step_with_epoch_matches_torch(name):
    """step(epoch) jumps by the closed form where there is one (fractional epochs for SGDR)."""
    def run(lib):
        opt = optimizer(lib)
        sched = SCHEDULES[name](lib.optim.lr_scheduler, opt)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                 # the epoch argument's warning
            for epoch in [3, 1, 7, 7, 12, 0, 20, 4.5, 2.25] if "Warm" in name else \
                    [3, 1, 7, 7, 12, 0, 20, 5]:
                opt.step()
                sched.step(epoch)
                out.append((sched.last_epoch, sched.get_last_lr()))
        return out
    assert run(tm) == run(torch)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR-three-phase",
                                  "CyclicLR-exp_range",
                                  "SequentialLR-three", "LambdaLR", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts-mult"])
def test_state_dict_resumes_the_schedule(name):
    """A fresh optimizer and scheduler that load both state_dicts continue the same lrs."""
    opt = optimizer(tm)
    sched = SCHEDULES[name](tm.optim.lr_scheduler, opt)
    for _ in range(9):
        opt.step()
        sched.step()
    saved_opt, saved = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
    opt2 = optimizer(tm)
    sched2 = SCHEDULES[name](tm.optim.lr_scheduler, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for _ in range(15):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


def test_resuming_with_last_epoch_matches_torch():
    """last_epoch >= 0 needs initial_lr in the groups, and resumes with the closed form."""
    def run(lib):
        opt = optimizer(lib)
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"] * 2
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        out = [sched.get_last_lr()]
        for _ in range(8):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        return out, sched.base_lrs
    assert run(tm) == run(torch)


PLATEAU = [dict(), dict(mode="max", factor=0.5, patience=1), dict(threshold_mode="abs",
           threshold=0.1, patience=0, cooldown=2), dict(mode="max", threshold_mode="abs",
           patience=2, min_lr=[0.3, 0.05], factor=0.3), dict(patience=0, min_lr=0.45,
           eps=0.06), dict(patience=1, factor=0.25, cooldown=1, min_lr=0.01)]


@pytest.mark.parametrize("kw", PLATEAU, ids=str)
def test_reduce_lr_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 5), np.full(6, 0.5), rng.random(20),
                              np.linspace(0.4, 0.9, 8)]).tolist()

    def run(lib):
        opt = optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        out = []
        for m in metrics:
            opt.step()
            sched.step(lib.tensor(m) if len(out) % 3 else m)     # a tensor metric works too
            out.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups],
                        sched.num_bad_epochs, sched.cooldown_counter, sched.best))
        return out, sched.state_dict()
    (ours, so), (theirs, st) = run(tm), run(torch)
    assert ours == theirs
    assert list(so) == list(st) and so == st


def test_reduce_lr_on_plateau_load_state_dict():
    opt = optimizer(tm)
    sched = tm.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=0)
    for m in (1.0, 0.5):
        sched.step(m)
    fresh = tm.optim.lr_scheduler.ReduceLROnPlateau(optimizer(tm))
    fresh.load_state_dict(copy.deepcopy(sched.state_dict()))
    assert fresh.mode_worse == -np.inf and fresh.best == 1.0 and fresh._is_better(2.0, 1.0)


def warnings_of(lib, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(lib)
    return [(w.category, str(w.message)) for w in caught]


def _override_step(lib):
    opt = optimizer(lib)
    sched = lib.optim.lr_scheduler.StepLR(opt, 2)
    opt.step = lambda *a, **k: None                     # replaced after the scheduler wrapped it
    sched.step()


def _overstep(lib):
    opt = optimizer(lib)
    sched = lib.optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=3)
    for _ in range(4):
        opt.step()
        sched.step()


WARNINGS = {
    "sched-before-opt": lambda lib: lib.optim.lr_scheduler.ExponentialLR(optimizer(lib),
                                                                         0.9).step(),
    "overridden-step": _override_step,
    "get-lr-outside-step": lambda lib: lib.optim.lr_scheduler.LinearLR(optimizer(lib)).get_lr(),
    "epoch-argument": lambda lib: lib.optim.lr_scheduler.MultiStepLR(optimizer(lib),
                                                                     [2]).step(3),
    "plateau-epoch": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer(lib)).step(1.0, 4),
    "sequential-before-opt": lambda lib: seq(lib.optim.lr_scheduler, optimizer(lib),
                                             lambda L, o: L.LinearLR(o),
                                             lambda L, o: L.StepLR(o, 2), [2]).step(),
}


@pytest.mark.parametrize("name", WARNINGS)
def test_warnings_match_torch_word_for_word(name):
    theirs = warnings_of(torch, WARNINGS[name])
    assert theirs, "torch gave no warning: the test case is wrong"
    assert warnings_of(tm, WARNINGS[name]) == theirs


def L_(lib):
    return lib.optim.lr_scheduler


ERRORS = {
    "not-an-optimizer": lambda lib: L_(lib).CosineAnnealingLR(lib.ones(1), 3),
    "lambdas-count": lambda lib: L_(lib).LambdaLR(optimizer(lib), [lambda e: 1.0]),
    "multiplicative-not-callable": lambda lib: L_(lib).MultiplicativeLR(optimizer(lib),
                                                                        [0.9, 0.8]),
    "constant-factor": lambda lib: L_(lib).ConstantLR(optimizer(lib), factor=1.5),
    "linear-start": lambda lib: L_(lib).LinearLR(optimizer(lib), start_factor=0),
    "linear-end": lambda lib: L_(lib).LinearLR(optimizer(lib), end_factor=1.2),
    "sequential-empty": lambda lib: L_(lib).SequentialLR(optimizer(lib), [], []),
    "sequential-milestones": lambda lib: seq(L_(lib), optimizer(lib),
                                             lambda L, o: L.StepLR(o, 2), [3]),
    "sequential-other-optimizer": lambda lib: L_(lib).SequentialLR(
        optimizer(lib), [L_(lib).StepLR(optimizer(lib), 2)], []),
    "sequential-plateau": lambda lib: L_(lib).SequentialLR(
        o := optimizer(lib), [L_(lib).ReduceLROnPlateau(o)], []),
    "sequential-not-a-scheduler": lambda lib: L_(lib).SequentialLR(optimizer(lib), [3], []),
    "chained-empty": lambda lib: L_(lib).ChainedScheduler([]),
    "plateau-factor": lambda lib: L_(lib).ReduceLROnPlateau(optimizer(lib), factor=1.0),
    "plateau-mode": lambda lib: L_(lib).ReduceLROnPlateau(optimizer(lib), mode="low"),
    "plateau-threshold-mode": lambda lib: L_(lib).ReduceLROnPlateau(optimizer(lib),
                                                                    threshold_mode="x"),
    "plateau-min-lrs": lambda lib: L_(lib).ReduceLROnPlateau(optimizer(lib), min_lr=[0.1]),
    "plateau-not-an-optimizer": lambda lib: L_(lib).ReduceLROnPlateau(None),
    "warm-T_0": lambda lib: L_(lib).CosineAnnealingWarmRestarts(optimizer(lib), 0),
    "warm-T_0-float": lambda lib: L_(lib).CosineAnnealingWarmRestarts(optimizer(lib), 2.0),
    "warm-T_mult": lambda lib: L_(lib).CosineAnnealingWarmRestarts(optimizer(lib), 2, 0),
    "warm-eta_min": lambda lib: L_(lib).CosineAnnealingWarmRestarts(optimizer(lib), 2,
                                                                    eta_min="0"),
    "warm-negative-epoch": lambda lib: L_(lib).CosineAnnealingWarmRestarts(
        optimizer(lib), 2).step(-1),
    "onecycle-total": lambda lib: L_(lib).OneCycleLR(optimizer(lib), 1.0, total_steps=0),
    "onecycle-epochs": lambda lib: L_(lib).OneCycleLR(optimizer(lib), 1.0, epochs=0,
                                                      steps_per_epoch=3),
    "onecycle-steps-per-epoch": lambda lib: L_(lib).OneCycleLR(optimizer(lib), 1.0, epochs=2,
                                                               steps_per_epoch=1.5),
    "onecycle-nothing": lambda lib: L_(lib).OneCycleLR(optimizer(lib), 1.0, epochs=2),
    "onecycle-pct": lambda lib: L_(lib).OneCycleLR(optimizer(lib), 1.0, 10, pct_start=1),
    "onecycle-anneal": lambda lib: L_(lib).OneCycleLR(optimizer(lib), 1.0, 10,
                                                      anneal_strategy="exp"),
    "onecycle-max-lrs": lambda lib: L_(lib).OneCycleLR(optimizer(lib), [1.0], 10),
    "onecycle-no-momentum": lambda lib: L_(lib).OneCycleLR(optimizer(lib, "Adagrad"), 1.0, 10),
    "onecycle-overstep": _overstep,
    "cyclic-mode": lambda lib: L_(lib).CyclicLR(optimizer(lib), 0.1, 1.0, mode="sine"),
    "cyclic-max-lrs": lambda lib: L_(lib).CyclicLR(optimizer(lib), 0.1, [1.0, 2.0, 3.0]),
    "cyclic-no-momentum": lambda lib: L_(lib).CyclicLR(optimizer(lib, "Adadelta"), 0.1, 1.0),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(lambda: ERRORS[name](tm), lambda: ERRORS[name](torch))


def test_every_public_schedule_exists():
    assert tm.optim.lr_scheduler.__all__ == torch.optim.lr_scheduler.__all__
    assert all(hasattr(tm.optim.lr_scheduler, n) for n in torch.optim.lr_scheduler.__all__)
    assert issubclass(tm.optim.lr_scheduler._LRScheduler, tm.optim.lr_scheduler.LRScheduler)
