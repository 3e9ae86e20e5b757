"""The conv seam: ndarray kernels behind one four-function interface, and the choice among them.

Every kernel module has supports(spec), forward(x, w, spec), grad_input(gy, w, spec) and
grad_weight(x, gy, spec). To add an algorithm, write one module and add one line to KERNELS.
All give `direct`'s results, NaN and infinities included (padding adds exactly nothing).
A kernel whose forward can add the bias as it goes says FUSES_BIAS = True and takes bias=.
A kernel that can hand work from one call of a conv to the next says KEEPS = True, and its three
functions take kept=: a dict the caller starts empty at each forward and hands to both
gradients of the backward that follows (ops/conv.py). Its contents are the kernel's own, checked
before use, and the results are the same without it (im2col keeps its columns of x for
grad_weight and gy in its GEMM layout for both gradients).
"""
import contextlib
import os
import sys
import threading
import time
from types import ModuleType
from typing import Callable, NamedTuple

import numpy as np

from . import blocked, depthwise, direct, fft, gemm1x1, im2col, winograd
from .spec import ConvSpec

KERNELS = {
    "direct": direct,
    "im2col": im2col,
    "blocked": blocked,
    "depthwise": depthwise,
    "gemm1x1": gemm1x1,
    "winograd": winograd,
    "fft": fft,
}

_forced = threading.local()     # each thread's use() stack; its innermost forced name wins


def select(spec: ConvSpec):
    """The kernel for spec: a forced name, else the autotuner's choice if on, else the rules."""
    # Read at call time, so a test or a benchmark can set the variable after import.
    stack = getattr(_forced, "stack", None)
    name = stack[-1] if stack else os.environ.get("TATAMIKOMI_CONV")
    if name:
        return _get(name, spec)
    # Looked up, not imported: backends sits above the kernels, and benchmark can only be True
    # once the user has imported it.
    tuning = sys.modules.get("tatamikomi.backends.conv")
    if tuning is not None and tuning.benchmark:
        return KERNELS[_tuned(spec, tuning.cache)]
    return rule(spec).kernel


class Rule(NamedTuple):
    """One line of the rule list: if `when(spec)`, use `kernel`, because `why`."""

    name: str
    kernel: ModuleType
    when: Callable
    why: str


def _one_channel(s):
    return (blocked.FAST and s.C == 1 and s.groups == 1 and s.stride == (1, 1) and s.O >= 8
            and s.KH * s.KW > 1)


def _big_kernel(s):
    return fft.supports(s) and s.KH * s.KW >= 49 and s.C // s.groups >= 16


def _thin(s):
    taps, phases = s.KH * s.KW, s.stride[0] * s.stride[1]
    return (blocked.FAST and s.O // s.groups <= 128 and s.C // s.groups >= 8 and taps > 1
            and (phases == 1 or taps >= 6 * phases))


# The rules, first match wins. benchmarks/RULES.md (AVX-512) and RULES-avx2.md have the
# measurements behind each (written by `python benchmarks/kernels.py --write-rules`, the
# second with AVX2 code): change a rule and its numbers together.
RULES = (
    Rule("one-channel", blocked, _one_channel,
         "one input channel, 8+ outputs, stride 1: the register tiles beat depthwise's loops, "
         "on a CPU with tiles of its own (AVX-512, or AVX2 with FMA)"),
    Rule("depthwise", depthwise, depthwise.supports,
         "one input channel per group leaves a GEMM nothing to contract: im2col only copies"),
    Rule("big-kernel", fft, _big_kernel,
         "7x7 and up at stride 1, 16+ channels per group: FFT's cost does not grow with the "
         "taps (5x5, or few channels, lost)"),
    Rule("thin", blocked, _thin,
         "at most 128 outputs and 8+ inputs per group, stride 1 or 6+ taps per stride phase: "
         "the register tiles beat OpenBLAS's thin GEMMs, on AVX-512 and on AVX2 with FMA"),
    Rule("default", im2col, lambda s: True,
         "runs every spec; it beat gemm1x1 on 1x1 and Winograd forward+backward (those two are "
         "left to use() and the autotuner)"),
)


def rule(spec):
    """The first rule that applies to spec (`direct` is only the test oracle)."""
    return next(r for r in RULES if r.when(spec))


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
    stack = _forced.__dict__.setdefault("stack", [])
    stack.append(name)
    try:
        yield KERNELS[name]
    finally:
        stack.pop()


__all__ = ["KERNELS", "RULES", "ConvSpec", "Rule", "rule", "select", "use"]
