"""The conv seam: ndarray kernels behind one four-function interface, and the choice among them.

Every kernel module has supports(spec), forward(x, w, spec), grad_input(gy, w, spec) and
grad_weight(x, gy, spec). To add an algorithm, write one module and add one line to KERNELS.
"""
import contextlib
import os
import sys
import time

import numpy as np

from . import depthwise, direct, gemm1x1, im2col, winograd
from .spec import ConvSpec

KERNELS = {
    "direct": direct,
    "im2col": im2col,
    "depthwise": depthwise,
    "gemm1x1": gemm1x1,
    "winograd": winograd,
}

_forced = []                    # the use() stack; the innermost forced name wins


def select(spec: ConvSpec):
    """The kernel for spec: a forced name, else the autotuner's choice if on, else the rules."""
    # Read at call time, so a test or a benchmark can set the variable after import.
    name = _forced[-1] if _forced else os.environ.get("TATAMIKOMI_CONV")
    if name:
        return _get(name, spec)
    # Looked up, not imported: backends sits above the kernels, and benchmark can only be True
    # once the user has imported it.
    tuning = sys.modules.get("tatamikomi.backends.conv")
    if tuning is not None and tuning.benchmark:
        return KERNELS[_tuned(spec, tuning.cache)]
    return _rule(spec)


def _rule(spec):
    """The measured rules (`python -m tatamikomi bench`, float32, 2 threads; fwd | f+b ms)."""
    # 8x64x56x56 3x3 p1 groups 64: depthwise 3.9 | 14.3, im2col 12.4 | 46.0, torch 32 | 85.
    # Only groups > 1: C = 1 (MNIST's conv1) is "depthwise" too, but not measured against im2col.
    if depthwise.supports(spec) and spec.groups > 1:
        return depthwise
    return im2col               # runs every spec; `direct` is only the test oracle


def _tuned(spec, cache):
    """The name of the fastest supporting kernel for spec, timed once and cached per spec."""
    if spec not in cache:
        rng = np.random.default_rng(0)
        x, w, gy = (rng.standard_normal(s).astype(spec.dtype)
                    for s in (spec.x_shape, spec.w_shape, spec.y_shape))
        best = {}
        for name, k in KERNELS.items():
            if name == "direct" or not k.supports(spec):
                continue
            times = []
            for _ in range(3):              # the first call compiles and warms; keep the best
                t = time.perf_counter()
                k.forward(x, w, spec), k.grad_input(gy, w, spec), k.grad_weight(x, gy, spec)
                times.append(time.perf_counter() - t)
            best[name] = min(times)
        cache[spec] = min(best, key=best.get)
    return cache[spec]


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
