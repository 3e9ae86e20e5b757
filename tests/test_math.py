"""Element-wise math (ops/math.py's table) against PyTorch: values, gradients, node names,
integer inputs and the in-place forms."""
import numpy as np
import pytest
import torch
from helpers import assert_close, assert_same_error, raised

import tatamikomi as tm
from tatamikomi.ops.math import UNARY

DOMAIN = {                       # inputs inside each function's domain (and off its kinks)
    "sqrt": (0.1, 4.0), "rsqrt": (0.1, 4.0), "log": (0.1, 4.0), "log2": (0.1, 4.0),
    "log10": (0.1, 4.0), "log1p": (-0.9, 4.0), "asin": (-0.95, 0.95), "acos": (-0.95, 0.95),
    "acosh": (1.1, 4.0), "atanh": (-0.95, 0.95), "erfinv": (-0.99, 0.99),
    "reciprocal": (0.2, 3.0), "tan": (-1.2, 1.2),
}


def inputs(name, seed=0):
    lo, hi = DOMAIN.get(name, (-3.0, 3.0))
    return np.random.default_rng(seed).uniform(lo, hi, size=(3, 7))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_value_gradient_and_node_name(name, dtype):
    x = inputs(name).astype(dtype)
    g = np.random.default_rng(1).normal(size=x.shape).astype(dtype)
    out = {}
    for L in (tm, torch):
        t = L.tensor(x, requires_grad=True)
        y = getattr(t, name)()
        y.backward(L.tensor(g))
        out[L.__name__] = y, t.grad, type(y.grad_fn).__name__ if L is torch else y.grad_fn.name()
    (y, gx, node), (ty, tgx, tnode) = out["tatamikomi"], out["torch"]
    assert node == tnode
    assert y.dtype == getattr(tm, dtype)
    # float32: NumPy and PyTorch's vector math round the last bit differently
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=2e-6, atol=1e-6)
    assert_close(y, ty, dtype, **tol)
    assert_close(gx, tgx, dtype, **tol)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_integer_input(name):
    x = np.array([[1, 2, 3], [-1, 0, 2]], dtype=np.int64)
    if name in DOMAIN:
        x = np.abs(x) + 1 if name not in ("asin", "acos", "atanh", "erfinv") else x * 0
    if raised(lambda: getattr(torch.tensor(x), name)()):
        assert_same_error(lambda: getattr(tm.tensor(x), name)(),
                          lambda: getattr(torch.tensor(x), name)())
        return
    ours, theirs = getattr(tm.tensor(x), name)(), getattr(torch.tensor(x), name)()
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", ["exp", "sigmoid", "sqrt", "sin", "abs", "floor"])
def test_inplace_forms(name):
    x = inputs(name, 3)
    results = []
    for L in (tm, torch):
        a = L.tensor(x, requires_grad=True)
        b = a * 1
        v = b[1:]
        getattr(v, name + "_")()                    # through a view: the base records it
        (b * b).sum().backward()
        results.append((b.detach(), a.grad))
    assert_close(results[0][0], results[1][0])
    assert_close(results[0][1], results[1][1])


def test_inplace_on_an_integer_tensor_refuses_a_float_result():
    for L in (tm, torch):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                               "output type Long"):
            L.tensor([1, 2]).sin_()


def test_special_values_follow_torch():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0])
    for name in sorted(UNARY):
        ours = getattr(tm.tensor(x), name)().numpy()
        theirs = getattr(torch.tensor(x), name)().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True, err_msg=name)
