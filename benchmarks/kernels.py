"""Time every conv kernel that supports a shape: forward, grad_input, grad_weight (ms, fastest).

    python benchmarks/kernels.py [--repeats 5] [--only resnet3x3] [--extra] [--kernels a,b]
    python benchmarks/kernels.py --write-rules [benchmarks/RULES.md] [--rounds 3]

The numbers behind `kernels.RULES`: the suite of `python -m tatamikomi bench`, and with --extra
the shapes each rule rests on (EVIDENCE). A `*` marks the kernel the rules pick; f+b is one
forward and both gradients in a row, as Conv2d runs them (sharing `kept`). --write-rules times
the EVIDENCE shapes and writes them, rule by rule, to a dated RULES.md. One process, tatamikomi
only (PyTorch's times are in benchmarks/conv.py); float32.
"""
import argparse
import datetime
import os
import platform
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np  # when it loads (README, speed tips)

from tatamikomi import kernels
from tatamikomi.kernels import ConvSpec, _simd
from tatamikomi.kernels._jit import numba
from tatamikomi.tools import bench

RULES_MD = Path(__file__).with_name("RULES.md")


def rules_md(isa):
    """Where --write-rules writes by default: RULES.md for AVX-512, RULES-<isa>.md otherwise."""
    return RULES_MD if isa == "avx512" else RULES_MD.with_name(f"RULES-{isa or 'generic'}.md")

# Per rule of kernels.RULES, the shapes it was set on: (label, x, w, stride, padding, dilation,
# groups). The rule must pick its kernel on each (tests/test_kernels.py checks, as on AVX-512);
# the shapes it leaves to a later rule are under that rule, most under "default".
EVIDENCE = {
    "one-channel": [
        ("MNIST conv1", (64, 1, 28, 28), (32, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ],
    "depthwise": [
        ("depthwise", (8, 64, 56, 56), (64, 1, 3, 3), (1, 1), (1, 1), (1, 1), 64),
        ("C=1, stride 2", (64, 1, 28, 28), (32, 1, 3, 3), (2, 2), (1, 1), (1, 1), 1),
    ],
    "big-kernel": [
        ("11x11", (8, 16, 64, 64), (32, 16, 11, 11), (1, 1), (5, 5), (1, 1), 1),
        ("7x7", (8, 16, 64, 64), (32, 16, 7, 7), (1, 1), (0, 0), (1, 1), 1),
    ],
    "thin": [
        ("tutorial", (20, 16, 50, 100), (32, 16, 3, 3), (1, 1), (0, 0), (1, 1), 1),
        ("MNIST conv2", (64, 32, 14, 14), (64, 32, 3, 3), (1, 1), (1, 1), (1, 1), 1),
        ("resnet 64", (8, 64, 56, 56), (64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1),
        ("resnet 128", (8, 128, 28, 28), (128, 128, 3, 3), (1, 1), (1, 1), (1, 1), 1),
        ("grouped", (8, 64, 56, 56), (64, 16, 3, 3), (1, 1), (1, 1), (1, 1), 4),
        ("dilated", (8, 64, 56, 56), (64, 64, 3, 3), (1, 1), (2, 2), (2, 2), 1),
        ("5x5 (not fft)", (8, 16, 64, 64), (32, 16, 5, 5), (1, 1), (0, 0), (1, 1), 1),
        ("11x11, C=8", (8, 8, 64, 64), (32, 8, 11, 11), (1, 1), (0, 0), (1, 1), 1),
        ("7x7 s2: 12 taps", (8, 16, 64, 64), (32, 16, 7, 7), (2, 2), (0, 0), (1, 1), 1),
        ("5x3 s(2,1)", (20, 16, 100, 50), (32, 16, 5, 3), (2, 1), (2, 1), (1, 1), 1),
    ],
    "default": [
        ("resnet 256", (8, 256, 14, 14), (256, 256, 3, 3), (1, 1), (1, 1), (1, 1), 1),
        ("first, C=3", (8, 3, 224, 224), (64, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),
        ("stem 7x7 s2", (8, 3, 224, 224), (64, 3, 7, 7), (2, 2), (3, 3), (1, 1), 1),
        ("3x3 s2", (8, 64, 56, 56), (64, 64, 3, 3), (2, 2), (1, 1), (1, 1), 1),
        ("tutorial s2", (20, 16, 50, 100), (32, 16, 3, 3), (2, 2), (1, 1), (1, 1), 1),
        ("1x1", (8, 256, 28, 28), (64, 256, 1, 1), (1, 1), (0, 0), (1, 1), 1),
        ("1x1 s2", (8, 256, 56, 56), (512, 256, 1, 1), (2, 2), (0, 0), (1, 1), 1),
    ],
}


def evidence_specs():
    """(rule name, label, spec) for every EVIDENCE shape."""
    return [(name, label, ConvSpec.make(x, w, s, p, d, g))
            for name, rows in EVIDENCE.items() for label, x, w, s, p, d, g in rows]


def specs(only, extra):
    """(label, spec) for the suite (as conv2d normalizes it) and, if asked, the EVIDENCE."""
    out = [(c["cls"], c["spec"]) for c in bench.cases(only)]
    seen = {spec for _, spec in out}
    if extra:
        out += [(label, spec) for _, label, spec in evidence_specs()
                if spec not in seen and (not only or label == only)]
    return out


def best_ms(fn, repeats, min_seconds=0.3):
    """The fastest of at least `repeats` calls and about min_seconds of them (ms), after two
    warm-up calls. On the shared machine the fastest call is the least disturbed one: medians
    moved 2-5x while other jobs ran, minima far less."""
    fn(), fn()
    best, start, n = float("inf"), time.perf_counter(), 0
    while n < repeats or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        best, n = min(best, time.perf_counter() - t), n + 1
    return 1e3 * best


def times(k, spec, repeats):
    """fwd, gx, gw and f+b of kernel module k on random float32 arrays of spec's shapes (ms)."""
    rng = np.random.default_rng(0)
    x, w, gy = (rng.standard_normal(s, dtype=np.float32)
                for s in (spec.x_shape, spec.w_shape, spec.y_shape))
    keeps = getattr(k, "KEEPS", False)

    def step():                                 # as ops/conv.py runs a conv and its backward
        kept = {} if keeps else None
        extra = {"kept": kept} if keeps else {}
        k.forward(x, w, spec, **extra)
        extra = {"kept": dict(kept)} if keeps else {}
        k.grad_weight(x, gy, spec, **extra)
        k.grad_input(gy, w, spec, **extra)

    return [best_ms(partial(k.forward, x, w, spec), repeats),
            best_ms(partial(k.grad_input, gy, w, spec), repeats),
            best_ms(partial(k.grad_weight, x, gy, spec), repeats),
            best_ms(step, repeats)]


def rows(label, spec, names, repeats):
    """One line per kernel that supports spec: label, spec, kernel (* if chosen), the times."""
    chosen = kernels.select(spec)
    for name in names:
        k = kernels.KERNELS[name]
        if k.supports(spec):
            yield (label, spec, name + ("*" if k is chosen else ""), times(k, spec, repeats))


HEADER = f"{'shape':16} {'x':>18} {'w':>18} {'stride':>7} {'kernel':>10} " \
         f"{'fwd':>7} {'gx':>7} {'gw':>7} {'f+b':>7}"


def line(label, spec, name, ms):
    return (f"{label:16} {str(spec.x_shape):>18} {str(spec.w_shape):>18} "
            f"{'%dx%d' % spec.stride:>7} {name:>10} " + " ".join(f"{t:7.2f}" for t in ms))


def cpu():
    """The CPU's model name, as lscpu shows it (Linux), else what platform knows."""
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_rules(path, names, repeats, rounds):
    """Time the EVIDENCE shapes and write them, rule by rule, to path (atomically).

    Every shape is timed once per round and keeps each kernel's fastest times: rounds minutes
    apart dodge the other jobs' busy spells better than longer runs of one shape.
    """
    load = os.getloadavg()[0]
    best = {}
    for r in range(rounds):
        for _, label, spec in evidence_specs():
            for row in rows(label, spec, names, repeats):
                key = (label, row[2])
                old = best.get(key, row)
                best[key] = row[:3] + ([min(a, b) for a, b in zip(old[3], row[3])],)
                print(f"round {r + 1}: {line(*row)}", flush=True)
    body = []
    for rule in kernels.RULES:
        body += [f"## {rule.name}: {rule.kernel.__name__.rsplit('.', 1)[-1]}", "",
                 f"{rule.why}.", "", "```", HEADER]
        labels = [e[0] for e in EVIDENCE[rule.name]]
        body += [line(*row) for (label, _), row in best.items() if label in labels]
        body += ["```", ""]
    out = [f"# The measurements behind kernels.RULES ({datetime.date.today().isoformat()})", "",
           "Written by `python benchmarks/kernels.py --write-rules`; do not edit by hand.", "",
           f"CPU: {cpu()}; code compiled for {_simd.isa() or 'no vector ISA'} (so the rules "
           f"{'use' if kernels.blocked.FAST else 'skip'} the register tiles, "
           f"{kernels.blocked.TILE}); "
           f"{numba.get_num_threads()} Numba threads; float32; ms, the fastest of {repeats}+ "
           f"calls over about 0.3 s, in each of {rounds} rounds through all the shapes.",
           f"The machine is shared and noisy (load average {load:.1f} at the start, "
           f"{os.getloadavg()[0]:.1f} at the end): other jobs take its cores at times, so "
           "compare kernels within one table, and re-run before trusting a close call.",
           "A `*` marks the kernel the rules pick; f+b is a forward and both gradients in a "
           "row, as Conv2d runs them.", ""] + body
    fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".RULES-", suffix=".md")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(out))
    os.replace(tmp, path)


def main(args):
    names = args.kernels.split(",") if args.kernels else [n for n in kernels.KERNELS
                                                           if n != "direct"]
    if args.write_rules:
        write_rules(args.write_rules, names, args.repeats, args.rounds)
        return 0
    print(HEADER)
    for label, spec in specs(args.only, args.extra):
        for row in rows(label, spec, names, args.repeats):
            print(line(*row), flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="one class of the suite, e.g. resnet3x3, or a label")
    parser.add_argument("--extra", action="store_true", help="also the rules' other shapes")
    parser.add_argument("--kernels", help="comma-separated names (default: all but direct)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="--write-rules: time all the shapes this many times, keep the "
                             "fastest")
    parser.add_argument("--write-rules", nargs="?", const=rules_md(_simd.isa()), metavar="PATH",
                        help="time the rules' shapes and write them to PATH (default: "
                             "RULES.md beside this script, RULES-avx2.md for AVX2 code)")
    raise SystemExit(main(parser.parse_args()))
