"""PyTorch's autograd API against PyTorch: custom Functions with ctx, autograd.grad, hooks,
retain_grad, backward(inputs=), the graph as grad_fn / next_functions show it."""
import numpy as np
import pytest
import torch
from helpers import assert_close, assert_same_error

import tatamikomi as tm


def functions(L):
    """The same custom Functions written against either library's torch.autograd.Function."""

    class Clip(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, lo):
            ctx.save_for_backward(x)
            ctx.lo = lo
            return x.clamp(min=lo)

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            g = gy.clone()
            g[x < ctx.lo] = 0
            return g, None

    class Cubic(L.autograd.Function):            # new style: forward without ctx
        @staticmethod
        def forward(x, a):
            return a * x ** 3 - x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, gy):
            x, a = ctx.saved_tensors
            return gy * (3 * a * x ** 2 - 1), (gy * x ** 3).sum()

    class SplitSum(L.autograd.Function):          # two outputs, one of them unused later
        @staticmethod
        def forward(ctx, x):
            return x * 2, x.sum(0)

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2.expand_as(g1) if g2 is not None else g1 * 2

    class DoubleInPlace(L.autograd.Function):           # in place, marked dirty
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(2)

        @staticmethod
        def backward(ctx, gy):
            return gy * 2

    return Clip, Cubic, SplitSum, DoubleInPlace


X = np.random.default_rng(0).normal(size=(3, 4))


def run_both(fn):
    out = []
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        y = fn(L, x, functions(L))
        y.sum().backward() if y.ndim else y.backward()
        out.append((y.detach(), x.grad, y.grad_fn))
    assert_close(out[0][0], out[1][0])
    assert_close(out[0][1], out[1][1])
    return out


def test_custom_function_old_and_new_style():
    out = run_both(lambda L, x, f: f[0].apply(x * 1.5, 0.2) * f[1].apply(x, L.tensor(0.7)))
    assert out[0][2].name() == out[1][2].name()           # MulBackward0 over both


def test_custom_function_node_name_and_next_functions():
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        y = functions(L)[0].apply(x, 0.0)
        assert type(y.grad_fn).__name__ in ("ClipBackward", "Clip")
        assert y.grad_fn.name() == "ClipBackward"
        (node, k), = y.grad_fn.next_functions[:1]
        assert node.name() == "torch::autograd::AccumulateGrad" and k == 0
        assert node.variable is x


def test_custom_function_with_two_outputs():
    run_both(lambda L, x, f: (lambda a, b: a * 3 + b)(*f[2].apply(x)))
    run_both(lambda L, x, f: f[2].apply(x)[0] * 3)           # the second output gets no grad


def test_custom_function_in_place_marked_dirty():
    out = run_both(lambda L, x, f: f[3].apply(x * 1) + 1)
    assert out[0][2].name() == out[1][2].name()


def test_custom_function_errors():
    def bad_count(L):
        class Bad(L.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x * y

            @staticmethod
            def backward(ctx, gy):
                return gy
        x = L.tensor(X, requires_grad=True)
        Bad.apply(x, x).sum().backward()

    def bad_shape(L):
        class Bad(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, gy):
                return gy[:1, :2]
        Bad.apply(L.tensor(X, requires_grad=True)).sum().backward()

    def modified_saved(L):
        x = L.tensor(X, requires_grad=True)
        y = x * 1
        z = functions(L)[0].apply(y, 0.0)
        y.add_(1)
        z.sum().backward()

    for case in (bad_count, bad_shape, modified_saved):
        assert_same_error(lambda c=case: c(tm), lambda c=case: c(torch))


def test_autograd_grad_leaves_and_intermediates():
    res = []
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        w = L.tensor(X.T.copy(), requires_grad=True)
        h = (x @ w).tanh()
        y = (h * h).sum()
        gx, gh = L.autograd.grad(y, [x, h], retain_graph=True)
        (gw,) = L.autograd.grad(y, w, grad_outputs=L.tensor(2.0))
        assert x.grad is None and w.grad is None           # nothing accumulates
        res.append((gx, gh, gw))
    for a, b in zip(*res):
        assert_close(a, b)


def test_autograd_grad_unused_inputs():
    def unused(L, allow):
        x, z = L.tensor(X, requires_grad=True), L.tensor(X, requires_grad=True)
        return L.autograd.grad((x * 2).sum(), [x, z], allow_unused=allow)

    assert_same_error(lambda: unused(tm, None), lambda: unused(torch, None))
    assert unused(tm, True)[1] is None and unused(torch, True)[1] is None


def test_backward_with_inputs_fills_only_those():
    for L in (tm, torch):
        x, w = L.tensor(X, requires_grad=True), L.tensor(X, requires_grad=True)
        (x * w).sum().backward(inputs=[w])
        assert x.grad is None and w.grad is not None


def test_hooks_on_leaves_and_intermediates_and_retain_grad():
    res = []
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        seen = []
        x.register_hook(lambda g, seen=seen: seen.append(g.sum().item()))
        h = x.sigmoid()
        h.retain_grad()
        handle = h.register_hook(lambda g: g * 10)
        y = (h * h).sum()
        y.backward(retain_graph=True)
        handle.remove()
        y.backward()
        res.append((x.grad, h.grad, seen, h.retains_grad, x.retains_grad))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])
    np.testing.assert_allclose(res[0][2], res[1][2])
    assert res[0][3:] == res[1][3:] == (True, False)


def test_the_blitz_graph_walk():
    """Print the grad_fn chain as the 60-minute blitz tutorial does."""
    names = []
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        w = L.tensor(X[:, :2].copy(), requires_grad=True)
        y = ((x.T @ w).relu() * 2 - 1).mean()
        chain, node = [], y.grad_fn
        while node is not None:
            chain.append(node.name())
            nxt = [f for f, _ in node.next_functions if f is not None]
            node = nxt[0] if nxt else None
        names.append(chain)
    assert names[0] == names[1]


def test_set_grad_enabled_as_a_statement():
    for L in (tm, torch):
        L.set_grad_enabled(False)
        try:
            assert not (L.ones(2, requires_grad=True) * 2).requires_grad
        finally:
            L.set_grad_enabled(True)
        assert (L.ones(2, requires_grad=True) * 2).requires_grad


@pytest.mark.parametrize("op", ["mul", "add", "div", "sub", "pow", "matmul", "sum", "mean",
                                "exp", "relu", "view", "permute", "getitem", "cat"])
def test_node_names_match_torch(op):
    cases = {
        "mul": lambda L, x: x * 2, "add": lambda L, x: x + x, "div": lambda L, x: x / 3,
        "sub": lambda L, x: x - 1, "pow": lambda L, x: x ** 2, "matmul": lambda L, x: x @ x.T,
        "sum": lambda L, x: x.sum(), "mean": lambda L, x: x.mean(), "exp": lambda L, x: x.exp(),
        "relu": lambda L, x: x.relu(), "view": lambda L, x: x.view(-1),
        "permute": lambda L, x: x.permute(1, 0), "getitem": lambda L, x: x[1:],
        "cat": lambda L, x: L.cat([x, x]),
    }
    ours = cases[op](tm, tm.tensor(X, requires_grad=True)).grad_fn.name()
    theirs = cases[op](torch, torch.tensor(X, requires_grad=True)).grad_fn.name()
    assert ours == theirs


def test_autograd_backward_of_several_outputs():
    res = []
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        a, b = x.sin(), (x * x).sum(1)
        L.autograd.backward([a, b], [L.ones_like(a), L.tensor([1.0, 2.0, 3.0], dtype=L.float64)])
        res.append(x.grad)
    assert_close(*res)


def test_linear_graph_is_addmm_over_t_as_torch_shows_it():
    def walk(node, depth=2):
        if node is None or depth == 0:
            return None
        return (node.name(), [walk(f, depth - 1) for f, _ in node.next_functions])

    for shape in ((2, 3), (5, 2, 3), (3,)):
        for bias in (True, False):
            graphs, outs = [], []
            for L in (tm, torch):
                L.manual_seed(0)
                lin = L.nn.Linear(3, 4, bias=bias).double()
                x = L.tensor(np.arange(np.prod(shape), dtype=float).reshape(shape),
                             requires_grad=True)
                y = lin(x)
                graphs.append(walk(y.grad_fn, 3))
                y.sum().backward()
                outs.append((y.detach(), x.grad, lin.weight.grad))
            assert graphs[0] == graphs[1], (shape, bias)
            for a, b in zip(*outs):
                assert_close(a, b)
