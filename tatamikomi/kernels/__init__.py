"""The conv seam: ndarray kernels behind one four-function interface, and the choice among them.

Every kernel module has supports(spec), forward(x, w, spec), grad_input(gy, w, spec) and
grad_weight(x, gy, spec). To add an algorithm, write one module and add one line to KERNELS.
All give `direct`'s results, NaN and infinities included (padding adds exactly nothing).
A kernel whose forward can add the bias as it goes says FUSES_BIAS = True and takes bias=.
A kernel that can hand work from one call of a conv to the next says KEEPS = True, and its three
functions take kept=: a dict the caller starts empty at each forward and hands a copy of to the
gradients of each backward (ops/conv.py). Its contents are the kernel's own, checked before use,
and the results are the same without it (im2col keeps its columns of x for grad_weight and gy
in its GEMM layout for both gradients).
"""
import contextlib
import os
import sys
import time

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
    """The measured rules: `python benchmarks/kernels.py --extra` times every kernel's fwd | gx |
    gw (ms) per shape, `python -m tatamikomi bench` the chosen one against PyTorch; float32,
    2 threads. Older comments give fwd | f+b from the bench."""
    # 8x64x56x56 3x3 p1 groups 64: depthwise 3.9 | 14.3, im2col 12.4 | 46.0, torch 32 | 85.
    # C = 1 is depthwise with a channel multiplier: MNIST's conv1, 64x1x28x28 -> 32, fwd | gx |
    # gw ms: depthwise 0.81 | 0.81 | 2.22, im2col 2.7 | 1.3 | 1.6.
    # ... but one input channel and one group is better done by the register tiles at stride 1:
    # MNIST's conv1 again, blocked 0.61 | 1.49 | 0.88 ms against depthwise 0.87 | 0.86 | 1.46
    # (3.0 against 3.2 in all, and a first layer never needs gx: 1.5 against 2.3).
    # (Only where the tiles fit the registers: without AVX-512 they spill and ran 3.3x slower.)
    if (blocked.FAST and spec.C == 1 and spec.groups == 1 and spec.stride == (1, 1)
            and spec.O >= 8 and spec.KH * spec.KW > 1):
        return blocked
    if depthwise.supports(spec):
        return depthwise
    # Winograd F(4x4, 3x3) is not picked: its forward won against 64 MiB im2col chunks (11.3
    # against 14.7 ms at 8x64x56x56 -> 64), but against 16 MiB chunks forward+backward ran
    # 42.1-43.3 ms against im2col's 37.5-39.5 there, and 31.0 against 27.1 with groups 4
    # (`python benchmarks/conv.py --only resnet3x3 --no-torch` with TATAMIKOMI_CONV set to each,
    # twice in turn). use("winograd") and the autotuner still reach it.
    # Big kernels at stride 1 (fwd | gx | gw ms, 8x16x64x64 -> 32, fft.py has the table): 11x11
    # fft 14-16 | 17 | 14-17, im2col 43 | 37 | 37; 7x7 13.4 | 14.2 | 14.9 against 17.4 | 16.7 |
    # 15.7; 5x5 lost (11.9 | 14.6 | 14.6 against 8.9 | 8.5 | 8.8), and at C = 1 fft took 20 ms
    # where im2col took 2.
    if fft.supports(spec) and spec.KH * spec.KW >= 49 and spec.C // spec.groups >= 16:
        return fft
    # At most 128 outputs per group: the register tiles beat OpenBLAS's thin GEMMs at stride 1
    # (`python benchmarks/kernels.py --extra`, fwd | gx | gw ms, blocked against im2col):
    # tutorial 20x16x50x100 -> 32 3.7 | 4.5 | 5.1 against 9.0 | 7.3 | 9.3; MNIST 64x32x14x14 ->
    # 64 2.2 | 2.3 | 2.6 against 4.5 | 3.3 | 4.0; 8x64x56x56 -> 64 7.0 | 7.1 | 8.4 against
    # 12.9 | 10.6 | 11.9, groups 4 2.4 | 2.1 | 2.6 against 7.9 | 6.9 | 7.3; 8x128x28x28 -> 128
    # 22.8 against 26.6 ms in all. At 256 outputs OpenBLAS wins (8x256x14x14: 29.2 against
    # 24.1), and with 3 input channels (the first layer, 41 | 22 | 14 against 22 | 14 | 23) the
    # tiles have too little to reduce over. 5x5 below fft's rule won too (8x16x64x64 -> 32:
    # 10.5 against 20.2, fft 24.9). A 1x1 is a GEMM with nothing to copy: 8x256x28x28 -> 64 was
    # even (5.2 against 5.1).
    # A stride splits the taps over sh*sw phases, and grad_input runs one conv per phase over
    # just its taps: with fewer than 6 taps a phase the short reductions lost or tied (3x3 s2,
    # all ms: tutorial 8.5 against 7.8, 8x64x56x56 -> 64 12.6 against 10.4), with more they won
    # (5x3 s(2, 1) tutorial 11.9 against 20.6, 7x7 s2 8x16x64x64 -> 32 7.6 against 11.6).
    taps, phases = spec.KH * spec.KW, spec.stride[0] * spec.stride[1]
    thin = spec.O // spec.groups <= 128 and spec.C // spec.groups >= 8 and taps > 1
    if blocked.FAST and thin and (phases == 1 or taps >= 6 * phases):
        return blocked
    # 1x1 stays with im2col: gemm1x1 measured 8.3 | 8.5 | 10.3 (fwd | gx | gw) against
    # im2col's 10.4 | 8.3 | 8.1 at 8x256x56x56 -> 512 stride 2, and no faster unstrided.
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
