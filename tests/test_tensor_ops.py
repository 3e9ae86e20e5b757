"""Tensor ops real programs use (indexing, splitting, reductions, matrix products) against
PyTorch: values, gradients (float64), dtypes, node names, and their errors."""
import numpy as np
import pytest
import torch
from helpers import assert_close, assert_same_error

import tatamikomi as tm

X = np.random.default_rng(0).normal(size=(3, 4, 5))
IDX = np.random.default_rng(1).integers(0, 4, size=(3, 2, 5))
TIES = np.array([[1.0, 3.0, 3.0, -2.0], [0.0, 0.0, 0.0, 1.0], [5.0, np.nan, 2.0, 5.0]])


def _long(L, a):
    return L.tensor(a, dtype=L.int64)


CASES = {
    "gather": lambda L, x: x.gather(1, _long(L, IDX)),
    "torch.gather": lambda L, x: L.gather(x, 2, _long(L, IDX[:, :, :3] % 5)),
    "scatter": lambda L, x: x.scatter(1, _long(L, IDX[:, :1]), x[:, :1] * 2),
    "scatter_value": lambda L, x: x.scatter(1, _long(L, IDX[:, :1]), 0.5),
    "scatter_add": lambda L, x: x.scatter_add(1, _long(L, IDX), x[:, :2] * 3),
    "index_select": lambda L, x: x.index_select(1, _long(L, [3, 0, 3])),
    "masked_fill": lambda L, x: x.masked_fill(x > 0.3, -1.0),
    "topk": lambda L, x: x.topk(3, dim=1).values * 1.5,
    "topk_small": lambda L, x: x.topk(2, largest=False)[0],
    "sort": lambda L, x: x.sort(dim=2, descending=True)[0],
    "sort_asc": lambda L, x: x.sort(0).values,
    "chunk": lambda L, x: x.chunk(3, 2)[1] * 2,
    "chunk_last": lambda L, x: x.chunk(2, 1)[-1],
    "split": lambda L, x: L.cat([p * (i + 1) for i, p in enumerate(x.split(2, 2))], 2),
    "split_sizes": lambda L, x: x.split([1, 3], 1)[1],
    "unbind": lambda L, x: x.unbind(1)[2],
    "narrow": lambda L, x: x.narrow(2, 1, 3),
    "flip": lambda L, x: x.flip(0, 2) * L.flip(x, [1]),
    "roll": lambda L, x: x.roll(2, 1),
    "roll_flat": lambda L, x: x.roll(7),
    "repeat": lambda L, x: x.repeat(2, 1, 1, 3),
    "repeat_interleave": lambda L, x: x.repeat_interleave(2, dim=1),
    "tile": lambda L, x: x.tile((2,)),
    "movedim": lambda L, x: x.movedim(0, 2),
    "var": lambda L, x: x.var(1),
    "var_all": lambda L, x: x.var(),
    "std_keep": lambda L, x: x.std(dim=(0, 2), keepdim=True),
    "std_biased": lambda L, x: x.std(2, unbiased=False),
    "var_correction": lambda L, x: x.var(0, correction=0),
    "prod": lambda L, x: x.prod(1),
    "prod_all": lambda L, x: x[0, :2].prod(),
    "cumsum": lambda L, x: x.cumsum(2),
    "amax": lambda L, x: x.amax(1),
    "amin": lambda L, x: x.amin((0, 2), keepdim=True),
    "norm": lambda L, x: x.norm(),
    "norm_dim": lambda L, x: x.norm(dim=1),
    "norm_1": lambda L, x: x.norm(p=1, dim=2),
    "logsumexp": lambda L, x: x.logsumexp(1),
    "mm": lambda L, x: x[0].mm(x[1].T),
    "bmm": lambda L, x: x.bmm(x.transpose(1, 2)),
    "torch.bmm": lambda L, x: L.bmm(x, x.transpose(1, 2)),
    "mv": lambda L, x: x[0].mv(x[1, 0]),
    "dot": lambda L, x: x[0, 0].dot(x[1, 1]),
    "outer": lambda L, x: L.outer(x[0, 0], x[1, 1]),
    "einsum_mm": lambda L, x: L.einsum("bij,bkj->bik", x, x),
    "einsum_sum": lambda L, x: L.einsum("ijk->j", x),
    "einsum_implicit": lambda L, x: L.einsum("ij,jk", x[0], x[1].T),
    "einsum_trace_like": lambda L, x: L.einsum("bij,c->bic", x, x[0, 0, :2]),
    "axis_alias": lambda L, x: x.sum(axis=1) + x.mean(axis=1, keepdims=False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients(name):
    out = []
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        y = CASES[name](L, x)
        g = np.random.default_rng(2).normal(size=tuple(y.shape))
        y.backward(L.tensor(g))
        out.append((y.detach(), x.grad))
    assert_close(out[0][0], out[1][0])
    assert_close(out[0][1], out[1][1])


def test_topk_and_sort_indices_and_ties():
    for k in range(1, 5):
        a, b = tm.tensor(TIES).topk(k, 1), torch.tensor(TIES).topk(k, 1)
        np.testing.assert_array_equal(a.values.numpy(), b.values.numpy())
    for desc in (False, True):
        a = tm.tensor(TIES).sort(dim=1, descending=desc, stable=True)
        b = torch.tensor(TIES).sort(dim=1, descending=desc, stable=True)
        np.testing.assert_array_equal(a.values.numpy(), b.values.numpy())
        np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())
        assert a.indices.dtype == tm.int64
    ints = np.array([[3, 1, 2, 1], [0, 5, 5, 0]])
    a, b = tm.tensor(ints).argsort(1, descending=True), torch.tensor(ints).argsort(1, True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_ties_share_gradient_in_amax_and_go_to_the_picked_one_in_topk():
    for fn in (lambda x: x.amax(1), lambda x: x.topk(1, 1).values, lambda x: x.max(1).values):
        grads = []
        for L in (tm, torch):
            x = L.tensor(TIES[:2], requires_grad=True)
            fn(x).sum().backward()
            grads.append(x.grad)
        assert_close(*grads)


def test_meshgrid_both_indexings():
    a, b = np.arange(3.0), np.arange(4.0) * 2
    for indexing in ("ij", "xy"):
        ours = tm.meshgrid(tm.tensor(a), tm.tensor(b), indexing=indexing)
        theirs = torch.meshgrid(torch.tensor(a), torch.tensor(b), indexing=indexing)
        for o, t in zip(ours, theirs):
            assert_close(o, t)


def test_nonzero_all_any_count():
    x = np.array([[0, 1, 0], [2, 0, 3]])
    for L_fn in (lambda L, t: t.nonzero(), lambda L, t: t.nonzero(as_tuple=True)[1],
                 lambda L, t: t.all(1), lambda L, t: t.any(dim=0, keepdim=True),
                 lambda L, t: t.count_nonzero(1), lambda L, t: t.all()):
        np.testing.assert_array_equal(L_fn(tm, tm.tensor(x)).numpy(),
                                      L_fn(torch, torch.tensor(x)).numpy())


def test_inplace_forms_through_a_view():
    res = []
    for L in (tm, torch):
        x = L.tensor(X, requires_grad=True)
        y = x * 1
        y[0].masked_fill_(y[0] > 0, 0.0)
        y.scatter_(1, _long(L, IDX[:, :1]), 1.0)
        (y * y).sum().backward()
        res.append(x.grad)
    assert_close(*res)


@pytest.mark.parametrize("case", [
    lambda L: L.tensor(X).gather(1, L.tensor(IDX, dtype=L.float32)),
    lambda L: L.tensor(X).gather(1, L.tensor(np.zeros((4, 2, 5)), dtype=L.int64)),
    lambda L: L.tensor(X).gather(1, L.tensor(IDX[0], dtype=L.int64)),
    lambda L: L.tensor(X).gather(1, L.tensor(IDX + 4, dtype=L.int64)),
    lambda L: L.tensor(X).topk(6, 1),
    lambda L: L.tensor(X).chunk(0),
    lambda L: L.tensor(X).split([1, 1], 1),
    lambda L: L.tensor(X).repeat(2),
    lambda L: L.tensor(X).masked_fill(L.tensor(X) > 0, L.tensor([1.0, 2.0])),
    lambda L: L.tensor(X).bmm(L.tensor(X)),
    lambda L: L.tensor(X[0]).mm(L.tensor(X)),
    lambda L: L.tensor(X[0, 0]).dot(L.tensor(X[0, 1, :3])),
    lambda L: L.tensor(X).flip(0, 0),
    lambda L: L.meshgrid(L.tensor(X[0]), indexing="ji"),
], ids=lambda f: "")
def test_errors(case):
    assert_same_error(lambda: case(tm), lambda: case(torch))


def test_tensor_facts_and_new_factories():
    for L in (tm, torch):
        x = L.zeros(2, 3, dtype=L.float64).T
        assert x.stride() == (1, 3) and x.stride(1) == 3
        assert not (x.is_cuda or x.is_xpu or x.is_mps or x.is_sparse)
        assert x.element_size() == 8 and x.nbytes == 48 and x.itemsize == 8
        assert str(x.new_zeros(3).dtype).endswith("float64")
        assert x.new_full((2,), 3.0).tolist() == [3.0, 3.0]
        assert str(x.new_ones(2, dtype=L.int64).dtype).endswith("int64")
        assert str(x.new_tensor([1, 2]).dtype).endswith("float64")
        assert str(L.ones(2).type_as(x).dtype).endswith("float64")


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_factories_take_size_as_a_keyword(name):
    for L in (tm, torch):
        assert tuple(getattr(L, name)(size=(2, 3)).shape) == (2, 3)
        assert tuple(getattr(L, name)(size=[4]).shape) == (4,)
    tm.manual_seed(1)
    torch.manual_seed(1)
    if name in ("rand", "randn"):
        np.testing.assert_array_equal(getattr(tm, name)(size=(3,)).numpy(),
                                      getattr(torch, name)(size=(3,)).numpy())
