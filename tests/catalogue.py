"""The bad-input catalogue's machinery (tests/test_errors_*.py).

Each case is a function of a library namespace `L` (ours or torch), written once and run on
both: it must raise in torch, and ours must raise the same exception type with the same first
line (a teaching hint may follow on a new line). Expected messages are never written down: torch
produces them in the same test. Tables are dicts, one per public module, so the catalogue's size
per module is len() of its table.
"""
import re
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
import torch.optim as torch_optim
import torch.utils.data as torch_data
from helpers import raised

import tatamikomi as tm
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F
import tatamikomi.optim as optim
import tatamikomi.utils.data as data

OURS = types.SimpleNamespace(lib=tm, nn=nn, F=F, optim=optim, data=data, name="tatamikomi")
TORCH = types.SimpleNamespace(lib=torch, nn=torch_nn, F=torch_F, optim=torch_optim,
                              data=torch_data, name="torch")


def r(L, *shape, dtype="float32", grad=False):
    """The same pseudo-random tensor in either library (seeded by the shape)."""
    rng = np.random.default_rng(sum(shape) + 7 * len(shape))
    return L.lib.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


def ints(L, *shape, dtype="int64", value=1):
    """A tensor of one integer value (class indices, integer images)."""
    return L.lib.tensor(np.full(shape, value, dtype=dtype))


DTYPES = r"\btorch\.(bool|uint8|int8|int16|int32|int64|float16|float32|float64|" \
         r"(?:Bool|Byte|Char|Short|Int|Long|Half|Float|Double)Tensor)\b"


def first_line(e, whole=False):
    """An exception's first line (or all of it), with the reprs of torch.Size, dtypes and
    legacy tensor types printed as ours print them (tatamikomi.Size([2]), tatamikomi.int64,
    tatamikomi.FloatTensor)."""
    text = str(e) if whole else str(e).split("\n")[0]
    return re.sub(DTYPES, r"tatamikomi.\1", text.replace("torch.Size(", "tatamikomi.Size("))


def both(case, whole=False):
    """Assert case(ours) and case(torch) raise the same exception type and first line.

    whole: compare the whole message instead (where the first line says little).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # torch warns on some of these calls; not compared
        theirs = raised(lambda: case(TORCH))
        assert theirs is not None, "torch did not raise: the case is wrong"
        ours = raised(lambda: case(OURS))
    assert ours is not None, f"tatamikomi did not raise; torch raised {theirs!r}"
    assert type(ours).__name__ == type(theirs).__name__, f"{ours!r} vs {theirs!r}"
    assert first_line(ours, whole) == first_line(theirs, whole), f"{ours!r} vs {theirs!r}"


def to_numpy(x):
    """An ndarray of a tensor of either library (or of a Python value)."""
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, tm.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def same_result(case, values=True):
    """Assert an input both libraries accept gives the same shape, dtype and (if values) values.

    The catalogue's guard against refusing too much: near misses of the bad inputs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, ours = case(TORCH), case(OURS)
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype, f"{a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    if values:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def params(table, xfail=None):
    """pytest params for a table: {name: case}; names in xfail carry a strict xfail mark.

    An xfail names the file that must change (one this catalogue's author does not own) and
    the change, so it shows in every run until that change is made and the mark is removed.
    """
    xfail = xfail or {}
    unknown = set(xfail) - set(table)
    assert not unknown, f"xfail names no case: {unknown}"
    return [pytest.param(case, id=name, marks=[pytest.mark.xfail(strict=True, reason=xfail[name])]
                         if name in xfail else [])
            for name, case in table.items()]
