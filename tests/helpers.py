"""Shared test helpers: compare tatamikomi against PyTorch run in the same process."""
import re

import numpy as np
import torch

import tatamikomi as tm

torch.set_num_threads(2)

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def to_numpy(t):
    """An ndarray from a tatamikomi or torch tensor (or anything array-like)."""
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    if isinstance(t, tm.Tensor):
        return t.detach().numpy()
    return np.asarray(t)


def assert_close(ours, theirs, dtype="float64", scale=1.0, **tol):
    """Assert values match within the dtype's tolerance (atol grows with the result's scale)."""
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    t = dict(TOL[dtype], **tol)
    np.testing.assert_allclose(a, b, rtol=t["rtol"], atol=t["atol"] * scale)


def pair(array, requires_grad=False):
    """The same data as a tatamikomi tensor and a torch tensor."""
    array = np.ascontiguousarray(array)
    ours = tm.tensor(array.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(array.copy(), requires_grad=requires_grad)
    return ours, theirs


def raised(fn):
    """The exception fn raises (or None)."""
    try:
        fn()
    except Exception as e:  # we compare whatever torch raises
        return e
    return None


TYPE_NAMES = r"\btorch\.(bool|uint8|int8|int16|int32|int64|float16|float32|float64|" \
             r"(?:Bool|Byte|Char|Short|Int|Long|Half|Float|Double)Tensor)\b"


def ours_spelled(message):
    """torch's message with the reprs it embeds (Size, dtypes, legacy tensor types) spelled as
    ours print them: tatamikomi.Size([2]), tatamikomi.int64, tatamikomi.FloatTensor."""
    return re.sub(TYPE_NAMES, r"tatamikomi.\1", message.replace("torch.Size(", "tatamikomi.Size("))


def assert_same_error(ours_fn, torch_fn):
    """Both raise the same exception type; ours starts with torch's message (a hint may follow)."""
    theirs = raised(torch_fn)
    assert theirs is not None, "torch did not raise: the test case is wrong"
    ours = raised(ours_fn)
    assert ours is not None, f"tatamikomi did not raise; torch raised {theirs!r}"
    assert type(ours).__name__ == type(theirs).__name__, f"{ours!r} vs {theirs!r}"
    assert str(ours).split("\n")[0] == ours_spelled(str(theirs).split("\n")[0]), \
        f"{ours!r} vs {theirs!r}"
