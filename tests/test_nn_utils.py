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


def test_init_trunc_normal_is_torchs_draws_and_orthogonal_eye_dirac():
    for kwargs in (dict(mean=0.5, std=2.0, a=-1.0, b=3.0), dict(a=2.0, b=3.0), {}):
        for dtype in ("float32", "float64"):
            made = []
            for L in (tm, torch):
                L.manual_seed(0)
                t = L.nn.init.trunc_normal_(L.empty(50, 30, dtype=getattr(L, dtype)), **kwargs)
                made.append((t.numpy().copy(), L.rand(2).numpy()))   # the stream after, too
            np.testing.assert_array_equal(made[0][0], made[1][0])
            np.testing.assert_array_equal(made[0][1], made[1][1])
    made = {}
    for L in (tm, torch):
        L.manual_seed(0)
        o = L.nn.init.orthogonal_(L.empty(4, 6, dtype=L.float64), gain=2.0)
        o2 = L.nn.init.orthogonal_(L.empty(6, 2, 2, dtype=L.float64))
        e = L.nn.init.eye_(L.empty(3, 5))
        d = L.nn.init.dirac_(L.empty(4, 2, 3, 3), groups=2)
        made[L] = (o, o2, e, d)
    o, o2, e, d = made[tm]
    assert_close(o, made[torch][0], rtol=1e-9, atol=1e-9)     # the same draws; QR rounding
    assert_close(o2, made[torch][1], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(e.numpy(), made[torch][2].numpy())
    np.testing.assert_array_equal(d.numpy(), made[torch][3].numpy())


def test_batchnorm_files_without_num_batches_tracked_load_as_torchs():
    for L in (tm, torch):
        bn = L.nn.BatchNorm2d(3)
        bn.num_batches_tracked.fill_(7)
        old = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
        result = bn.load_state_dict(old)                 # no version metadata: kept as it was
        assert bn.num_batches_tracked.item() == 7 and list(result.missing_keys) == []
        assert "num_batches_tracked" not in old          # the caller's dict is left alone
    # a torch-written file (with its version metadata) read here keeps its counter
    m = torch.nn.Sequential(torch.nn.BatchNorm2d(3))
    m[0].num_batches_tracked.fill_(5)
    ours = tm.nn.Sequential(tm.nn.BatchNorm2d(3))
    import io
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    ours.load_state_dict(tm.load(buf))
    assert ours[0].num_batches_tracked.item() == 5
