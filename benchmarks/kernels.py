"""Time every conv kernel that supports a shape: forward, grad_input, grad_weight (ms, medians).

    python benchmarks/kernels.py [--repeats 5] [--only resnet3x3] [--extra] [--kernels a,b]

These are the numbers behind `kernels._rule`: the suite of `python -m tatamikomi bench`, and with
--extra the other shapes the rules' comments cite. A `*` marks the kernel the rules pick. One
process, tatamikomi only (PyTorch's times are in benchmarks/conv.py); float32, 2 threads.
"""
import argparse
from functools import partial

import tatamikomi  # noqa: F401,I001  before NumPy: OpenBLAS reads tatamikomi's thread timeout
import numpy as np                   # when it loads (README, speed tips)

from tatamikomi import kernels
from tatamikomi.kernels import ConvSpec
from tatamikomi.tools import bench

# (class, x, w, stride, padding, dilation, groups): shapes the rules cite outside the suite
EXTRA = [
    ("5x5", (8, 16, 64, 64), (32, 16, 5, 5), (1, 1), (0, 0), (1, 1), 1),
    ("1x1", (8, 256, 28, 28), (64, 256, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ("3x3s2", (8, 64, 56, 56), (64, 64, 3, 3), (2, 2), (1, 1), (1, 1), 1),
    ("7x7s2", (8, 16, 64, 64), (32, 16, 7, 7), (2, 2), (0, 0), (1, 1), 1),
]


def specs(only, extra):
    """(class, spec) for the suite (as conv2d normalizes it) and, if asked, EXTRA."""
    out = [(c["cls"], c["spec"]) for c in bench.cases(only)]
    if extra:
        out += [(cls, ConvSpec.make(x, w, s, p, d, g)) for cls, x, w, s, p, d, g in EXTRA
                if not only or cls == only]
    return out


def main(args):
    names = args.kernels.split(",") if args.kernels else [n for n in kernels.KERNELS
                                                           if n != "direct"]
    rng = np.random.default_rng(0)
    print(f"{'class':10} {'x':>18} {'w':>18} {'stride':>7} {'kernel':>10} "
          f"{'fwd':>7} {'gx':>7} {'gw':>7} {'all':>7}")
    for cls, spec in specs(args.only, args.extra):
        x, w, gy = (rng.standard_normal(s, dtype=np.float32)
                    for s in (spec.x_shape, spec.w_shape, spec.y_shape))
        chosen = kernels.select(spec)
        for name in names:
            k = kernels.KERNELS[name]
            if not k.supports(spec):
                continue
            # bench's timer: its ~0.2 s of calls outvote the slow first few after start-up
            ms = [bench.median_ms(partial(k.forward, x, w, spec), args.repeats),
                  bench.median_ms(partial(k.grad_input, gy, w, spec), args.repeats),
                  bench.median_ms(partial(k.grad_weight, x, gy, spec), args.repeats)]
            mark = "*" if k is chosen else " "
            print(f"{cls:10} {str(spec.x_shape):>18} {str(spec.w_shape):>18} "
                  f"{'%dx%d' % spec.stride:>7} {name:>9}{mark} "
                  + " ".join(f"{t:7.2f}" for t in ms) + f" {sum(ms):7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="one class, e.g. resnet3x3 (or an EXTRA class)")
    parser.add_argument("--extra", action="store_true", help="also the rules' other shapes")
    parser.add_argument("--kernels", help="comma-separated names (default: all but direct)")
    raise SystemExit(main(parser.parse_args()))
