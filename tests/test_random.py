"""Seeded draws are PyTorch's CPU draws, bit for bit: the mt19937 stream, the transforms, the state.

Every test runs the same calls in both libraries after the same seed and compares the bytes of
the results and of the generator states (torch 2.13 in this process is the oracle).
"""
import copy
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from helpers import assert_same_error

import tatamikomi as tm
from tatamikomi import creation
from tatamikomi.utils import data as tmd

LIBS = (tm, torch)
SEEDS = [0, 1, 2 ** 32 + 5, -3]
SIZES = [1, 2, 3, 15, 16, 17, 31, 33, 100, 1001]
FLOATS = ["float16", "float32", "float64"]
ALL = FLOATS + ["bool", "uint8", "int8", "int16", "int32", "int64"]


def raw(t):
    return (t.detach() if isinstance(t, torch.Tensor) else t.detach()).numpy()


def assert_same(ours, theirs):
    """Same dtype, shape and bytes (so NaN, -0.0 and every last bit count)."""
    a, b = raw(ours), raw(theirs)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
    if a.tobytes() != b.tobytes():
        bad = np.flatnonzero(a.reshape(-1) != b.reshape(-1))
        raise AssertionError(f"{bad.size} of {a.size} differ, first at {bad[:5]}: "
                             f"{a.reshape(-1)[bad[:5]]} vs {b.reshape(-1)[bad[:5]]}")


def assert_same_state():
    assert_same(tm.get_rng_state(), torch.get_rng_state())


def both(seed, fn):
    """fn(lib) in each library after manual_seed(seed), compared; the states after as well."""
    out = []
    for lib in LIBS:
        lib.manual_seed(seed)
        out.append(fn(lib))
    for ours, theirs in zip(*(o if isinstance(o, tuple) else (o,) for o in out)):
        assert_same(ours, theirs)
    assert_same_state()


# ----- factories

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
def test_rand_and_randn(seed, dtype, n):
    # randn below 16 elements takes one Box-Muller pair at a time and keeps the second normal in
    # the generator; from 16 on it fills blocks of 16 (a ragged tail redoes the last 16)
    both(seed, lambda L: (L.rand(n, dtype=getattr(L, dtype)), L.randn(n, dtype=getattr(L, dtype)),
                          L.randn(n, dtype=getattr(L, dtype)), L.rand(n, dtype=getattr(L, dtype))))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_and_shaped_draws(dtype):
    def draws(L):
        dt = getattr(L, dtype)
        return (L.randn(100003, dtype=dt), L.rand(3, 5, 7, dtype=dt), L.randn(3, 5, 7, dtype=dt),
                L.randn(2, 8, dtype=dt), L.rand_like(L.zeros(4, 9, dtype=dt)),
                L.randn_like(L.zeros(4, 9, dtype=dt)))
    both(7, draws)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ALL)
def test_randint(seed, dtype):
    # ranges of 2^28 and more take 64-bit draws
    def draws(L):
        dt = getattr(L, dtype)
        top = 2 if dtype == "bool" else 100 if dtype in ("uint8", "int8") else 1000
        out = [L.randint(top, (17,), dtype=dt), L.randint(0, top, (3, 4), dtype=dt)]
        if dtype in ("int32", "int64", "float64"):
            out += [L.randint(-2 ** 30, 2 ** 30, (9,), dtype=dt),
                    L.randint(0, 2 ** 28 - 1, (9,), dtype=dt),
                    L.randint(0, 2 ** 28, (9,), dtype=dt)]
        if dtype == "int64":
            out.append(L.randint(-2 ** 40, 2 ** 41, (9,)))
        return tuple(out)
    both(seed, draws)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000, 100003])
def test_randperm(seed, n):
    both(seed, lambda L: (L.randperm(n), L.randperm(n, dtype=L.float32),
                          L.randperm(n, dtype=L.int32)))



def _normal_and_bernoulli(L):
    # tatamikomi's functions live in creation.py until __init__ exports them as torch does
    return creation if L is tm else torch


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_and_bernoulli_functions(dtype):
    m = np.linspace(-1, 1, 40).astype(dtype).reshape(2, 20)
    sd = np.linspace(0.1, 3, 20).astype(dtype)

    def draws(L):
        f = _normal_and_bernoulli(L)
        return (f.normal(0.5, 2.0, (20,)), f.normal(0.5, 2.0, (3, 7), dtype=getattr(L, dtype)),
                f.normal(L.tensor(m), L.tensor(sd)), f.normal(L.tensor(m), 2.5),
                f.normal(0.3, L.tensor(sd)), f.normal(L.tensor(m[0, :5]), 0.5),
                f.bernoulli(L.tensor(sd / 3)), f.bernoulli(L.tensor(sd), 0.3),
                f.normal(0.0, 1.0, (4,), generator=L.Generator().manual_seed(1)))
    both(2, draws)


def test_normal_passes_zero_gradients():
    grads = []
    for L in LIBS:
        mean, std = L.zeros(3, requires_grad=True), L.ones(3, requires_grad=True)
        y = _normal_and_bernoulli(L).normal(mean, std)
        y.sum().backward()
        grads.append((y.requires_grad, mean.grad.tolist(), std.grad.tolist()))
    assert grads[0] == grads[1]


@pytest.mark.parametrize("call", ["float std < 0", "tensor std < 0", "tensor and float std < 0",
                                  "shapes"])
def test_normal_errors(call):
    def run(L):
        f = _normal_and_bernoulli(L)
        return {"float std < 0": lambda: f.normal(0.0, -1.0, (2,)),
                "tensor std < 0": lambda: f.normal(L.zeros(2), L.tensor([1.0, -1.0])),
                "tensor and float std < 0": lambda: f.normal(L.zeros(2), -1.0),
                "shapes": lambda: f.normal(L.zeros(2), L.ones(3))}[call]()
    assert_same_error(lambda: run(tm), lambda: run(torch))


# ----- in-place draws on tensors

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [1, 5, 16, 17, 1000])
def test_float_methods(seed, dtype, n):
    def draws(L):
        x = lambda: L.empty(n, dtype=getattr(L, dtype))  # noqa: E731
        return (x().uniform_(), x().uniform_(-0.5, 2.25), x().uniform_(-1 / 5 ** 0.5, 1 / 5 ** 0.5),
                x().normal_(), x().normal_(0.3, 2.7), x().exponential_(), x().exponential_(2.5),
                x().bernoulli_(0.3), x().bernoulli_(), x().random_(), x().random_(10),
                x().random_(-7, 99))
    both(seed, draws)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64"])
def test_integer_methods(seed, dtype):
    def draws(L):
        x = lambda: L.empty(19, dtype=getattr(L, dtype))  # noqa: E731
        return x().random_(), x().random_(2), x().random_(0, 2), x().bernoulli_(0.7)
    both(seed, draws)


def test_uniform_keeps_the_interval_open():
    # a value that rounds up to `to` becomes `from`: here 1 in 16 float32 draws does
    both(3, lambda L: (L.empty(4000).uniform_(1.0, 1.0 + 2 ** -20),
                       L.empty(4000, dtype=L.float16).uniform_(1.0, 1.0 + 2 ** -8),
                       L.empty(5).uniform_(2.0, 2.0)))


@pytest.mark.parametrize("pdtype", ["float32", "float64"])
def test_bernoulli_with_a_tensor_of_probabilities(pdtype):
    # float64 probabilities meet float64 uniforms, float32 ones float32 uniforms
    probs = np.linspace(0, 1, 60).reshape(3, 20).astype(pdtype)
    both(5, lambda L: (L.empty(3, 20).bernoulli_(L.tensor(probs)),
                       L.empty(3, 20, dtype=L.float64).bernoulli_(L.tensor(probs[0])),
                       L.empty(3, 20).t().bernoulli_(L.tensor(probs.T))))


@pytest.mark.parametrize("view", ["transposed", "sliced", "permuted"])
def test_strided_tensors_fill_in_memory_order(view):
    make = {"transposed": lambda t: t.t(), "sliced": lambda t: t[:, ::3],
            "permuted": lambda t: t.reshape(3, 4, 20).permute(2, 0, 1)}[view]

    def draws(L):
        out = []
        for dt in (L.float32, L.float64):
            for method, args in (("uniform_", (0.2, 0.9)), ("normal_", (0.5, 2.0)),
                                 ("bernoulli_", (0.3,)), ("exponential_", (1.5,)),
                                 ("random_", (0, 7))):
                base = L.zeros(12, 20, dtype=dt)
                getattr(make(base), method)(*args)
                out.append(base)
        return tuple(out)
    both(11, draws)


def test_interleaved_draws_advance_the_state_alike():
    # the cached second normal survives other draws and fills; every draw must consume exactly
    # PyTorch's words for the ones after it to agree
    def draws(L):
        g = L.Generator().manual_seed(123)
        return (L.randn(3), L.rand(2), L.randn(1), L.randint(0, 5, (3,)), L.randn(17),
                L.randn(1, dtype=L.float64), L.randperm(6), L.empty(4).bernoulli_(0.5),
                L.randn(5, generator=g), L.empty(3).normal_(generator=g), L.randn(1),
                L.empty(2, 3).exponential_(), L.rand(700), L.randn(9, dtype=L.float16),
                L.randint(0, 2 ** 30, (5,)), L.randn(1), L.rand(5, generator=g))
    both(2 ** 32 + 5, draws)


# ----- generators and the state

def test_generators_are_independent_of_the_default_one():
    def draws(L):
        g = L.Generator().manual_seed(2 ** 32 + 5)
        return (L.rand(4, generator=g), L.randn(30, generator=g), L.randint(9, (4,), generator=g),
                L.randperm(12, generator=g), L.empty(3).uniform_(generator=g), L.rand(2),
                L.empty(5).random_(generator=g), L.empty(5).bernoulli_(generator=g))
    both(0, draws)


@pytest.mark.parametrize("seed", [0, 1, 5, 2 ** 32 + 5, 2 ** 64 - 1, -1, -2 ** 63])
def test_seeds_and_initial_seed(seed):
    for lib in LIBS:
        lib.manual_seed(seed)
    assert tm.initial_seed() == torch.initial_seed()
    assert tm.Generator().manual_seed(seed).initial_seed() == \
        torch.Generator().manual_seed(seed).initial_seed()
    assert tm.Generator().initial_seed() == torch.Generator().initial_seed()
    assert_same_state()
    assert_same(tm.rand(3), torch.rand(3))


@pytest.mark.parametrize("seed", [1.5, True, None, "a", 2 ** 64, -2 ** 63 - 1])
def test_bad_seeds(seed):
    assert_same_error(lambda: tm.Generator().manual_seed(seed),
                      lambda: torch.Generator().manual_seed(seed))
    if seed not in (1.5, True):                 # torch.manual_seed takes int(seed) first
        assert_same_error(lambda: tm.manual_seed(seed), lambda: torch.manual_seed(seed))


def test_seed_draws_a_fresh_seed_and_uses_it():
    s = tm.random.seed()                        # torch.random.seed, also torch.seed
    assert isinstance(s, int) and 0 <= s < 2 ** 64 and tm.initial_seed() == s
    torch.manual_seed(s)
    assert_same(tm.rand(5), torch.rand(5))
    g = tm.Generator()
    s = g.seed()
    assert g.initial_seed() == s
    assert_same(tm.rand(5, generator=g), torch.rand(5, generator=torch.Generator().manual_seed(s)))


def test_states_have_pytorchs_layout_and_cross_between_libraries():
    for lib in LIBS:
        lib.manual_seed(2 ** 32 + 5)
        lib.rand(700)
        lib.randn(1)                            # leaves a cached normal in the state
    assert_same_state()
    assert tm.get_rng_state().dtype == tm.uint8 and tuple(tm.get_rng_state().shape) == (5056,)
    theirs = torch.get_rng_state()
    expected = torch.randn(4)                   # the cached normal first, then a fresh pair
    tm.manual_seed(0)
    tm.set_rng_state(tm.tensor(theirs.numpy()))
    assert_same(tm.randn(4), expected)


def test_state_round_trip_and_generator_copies():
    g = tm.Generator().manual_seed(9)
    tm.randn(3, generator=g)
    state = g.get_state()
    first = tm.randn(5, generator=g)
    g.set_state(state)
    assert_same(tm.randn(5, generator=g), first)
    g.set_state(state)
    for twin in (copy.deepcopy(g), pickle.loads(pickle.dumps(g))):
        assert_same(tm.randn(5, generator=twin), first)
    tg = torch.Generator()
    tg.set_state(torch.tensor(raw(state)))           # ours, loaded into torch
    assert_same(first, torch.randn(5, generator=tg))


def test_fork_rng_restores_the_state():
    tm.manual_seed(4)
    before = raw(tm.get_rng_state()).copy()
    with tm.random.fork_rng():
        tm.rand(100)
    assert raw(tm.get_rng_state()).tobytes() == before.tobytes()
    with tm.random.fork_rng(enabled=False):
        tm.rand(1)
    assert raw(tm.get_rng_state()).tobytes() != before.tobytes()


@pytest.mark.parametrize("bad", ["list", "float tensor", "short", "zeros", "left 0", "next 625"])
def test_bad_states(bad):
    def make(L):
        state = raw(L.get_rng_state()).copy()
        if bad == "zeros":
            state[:] = 0
        elif bad == "left 0":
            state[8:12] = 0
        elif bad == "next 625":
            state[16:18] = (625 % 256, 625 // 256)
        return {"list": [1, 2], "float tensor": L.zeros(5056),
                "short": L.zeros(5048, dtype=L.uint8)}.get(bad, L.tensor(state))
    assert_same_error(lambda: tm.set_rng_state(make(tm)), lambda: torch.set_rng_state(make(torch)))


@pytest.mark.parametrize("call", ["uniform from > to", "uniform ints", "normal std < 0",
                                  "normal ints", "bernoulli p > 1", "bernoulli p < 0",
                                  "bernoulli tensor p", "exponential 0", "exponential ints",
                                  "random from >= to", "random uint8 to", "random uint8 from"])
def test_draw_errors(call):
    def run(L):
        x, i, u = L.empty(3), L.empty(3, dtype=L.int64), L.empty(3, dtype=L.uint8)
        return {"uniform from > to": lambda: x.uniform_(1, 0), "uniform ints": lambda: i.uniform_(),
                "normal std < 0": lambda: x.normal_(0, -1), "normal ints": lambda: i.normal_(),
                "bernoulli p > 1": lambda: x.bernoulli_(1.5),
                "bernoulli p < 0": lambda: x.bernoulli_(-0.25),
                "bernoulli tensor p": lambda: x.bernoulli_(L.tensor([0.5, 2.0, 0.1])),
                "exponential 0": lambda: x.exponential_(0),
                "exponential ints": lambda: i.exponential_(),
                "random from >= to": lambda: x.random_(5, 2),
                "random uint8 to": lambda: u.random_(0, 300),
                "random uint8 from": lambda: u.random_(-1, 3)}[call]()
    assert_same_error(lambda: run(tm), lambda: run(torch))


def test_random_float_range_warning():
    msgs = []
    for lib in LIBS:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            lib.empty(3).random_(0, 2 ** 25)
        msgs.append(str(seen[0].message).split(" (Triggered")[0])
    assert msgs[0] == msgs[1]


# ----- what a seeded program draws: init, dropout, shuffling

@pytest.mark.parametrize("seed", [0, 1, 2 ** 32 + 5])
def test_default_init_of_conv_and_linear(seed):
    both(seed, lambda L: tuple(p for m in (L.nn.Conv2d(3, 8, 3), L.nn.Conv2d(16, 4, (5, 3)),
                                           L.nn.Linear(20, 7), L.nn.Linear(3136, 128),
                                           L.nn.Conv2d(4, 4, 1, bias=False))
                               for p in m.parameters()))


def test_init_functions():
    def draws(L):
        w = lambda: L.empty(32, 16, 3, 3)  # noqa: E731
        g = L.Generator().manual_seed(8)
        init = L.nn.init
        return (init.kaiming_uniform_(w()), init.kaiming_uniform_(w(), a=0.1, mode="fan_out"),
                init.kaiming_normal_(w()), init.kaiming_normal_(w(), nonlinearity="relu"),
                init.xavier_uniform_(w()), init.xavier_uniform_(w(), gain=2.0),
                init.xavier_normal_(w()), init.uniform_(w(), -2, 3), init.normal_(w(), 1, 0.5),
                init.uniform_(w(), generator=g), init.kaiming_uniform_(w(), generator=g))
    both(6, draws)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_masks(dtype, p):
    x = np.random.default_rng(0).standard_normal((5, 37)).astype(dtype)

    def draws(L):
        F = L.nn.functional
        drop = L.nn.Dropout(p)
        return (F.dropout(L.tensor(x), p), F.dropout(L.tensor(x), p, training=False),
                F.dropout(L.tensor(x), 0.0), F.dropout(L.tensor(x), 1.0), drop(L.tensor(x)),
                F.dropout(L.tensor(x).t(), p), F.dropout(L.tensor(x), p, inplace=True))
    both(3, draws)


def test_chapter_model_builds_and_drops_out_alike():
    # the chapter's SimpleCNN: its 421,642 parameters and a train-mode forward's dropout mask
    def model(L):
        nn = L.nn
        net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
                            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
                            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25))
        return tuple(net.parameters()) + (net[-1](L.ones(4, 128)),)
    both(1, model)


def _epochs(L, loader_kw, epochs=3):
    loader = (tmd if L is tm else tud).DataLoader(list(range(10)), **loader_kw(L))
    return [[b if isinstance(b, int) else b.tolist() for b in loader] for _ in range(epochs)]


@pytest.mark.parametrize("kind", ["shuffle", "generator", "drop_last", "no batching",
                                  "sequential", "replacement", "num_samples", "whole multiple"])
def test_dataloader_order_over_epochs(kind):
    def kw(L):
        data_mod = tmd if L is tm else tud
        data = list(range(10))
        return {"shuffle": dict(batch_size=4, shuffle=True),
                "generator": dict(batch_size=3, shuffle=True,
                                  generator=L.Generator().manual_seed(9)),
                "drop_last": dict(batch_size=4, shuffle=True, drop_last=True),
                "no batching": dict(batch_size=None, shuffle=True),
                "sequential": dict(batch_size=4),
                "replacement": dict(batch_size=8, sampler=data_mod.RandomSampler(
                    data, replacement=True, num_samples=70)),
                "num_samples": dict(batch_size=8, sampler=data_mod.RandomSampler(
                    data, num_samples=25)),
                "whole multiple": dict(batch_size=8, sampler=data_mod.RandomSampler(
                    data, num_samples=20, generator=L.Generator().manual_seed(2)))}[kind]
    for lib in LIBS:
        lib.manual_seed(4)
    assert _epochs(tm, kw) == _epochs(torch, kw)
    assert_same_state()                         # every epoch drew its loader seed, as PyTorch's


def test_random_split_draws_alike():
    both(5, lambda L: tuple(L.tensor(list(s)) for s in
                            (tmd if L is tm else tud).random_split(range(30), [10, 15, 5])))


# ----- PyTorch's baseline x86 kernels round differently (no FMA, libm for float32 normals)

def test_baseline_cpu_capability_draws_alike():
    script = (
        "import torch, tatamikomi as tm\n"
        "def draws(lib):\n"
        "    lib.manual_seed(3)\n"
        "    out = (lib.rand(40), lib.randn(40), lib.randn(5),\n"
        "           lib.empty(7).uniform_(-0.45, 0.45), lib.randn(33, dtype=lib.float64),\n"
        "           lib.randn(3, dtype=lib.float64),\n"
        "           lib.empty(50, dtype=lib.float64).uniform_(2.5, 3.75))\n"
        "    return [o.numpy().tobytes() for o in out]\n"
        "print(draws(tm) == draws(torch))\n")
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
