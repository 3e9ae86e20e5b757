"""Threads: grad mode is per thread, as PyTorch's, and backward from several threads into one
model's parameters adds every gradient exactly once (Hogwild-style training relies on it)."""
import threading

import numpy as np
import torch

import tatamikomi as tm


def in_thread(fn):
    """Run fn in a new thread; return what it returned (re-raising what it raised)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # handed back to the caller
            out["error"] = e
    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_new_thread_starts_with_grad_on_whatever_this_one_has():
    for L in (torch, tm):
        with L.no_grad():
            assert in_thread(L.is_grad_enabled) is True


def test_no_grad_in_one_thread_leaves_the_others_recording():
    inside, done = threading.Event(), threading.Event()

    def quiet():
        with tm.no_grad():
            inside.set()
            done.wait(10)

    t = threading.Thread(target=quiet)
    t.start()
    inside.wait(10)
    try:
        x = tm.ones(3, requires_grad=True)
        recorded = [(x * 2).requires_grad for _ in range(40)]
    finally:
        done.set()
        t.join()
    assert all(recorded)


def test_two_threads_in_no_grad_at_once_leave_grad_mode_on():
    # A enters, B enters, A leaves, B leaves: with one global mode, B restored A's "off".
    steps = [threading.Event() for _ in range(3)]
    modes = {}

    def a():
        with tm.no_grad():
            steps[0].set()
            steps[1].wait(10)
        steps[2].set()
        modes["a"] = tm.is_grad_enabled()

    def b():
        steps[0].wait(10)
        with tm.no_grad():
            steps[1].set()
            steps[2].wait(10)
        modes["b"] = tm.is_grad_enabled()

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert modes == {"a": True, "b": True} and tm.is_grad_enabled()


def test_backward_from_two_threads_into_one_model_adds_every_gradient():
    rng = np.random.default_rng(0)
    model = tm.nn.Linear(256, 256).double()
    xs = [tm.tensor(rng.normal(size=(8, 256))) for _ in range(2)]
    steps = 30

    def work(x):
        for _ in range(steps):
            y = model(x)
            (y * y).sum().backward()

    # the expected sum, one thread at a time (each step's gradient is the same)
    expected = []
    for x in xs:
        model.zero_grad()
        y = model(x)
        (y * y).sum().backward()
        expected.append(model.weight.grad.numpy().copy())
    model.zero_grad()
    for _ in range(3):                  # the race shows in some runs only: try a few times
        model.zero_grad(set_to_none=True)
        threads = [threading.Thread(target=work, args=(x,)) for x in xs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        want = steps * sum(expected)            # the sums' order differs from run to run
        np.testing.assert_allclose(model.weight.grad.numpy(), want, rtol=1e-10,
                                   atol=1e-12 * np.abs(want).max())


def test_accumulating_into_one_big_gradient_from_two_threads_loses_nothing():
    """Most of each backward here is the accumulation itself (a 1M-element `grad += g`, during
    which NumPy lets the other thread run), so an unlocked check-then-set or `+=` loses updates
    in every try; the test above, on a Linear, caught it in about one run in five. Each step adds
    exactly k to every element: the sum is exact in float64."""
    n, steps, ks = 1 << 20, 40, (1.0, 2.0)
    p = tm.nn.Parameter(tm.zeros(n, dtype=tm.float64))

    def work(k):
        c = tm.full((n,), k, dtype=tm.float64)
        for _ in range(steps):
            (p * c).sum().backward()

    for _ in range(3):
        p.grad = None                                   # the first accumulation races too
        threads = [threading.Thread(target=work, args=(k,)) for k in ks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        np.testing.assert_array_equal(p.grad.numpy(), np.full(n, steps * sum(ks)))

def test_forcing_a_conv_kernel_in_one_thread_leaves_the_others_to_the_rules():
    from tatamikomi import kernels
    spec = kernels.ConvSpec.make((2, 8, 9, 9), (4, 8, 3, 3))
    inside, done = threading.Event(), threading.Event()

    def forced():
        with kernels.use("direct"):
            inside.set()
            done.wait(10)

    t = threading.Thread(target=forced)
    t.start()
    inside.wait(10)
    try:
        mine = kernels.select(spec)
    finally:
        done.set()
        t.join()
    assert mine is not kernels.KERNELS["direct"] and mine is kernels.rule(spec).kernel


def test_share_memory_moves_tensors_and_modules_into_shared_memory():
    t = tm.arange(6.0)
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared()
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    model = tm.nn.Linear(3, 2)
    before = model.weight.detach().numpy().copy()
    assert model.share_memory() is model
    assert all(p.is_shared() for p in model.parameters())
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)
