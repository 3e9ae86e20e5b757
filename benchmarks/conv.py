"""Time conv2d forward and forward+backward, tatamikomi vs PyTorch, in one run (2 threads each).

    python benchmarks/conv.py [--repeats 7] [--only resnet]

Prints one row per shape (the kernel tatamikomi chose, milliseconds, the ratio ours/torch) and
the geometric mean of the ratios. Medians over repeats; both libraries warm up first.
"""
import argparse
import statistics
import time

import numpy as np
import torch

import tatamikomi as tm
from tatamikomi import kernels
from tatamikomi.nn import functional as F

torch.set_num_threads(2)

# (group, x shape, w shape, conv2d keyword arguments)
SHAPES = [
    ("tutorial", (1, 4, 5, 5), (8, 4, 3, 3), dict(padding=1)),
    ("tutorial", (2, 5, 5, 5), (12, 5, 3, 3), dict(padding=1)),
    ("tutorial", (20, 16, 50, 100), (32, 16, 3, 3), dict()),
    ("tutorial", (20, 16, 50, 100), (32, 16, 3, 3), dict(padding=1)),
    ("tutorial", (20, 16, 50, 100), (32, 16, 3, 3), dict(padding=1, stride=2)),
    ("tutorial", (20, 16, 100, 50), (32, 16, 5, 3), dict(stride=(2, 1), padding=(2, 1))),
    ("tutorial", (20, 16, 100, 50), (32, 16, 5, 3),
     dict(stride=(2, 1), padding=(2, 1), dilation=(1, 2))),
    ("tutorial", (20, 16, 100, 50), (32, 16, 5, 3), dict(padding=(2, 1), dilation=(2, 2))),
    ("mnist", (64, 1, 28, 28), (32, 1, 3, 3), dict(padding=1)),
    ("mnist", (64, 32, 14, 14), (64, 32, 3, 3), dict(padding=1)),
    ("resnet", (8, 64, 56, 56), (64, 64, 3, 3), dict(padding=1)),
    ("resnet", (8, 128, 28, 28), (128, 128, 3, 3), dict(padding=1)),
    ("resnet", (8, 256, 14, 14), (256, 256, 3, 3), dict(padding=1)),
]


def median_ms(fn, repeats, min_seconds=0.2):
    """Median wall time of fn in ms: at least `repeats` runs and about min_seconds in all."""
    fn()                                                   # warm up (and compile)
    times, start = [], time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 50 * repeats:
            break
    return 1e3 * statistics.median(times)


def cases(lib, functional, x, w, b, kw, gy):
    """A forward-only and a forward+backward closure for one library."""
    X, Wt, B, G = (lib.tensor(a, requires_grad=True) for a in (x, w, b, gy))

    def fwd():
        with lib.no_grad():
            functional.conv2d(X, Wt, B, **kw)

    def fwd_bwd():
        X.grad = Wt.grad = B.grad = None
        functional.conv2d(X, Wt, B, **kw).backward(G)

    return fwd, fwd_bwd


def geomean(values):
    return float(np.exp(np.mean(np.log(values))))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--only", default=None, help="one group: tutorial, mnist or resnet")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    for group, xs, ws, kw in SHAPES:
        if args.only and group != args.only:
            continue
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        b = rng.standard_normal(ws[0], dtype=np.float32)
        y = F.conv2d(tm.tensor(x), tm.tensor(w), **kw)
        gy = rng.standard_normal(tuple(y.shape), dtype=np.float32)
        rows.append((group, xs, ws, kw, x, w, b, gy))
    # Each library runs as one phase, ours first: PyTorch's OpenMP workers keep spinning after
    # its calls and would slow whatever runs next on 2 cores, which is not a cost of ours.
    ours = [[median_ms(f, args.repeats) for f in cases(tm, F, *r[4:7], r[3], r[7])]
            for r in rows]
    theirs = [[median_ms(f, args.repeats)
               for f in cases(torch, torch.nn.functional, *r[4:7], r[3], r[7])] for r in rows]
    print(f"{'group':9} {'x':>18} {'w':>16} {'args':44} {'kernel':7} "
          f"{'fwd ms':>8} {'torch':>8} {'ratio':>6} {'f+b ms':>8} {'torch':>8} {'ratio':>6}")
    ratios = {"fwd": [], "fwd+bwd": []}
    for (group, xs, ws, kw, x, w, *_), o, t in zip(rows, ours, theirs):
        r = [a / b for a, b in zip(o, t)]
        ratios["fwd"].append(r[0])
        ratios["fwd+bwd"].append(r[1])
        spec = F._conv_args.check(tm.tensor(x), tm.tensor(w), None, *_args(kw), None)
        kname = kernels.select(spec).__name__.rsplit(".", 1)[-1]
        print(f"{group:9} {str(xs):>18} {str(ws):>16} {_fmt(kw):44} {kname:7} "
              f"{o[0]:8.2f} {t[0]:8.2f} {r[0]:6.2f} {o[1]:8.2f} {t[1]:8.2f} {r[1]:6.2f}")
    print(f"geometric mean of ours/torch: forward {geomean(ratios['fwd']):.2f}, "
          f"forward+backward {geomean(ratios['fwd+bwd']):.2f}")


def _args(kw):
    def ints(v, d):
        v = kw.get(v, d)
        return list(v) if isinstance(v, tuple) else [v, v]
    return ints("stride", 1), ints("padding", 0), ints("dilation", 1), kw.get("groups", 1)


def _fmt(kw):
    return ", ".join(f"{k}={v}" for k, v in kw.items()) or "-"


if __name__ == "__main__":
    main()
