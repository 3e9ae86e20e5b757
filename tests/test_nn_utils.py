"""nn.utils (gradient clipping, parameters as a vector), Linear's bias draws and clamp's
gradient at NaN, against PyTorch in the same process."""
import numpy as np
import pytest
import torch
from helpers import assert_close

import tatamikomi as tm


def grads(L, scale):
    """Two parameters with seeded gradients, the second ten times the first."""
    rng = np.random.default_rng(0)
    ps = [L.tensor(rng.normal(size=s), requires_grad=True) for s in ((3, 4), (5,))]
    for k, p in enumerate(ps):
        p.grad = L.tensor(rng.normal(size=p.shape) * scale * 10 ** k)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), 3])
@pytest.mark.parametrize("scale", [0.01, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, scale):
    out = []
    for L in (tm, torch):
        ps = grads(L, scale)
        total = L.nn.utils.clip_grad_norm_(ps, max_norm=1.5, norm_type=norm_type)
        out.append((total, [p.grad for p in ps]))
    assert_close(out[0][0], out[1][0])
    for a, b in zip(out[0][1], out[1][1]):
        assert_close(a, b)


def test_clip_grad_value_and_nonfinite_error():
    for L in (tm, torch):
        ps = grads(L, 1.0)
        L.nn.utils.clip_grad_value_(ps, 0.5)
        assert float(ps[1].grad.abs().max()) == 0.5
    errors = []
    for L in (tm, torch):
        ps = grads(L, 1.0)
        ps[0].grad[0, 0] = float("inf")
        with pytest.raises(RuntimeError) as e:
            L.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
        errors.append(str(e.value))
    assert errors[0] == errors[1]


def test_parameters_to_vector_and_back():
    for L in (tm, torch):
        m = L.nn.Linear(3, 2)
        v = L.nn.utils.parameters_to_vector(m.parameters())
        assert tuple(v.shape) == (8,)
        L.nn.utils.vector_to_parameters(L.arange(8.0), m.parameters())
        assert m.weight.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        assert m.bias.tolist() == [6.0, 7.0]


def test_linear_without_inputs_draws_its_bias_as_torch():
    for seed in (0, 3):
        tm.manual_seed(seed)
        torch.manual_seed(seed)
        ours, theirs = tm.nn.Linear(0, 5), torch.nn.Linear(0, 5)
        np.testing.assert_array_equal(ours.bias.detach().numpy(), theirs.bias.detach().numpy())
        np.testing.assert_array_equal(tm.rand(3).numpy(), torch.rand(3).numpy())


def test_clamp_gradient_keeps_nan_and_inf_out():
    res = []
    for L in (tm, torch):
        x = L.tensor([float("nan"), 1.0, 20.0, -5.0], requires_grad=True)
        x.clamp(-2.0, 10.0).backward(L.tensor([float("nan"), 1.0, float("inf"), 2.0]))
        y = L.tensor([float("nan"), 1.0, -3.0], requires_grad=True)
        y.clamp(min=0.0).backward(L.tensor([float("inf"), 2.0, float("nan")]))
        res.append((x.grad, y.grad))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
