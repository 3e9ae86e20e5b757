"""Time tatamikomi's PyTorch-exact draws against NumPy's generator and PyTorch itself.

    python benchmarks/random_draws.py [--sizes 1000000 10000000] [--repeats 5]

Best of `repeats` per draw, in ms, and ours / NumPy (PCG64) and ours / torch. The draws match
torch's bit for bit (tests/test_random.py); this says what that costs.
"""
import argparse
import time

import numpy as np
import torch

import tatamikomi as tm  # before NumPy's threads start (see benchmarks/kernels.py)


def best_ms(fn, repeats):
    fn()                                # compiles (Numba) and warms up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def cases(n, rng):
    """(name, ours, NumPy's nearest, torch's)."""
    x32, x64, t32 = tm.empty(n), tm.empty(n, dtype=tm.float64), torch.empty(n)
    return [
        ("rand f32", lambda: tm.rand(n), lambda: rng.random(n, dtype=np.float32),
         lambda: torch.rand(n)),
        ("rand f64", lambda: tm.rand(n, dtype=tm.float64), lambda: rng.random(n),
         lambda: torch.rand(n, dtype=torch.float64)),
        ("randn f32", lambda: tm.randn(n), lambda: rng.standard_normal(n, dtype=np.float32),
         lambda: torch.randn(n)),
        ("randn f64", lambda: tm.randn(n, dtype=tm.float64), lambda: rng.standard_normal(n),
         lambda: torch.randn(n, dtype=torch.float64)),
        ("uniform_ f32", lambda: x32.uniform_(-0.5, 0.5), lambda: rng.uniform(-0.5, 0.5, n),
         lambda: t32.uniform_(-0.5, 0.5)),
        ("normal_ f64", lambda: x64.normal_(), lambda: rng.normal(size=n),
         lambda: torch.empty(n, dtype=torch.float64).normal_()),
        ("bernoulli_ f32", lambda: x32.bernoulli_(0.5), lambda: rng.random(n) < 0.5,
         lambda: t32.bernoulli_(0.5)),
        ("randint", lambda: tm.randint(0, 1000, (n,)), lambda: rng.integers(0, 1000, n),
         lambda: torch.randint(0, 1000, (n,))),
        ("randperm", lambda: tm.randperm(n), lambda: rng.permutation(n),
         lambda: torch.randperm(n)),
        ("exponential_ f32", lambda: x32.exponential_(), lambda: rng.standard_exponential(n),
         lambda: t32.exponential_()),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10 ** 6, 10 ** 7])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    print(f"{'n':>9} {'draw':17} {'ours':>8} {'numpy':>8} {'torch':>8} {'/numpy':>7} {'/torch':>7}")
    for n in args.sizes:
        for name, ours, numpy_, torch_ in cases(n, rng):
            a, b, c = (best_ms(f, args.repeats) for f in (ours, numpy_, torch_))
            print(f"{n:>9} {name:17} {a:8.2f} {b:8.2f} {c:8.2f} {a / b:7.2f} {a / c:7.2f}")


if __name__ == "__main__":
    main()
