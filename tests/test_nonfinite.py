"""NaN and infinities in x, w or gy: each reaches exactly the results that read it, per kernel.

The oracle is `direct`, whose rule is that padding adds exactly nothing (0 * inf would be NaN).
It is checked against PyTorch first: everywhere on the values that never meet padding (x in
every result, w and gy in grad_input), and on the rest (w in y, gy in grad_weight) where
PyTorch's float32 CPU path skips padding too. PyTorch is not consistent there: its float64 path
and its grouped (not depthwise), dilated and padded 1x1 float32 paths multiply the zeros and get
NaN. Every kernel the rules or the autotuner can pick must then give direct's results.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tatamikomi import kernels
from tatamikomi.kernels import ConvSpec, direct, fused, im2col

# (x shape, w shape, stride, padding (top, bottom, left, right), dilation, groups)
CASES = {
    "3x3": ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "3x3-stride2": ((2, 4, 9, 8), (6, 4, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),
    "3x3-stride2-groups2": ((2, 4, 9, 8), (6, 2, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 2),
    "3x3-dilated": ((2, 4, 9, 8), (6, 4, 3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 1),
    "3x3-uneven-padding": ((1, 3, 7, 6), (5, 3, 3, 3), (1, 1), (0, 2, 2, 1), (1, 1), 1),
    "3x2-uneven-padding": ((2, 3, 7, 6), (4, 3, 3, 2), (1, 1), (0, 1, 2, 0), (1, 1), 1),
    "depthwise": ((2, 4, 8, 8), (4, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 4),
    "depthwise-x2-stride2": ((2, 4, 8, 7), (8, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 4),
    "5x5": ((1, 16, 12, 12), (4, 16, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1),
    "5x6-groups2-uneven": ((1, 16, 11, 12), (4, 8, 5, 6), (1, 1), (2, 1, 0, 3), (1, 1), 2),
    "1x1-stride2": ((2, 8, 7, 6), (4, 8, 1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),
    "1x1-padded": ((2, 8, 6, 6), (4, 8, 1, 1), (1, 1), (1, 1, 1, 1), (1, 1), 1),
}
# Where PyTorch's float32 path skips padding (checked by test_direct_matches_torch_at_padding)
TORCH_SKIPS_PADDING = ["3x3", "3x3-stride2", "depthwise", "5x5"]


def spec_of(name, dtype):
    return ConvSpec.make(*CASES[name], dtype=dtype)


def planted(spec, dtype):
    """(which, position, value, x, w, gy): one NaN, +inf or -inf in one of x, w and gy, at a
    corner, the opposite corner or the middle of the array, the rest standard normal."""
    for which in ("x", "w", "gy"):
        for where in ("first", "last", "middle"):
            for value in (np.nan, np.inf, -np.inf):
                rng = np.random.default_rng(0)
                arrays = {k: rng.standard_normal(s).astype(dtype) for k, s in
                          (("x", spec.x_shape), ("w", spec.w_shape), ("gy", spec.y_shape))}
                a = arrays[which]
                at = {"first": 0, "last": a.size - 1, "middle": a.size // 2}[where]
                a.reshape(-1)[at] = value
                yield f"{which}={value} at {where}", which, arrays["x"], arrays["w"], arrays["gy"]


def results(kernel, x, w, gy, spec):
    return {"y": kernel.forward(x, w, spec), "gx": kernel.grad_input(gy, w, spec),
            "gw": kernel.grad_weight(x, gy, spec)}


def torch_results(x, w, gy, spec):
    """PyTorch's y, gx and gw: symmetric padding in the conv, uneven padding by F.pad first."""
    pt, pb, pl, pr = spec.padding
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    kw = dict(stride=spec.stride, dilation=spec.dilation, groups=spec.groups)
    if (pt, pl) == (pb, pr):
        y = F.conv2d(xt, wt, padding=(pt, pl), **kw)
    else:           # the padded zeros are then input: only the cases that never meet them
        y = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, **kw)
    y.backward(torch.tensor(gy))
    return {"y": y.detach().numpy(), "gx": xt.grad.numpy(), "gw": wt.grad.numpy()}


def assert_same(ours, ref, dtype, label):
    """The same NaN, +inf and -inf positions; close finite values."""
    for test in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(test(ours), test(ref), err_msg=f"{label}: {test.__name__}")
    fin = np.isfinite(ref)
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(ours[fin], ref[fin], rtol=tol, atol=tol, err_msg=label)


# the results in which a non-finite value of x, w or gy can meet padding's zeros
MEETS_PADDING = {"x": (), "w": ("y", "gw"), "gy": ("gw",)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", CASES)
def test_direct_matches_torch_away_from_padding(name, dtype):
    spec = spec_of(name, dtype)
    for label, which, x, w, gy in planted(spec, dtype):
        ours, theirs = results(direct, x, w, gy, spec), torch_results(x, w, gy, spec)
        for r in ours:
            if r not in MEETS_PADDING[which] or not any(spec.padding):
                assert_same(ours[r], theirs[r], dtype, f"{label} -> {r}")


@pytest.mark.parametrize("name", TORCH_SKIPS_PADDING)
def test_direct_matches_torch_at_padding(name):
    """A NaN or inf weight at the corner meets padding at the border outputs; an inf gy at the
    corner output meets it in every tap that reads padding there. PyTorch (float32) keeps both
    finite; so does direct."""
    spec = spec_of(name, "float32")
    for label, which, x, w, gy in planted(spec, "float32"):
        ours, theirs = results(direct, x, w, gy, spec), torch_results(x, w, gy, spec)
        for r in MEETS_PADDING[which]:
            assert_same(ours[r], theirs[r], "float32", f"{label} -> {r}")
    rng = np.random.default_rng(0)
    x, w, gy = (rng.standard_normal(s).astype("float32") for s in (spec.x_shape, spec.w_shape,
                                                                  spec.y_shape))
    w[0, 0, 0, 0] = np.inf
    assert np.isfinite(direct.forward(x, w, spec)[:, 0, 0, :]).all()      # the test can fail


CLAIMED = [(k, n) for k in kernels.KERNELS if k != "direct" for n in CASES
           if kernels.KERNELS[k].supports(spec_of(n, "float64"))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kernel,name", CLAIMED, ids=[f"{k}-{n}" for k, n in CLAIMED])
def test_kernel_spreads_nonfinite_values_as_direct(kernel, name, dtype):
    """FFT and Winograd mixed every input of a plane or tile (one NaN pixel reached every
    output); blocked, depthwise and im2col multiplied padding or junk zeros by inf into NaN."""
    spec = spec_of(name, dtype)
    for label, _, x, w, gy in planted(spec, dtype):
        ours = results(kernels.KERNELS[kernel], x, w, gy, spec)
        ref = results(direct, x, w, gy, spec)
        for r in ours:
            assert ours[r].dtype == np.dtype(dtype)
            assert_same(ours[r], ref[r], dtype, f"{label} -> {r}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kernel,name", CLAIMED, ids=[f"{k}-{n}" for k, n in CLAIMED])
def test_fused_forward_spreads_nonfinite_values_as_direct(kernel, name, dtype):
    """The eval path's packed forward (kernels/fused.py) with each kernel forced: a NaN or inf
    in x or w reaches the outputs direct's does, and no other."""
    spec = spec_of(name, dtype)
    with kernels.use(kernel):
        for label, which, x, w, _ in planted(spec, dtype):
            if which != "gy":
                y = fused.forward(x, fused.pack(w, spec), spec)
                assert_same(y, direct.forward(x, w, spec), dtype, f"{label} -> fused y")


@pytest.mark.parametrize("kernel,name", CLAIMED, ids=[f"{k}-{n}" for k, n in CLAIMED])
def test_finite_values_take_the_fast_path(kernel, name, monkeypatch):
    """The checks cost a pass at most: finite data never goes to direct, nor from another
    kernel to im2col."""
    def refuse(*args, **kwargs):
        raise AssertionError("finite data went to the exact path")
    for fn in ("forward", "grad_input", "grad_weight"):
        monkeypatch.setattr(direct, fn, refuse)
        if kernel != "im2col":
            monkeypatch.setattr(im2col, fn, refuse)
    spec = spec_of(name, "float32")
    rng = np.random.default_rng(0)
    x, w, gy = (rng.standard_normal(s).astype("float32") for s in (spec.x_shape, spec.w_shape,
                                                                  spec.y_shape))
    results(kernels.KERNELS[kernel], x, w, gy, spec)
