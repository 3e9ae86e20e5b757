"""Tensor repr with PyTorch's layout rules: int mode, sci mode, width alignment, summarization."""
import math

import numpy as np

from . import dtypes

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80


class _Format:
    """Chooses one format for every element, from the finite non-zero values (in double)."""

    def __init__(self, values, floating):
        self.floating, self.int_mode, self.sci, self.width = floating, True, False, 1
        flat = values.reshape(-1)
        if not floating:
            self.width = max([len(self._plain(v)) for v in flat] + [1])
            return
        v = flat.astype(np.float64)
        v = v[np.isfinite(v) & (v != 0)]
        if v.size == 0:
            return
        lo, hi = np.abs(v).min(), np.abs(v).max()
        self.int_mode = bool((v == np.ceil(v)).all())
        if self.int_mode:
            self.sci = hi / lo > 1000.0 or hi > 1.0e8
            strs = [f"{x:.{PRECISION}e}" for x in v] if self.sci else [f"{x:.0f}." for x in v]
        else:
            self.sci = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
            fmt = "e" if self.sci else "f"
            strs = [f"{x:.{PRECISION}{fmt}}" for x in v]
        self.width = max(len(s) for s in strs)

    @staticmethod
    def _plain(v):
        return str(bool(v)) if isinstance(v, (bool, np.bool_)) else str(v)

    def __call__(self, v):
        if not self.floating:
            s = self._plain(v)
        elif self.sci:
            s = f"{float(v):.{PRECISION}e}"
        elif self.int_mode:
            s = f"{float(v):.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{float(v):.{PRECISION}f}"
        return " " * (self.width - len(s)) + s


def _summarized(a):
    """Only the edge items PyTorch shows when a tensor is summarized."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    return np.stack([_summarized(x) for x in a]) if a.ndim > 1 else a


def _body(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt(a.item())
    n = a.shape[0]
    cut = summarize and n > 2 * EDGEITEMS
    if a.ndim == 1:
        items = [fmt(x) for x in (a[:EDGEITEMS].tolist() + a[-EDGEITEMS:].tolist()
                                  if cut else a.tolist())]
        if cut:
            items = items[:EDGEITEMS] + [" ..."] + items[EDGEITEMS:]
        per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(EDGEITEMS)) + [None] + list(range(n - EDGEITEMS, n)) if cut \
        else list(range(n))
    parts = ["..." if i is None else _body(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def tensor_repr(t, prefix="tensor(", indent=None):
    """The text PyTorch prints for a tensor, with our module name in the dtype suffix."""
    a = t.array
    indent = len(prefix) if indent is None else indent
    suffixes = []
    # an empty tensor has no values that could reveal an integer dtype, so only float32 is implied
    default = t.dtype in ((dtypes.float32, dtypes.int64, dtypes.bool) if a.size else
                          (dtypes.float32,))
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        body = "[]"
    else:
        summarize = a.size > THRESHOLD
        fmt = _Format(_summarized(a) if summarize else a, t.dtype.is_floating_point)
        body = _body(a, indent, summarize, fmt)
    if not default:
        suffixes.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    out = prefix + body
    last = len(out) - out.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            out += ",\n" + " " * indent + s
            last = indent + len(s)
        else:
            out += ", " + s
            last += len(s) + 2
    return out + ")"
