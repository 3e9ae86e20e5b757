"""The conv seam: ndarray kernels behind one four-function interface, and the choice among them.

Every kernel module has supports(spec), forward(x, w, spec), grad_input(gy, w, spec) and
grad_weight(x, gy, spec). To add an algorithm, write one module and add one line to KERNELS.
"""
import contextlib
import os

from . import direct, im2col
from .spec import ConvSpec

KERNELS = {"direct": direct, "im2col": im2col}

_forced = []                    # the use() stack; the innermost forced name wins


def select(spec: ConvSpec):
    """The kernel module for this spec: a forced name (use() or TATAMIKOMI_CONV), else the rules."""
    # Read at call time, so a test or a benchmark can set the variable after import.
    name = _forced[-1] if _forced else os.environ.get("TATAMIKOMI_CONV")
    if name:
        return _get(name, spec)
    return im2col               # runs every spec; `direct` is only the test oracle


def _get(name, spec):
    if name not in KERNELS:
        raise ValueError(f"unknown conv kernel {name!r}; known: {', '.join(KERNELS)}")
    if not KERNELS[name].supports(spec):
        raise ValueError(f"conv kernel {name!r} cannot run {spec}")
    return KERNELS[name]


@contextlib.contextmanager
def use(name):
    """Force kernel `name` for every conv inside the block (for experiments and benchmarks)."""
    if name not in KERNELS:
        raise ValueError(f"unknown conv kernel {name!r}; known: {', '.join(KERNELS)}")
    _forced.append(name)
    try:
        yield KERNELS[name]
    finally:
        _forced.pop()


__all__ = ["KERNELS", "ConvSpec", "select", "use"]
