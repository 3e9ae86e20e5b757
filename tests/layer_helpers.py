"""Run a layer, loss or functional form in tatamikomi and in PyTorch and compare everything:
outputs, every input's and parameter's gradient, buffers and state_dict keys."""
import numpy as np
import torch
from helpers import assert_close, to_numpy

import tatamikomi as tm

LIBS = {"ours": (tm, tm.nn, tm.nn.functional), "torch": (torch, torch.nn, torch.nn.functional)}
DTYPES = ["float32", "float64"]


def rand(*shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def scale_of(t):
    a = np.abs(to_numpy(t))
    a = a[np.isfinite(a)]
    return max(1.0, float(a.max())) if a.size else 1.0


def same_dtype(a, b):
    return str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]


def run_both(fn, arrays, dtype="float64", seed=1):
    """fn(lib, nn, F, *tensors) in both libraries: compare outputs and every input's gradient.

    Float arrays become leaves that require grad; integer arrays (targets) do not. When fn
    returns a tuple, the first item is the differentiable one and the rest must be equal.
    """
    res = {}
    for name, (lib, nn, F) in LIBS.items():
        ts = [lib.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
        out = fn(lib, nn, F, *ts)
        extra = out[1:] if isinstance(out, tuple) else ()
        y = out[0] if isinstance(out, tuple) else out
        gy = np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(dtype)
        if y.requires_grad:
            y.backward(lib.tensor(gy))
        res[name] = y, extra, [t.grad for t in ts if t.requires_grad]
    (y, extra, grads), (ty, textra, tgrads) = res["ours"], res["torch"]
    assert same_dtype(y, ty)
    assert tuple(y.shape) == tuple(ty.shape)
    assert_close(y, ty, dtype, scale=scale_of(ty))
    for a, b in zip(extra, textra):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
        assert same_dtype(a, b)
    assert y.requires_grad == ty.requires_grad
    for a, b in zip(grads, tgrads):
        assert (a is None) == (b is None)
        if b is not None:
            assert_close(a, b, dtype, scale=scale_of(b))
    return res


def module_pair(factory, dtype="float64"):
    """factory(nn) built in both libraries, ours given torch's parameters and buffers."""
    theirs = factory(torch.nn)
    ours = factory(tm.nn)
    theirs = theirs.double() if dtype == "float64" else theirs.float()
    ours = ours.double() if dtype == "float64" else ours.float()
    state = {k: tm.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return ours, theirs


def run_module(factory, x, dtype="float64", train=True, steps=1):
    """Forward/backward a module pair on x: outputs, input and parameter gradients, buffers."""
    ours, theirs = module_pair(factory, dtype)
    ours.train(train)
    theirs.train(train)
    mods = {"ours": ours, "torch": theirs}
    for step in range(steps):
        run_both(lambda lib, nn, F, t: mods["ours" if lib is tm else "torch"](t),
                 [x if step == 0 else x * (step + 1) + step], dtype, seed=step)
        for (ka, pa), (kb, pb) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert ka == kb
            assert (pa.grad is None) == (pb.grad is None)
            if pb.grad is not None:
                assert_close(pa.grad, pb.grad, dtype, scale=scale_of(pb.grad))
        ours.zero_grad()
        theirs.zero_grad()
        assert_state_equal(ours, theirs, dtype)
    return ours, theirs


def assert_state_equal(ours, theirs, dtype="float64"):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for k in b:
        assert same_dtype(a[k], b[k]), k
        assert_close(a[k], b[k], dtype, scale=scale_of(b[k]))
