"""float16 conv2d and pooling against PyTorch's CPU results, forward and backward."""
import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F

import tatamikomi as tm
import tatamikomi.nn.functional as F
from tatamikomi import kernels

# (x shape, w shape, conv2d keywords): a spec each kernel claims, to force it on
CONVS = {
    "im2col": ((2, 4, 9, 9), (6, 4, 3, 3), dict(padding=1, stride=2)),
    "blocked": ((2, 8, 9, 9), (16, 8, 3, 3), dict(padding=1)),
    "depthwise": ((2, 4, 9, 9), (8, 1, 3, 3), dict(padding=1, groups=4)),
    "gemm1x1": ((2, 8, 6, 6), (4, 8, 1, 1), {}),
    "winograd": ((2, 8, 9, 9), (8, 8, 3, 3), dict(padding=1)),
    "fft": ((2, 16, 12, 12), (4, 16, 5, 5), dict(padding=2)),
    "direct": ((1, 3, 6, 6), (2, 3, 3, 3), dict(dilation=2)),
}


def run(lib, functional, fn, *arrays):
    """fn on fresh leaf tensors, then backward with a fixed gy; the output and every grad."""
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    y = fn(functional, *ts)
    gy = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float16)
    y.backward(lib.tensor(gy))
    return [y.detach().numpy()] + [t.grad.detach().numpy() for t in ts]


@pytest.mark.parametrize("name", CONVS)
def test_conv2d_float16_as_pytorch(name):
    """PyTorch computes in float32 and rounds once; ours too, so the results differ only by the
    order of float32 sums: within one float16 rounding step of the result's scale."""
    xs, ws, kw = CONVS[name]
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float16) for s in (xs, ws, ws[:1]))

    def conv(L, x, w, b):
        return L.conv2d(x, w, b, **kw)
    with kernels.use(name):
        ours = run(tm, F, conv, x, w, b)
    theirs = run(torch, torch_F, conv, x, w, b)
    for a, t in zip(ours, theirs):
        assert a.dtype == np.float16 and a.shape == t.shape
        scale = float(np.abs(t.astype(np.float32)).max())
        np.testing.assert_allclose(a.astype(np.float32), t.astype(np.float32), rtol=2 ** -10,
                                   atol=2 ** -10 * scale)


POOLS = {
    "max-2x2": lambda L, t: L.max_pool2d(t, 2),
    "max-overlapping": lambda L, t: L.max_pool2d(t, 3, 1),
    "max-padded-dilated-ceil": lambda L, t: L.max_pool2d(t, 3, 2, 1, 2, ceil_mode=True),
    "avg-overlapping": lambda L, t: L.avg_pool2d(t, 3, 1),
    "avg-padded-ceil": lambda L, t: L.avg_pool2d(t, 3, 2, 1, ceil_mode=True,
                                                 count_include_pad=False),
    "avg-divisor": lambda L, t: L.avg_pool2d(t, 2, 1, divisor_override=3),
    "adaptive": lambda L, t: L.adaptive_avg_pool2d(t, (4, 3)),
}


@pytest.mark.parametrize("name", POOLS)
def test_pool_float16_bit_for_bit(name):
    """Forwards in float32 rounded once, backwards rounded at every step in PyTorch's order:
    overlapping windows add their gradients in float16, so only that order matches exactly."""
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 10)).astype(np.float16)
    for a, t in zip(run(tm, F, POOLS[name], x), run(torch, torch_F, POOLS[name], x)):
        assert a.dtype == np.float16
        np.testing.assert_array_equal(a, t)
