"""Benchmark the convs per shape: chosen kernel, ms, GFLOP/s, % of sgemm peak, ratio to PyTorch."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# (class, x shape, w shape, conv2d keyword arguments): the tutorials' shapes, MNIST's two
# layers, ResNet's 3x3 layers, first layers and stems, grouped, depthwise, dilated, big kernels
SUITE = [
    ("tutorial", (1, 4, 5, 5), (8, 4, 3, 3), dict(padding=1)),
    ("tutorial", (2, 5, 5, 5), (12, 5, 3, 3), dict(padding=1)),
    ("tutorial", (20, 16, 50, 100), (32, 16, 3, 3), dict()),
    ("tutorial", (20, 16, 50, 100), (32, 16, 3, 3), dict(padding=1, stride=2)),
    ("tutorial", (20, 16, 100, 50), (32, 16, 5, 3), dict(stride=(2, 1), padding=(2, 1))),
    ("mnist", (64, 1, 28, 28), (32, 1, 3, 3), dict(padding=1)),
    ("mnist", (64, 32, 14, 14), (64, 32, 3, 3), dict(padding=1)),
    ("resnet3x3", (8, 64, 56, 56), (64, 64, 3, 3), dict(padding=1)),
    ("resnet3x3", (8, 128, 28, 28), (128, 128, 3, 3), dict(padding=1)),
    ("resnet3x3", (8, 256, 14, 14), (256, 256, 3, 3), dict(padding=1)),
    ("first", (8, 3, 224, 224), (64, 3, 3, 3), dict(padding=1)),
    ("1x1", (8, 256, 56, 56), (512, 256, 1, 1), dict(stride=2)),
    ("stem", (8, 3, 224, 224), (64, 3, 7, 7), dict(stride=2, padding=3)),
    ("depthwise", (8, 64, 56, 56), (64, 1, 3, 3), dict(padding=1, groups=64)),
    ("grouped", (8, 64, 56, 56), (64, 16, 3, 3), dict(padding=1, groups=4)),
    ("dilated", (8, 64, 56, 56), (64, 64, 3, 3), dict(padding=2, dilation=2)),
    ("11x11", (8, 16, 64, 64), (32, 16, 11, 11), dict(padding=5)),
    # DCGAN's generator (pytorch/examples dcgan, nz 100, ngf 64, batch 64): w is (C, O, 4, 4)
    ("dcgan", (64, 100, 1, 1), (100, 512, 4, 4), dict()),
    ("dcgan", (64, 512, 4, 4), (512, 256, 4, 4), dict(stride=2, padding=1)),
    ("dcgan", (64, 256, 8, 8), (256, 128, 4, 4), dict(stride=2, padding=1)),
    ("dcgan", (64, 128, 16, 16), (128, 64, 4, 4), dict(stride=2, padding=1)),
    ("dcgan", (64, 64, 32, 32), (64, 3, 4, 4), dict(stride=2, padding=1)),
    # 1-d audio: an M5-style first layer on 0.5 s at 16 kHz, and a 3-tap layer further in
    ("audio", (16, 1, 8000), (32, 1, 80), dict(stride=4)),
    ("audio", (16, 64, 500), (64, 64, 3), dict(padding=1)),
]

# The functional each class times; conv2d for the rest.
FUNCTIONS = {"dcgan": "conv_transpose2d", "audio": "conv1d"}


def function(cls):
    return FUNCTIONS.get(cls, "conv2d")


def add_arguments(p):
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", default=None, help="one class of the suite, e.g. resnet3x3")
    p.add_argument("--no-torch", action="store_true", help="time tatamikomi alone")
    p.add_argument("--memory", action="store_true",
                   help="also the peak memory of forward+backward on the largest shape")


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


def closures(lib, functional, x, w, b, kw, gy, fn="conv2d"):
    """A forward-only and a forward+backward closure of functional.fn for one library."""
    X, Wt, B, G = (lib.tensor(a, requires_grad=True) for a in (x, w, b, gy))
    conv = getattr(functional, fn)

    def fwd():
        with lib.no_grad():
            conv(X, Wt, B, **kw)

    def fwd_bwd():
        X.grad = Wt.grad = B.grad = None
        conv(X, Wt, B, **kw).backward(G)

    return fwd, fwd_bwd


def sgemm_gflops(repeats):
    """NumPy's float32 GEMM rate on this machine now (n = 1024): the ceiling we compare to."""
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    return 2 * 1024 ** 3 / median_ms(lambda: a @ a, repeats) / 1e6


def geomean(values):
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def cases(only):
    """The suite's arrays, made once so both libraries see the same data."""
    import tatamikomi as tm
    from tatamikomi.nn import functional as F
    rng = np.random.default_rng(0)
    out = []
    for cls, xs, ws, kw in SUITE:
        if only and cls != only:
            continue
        fn = function(cls)
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        y = getattr(F, fn)(tm.tensor(x, requires_grad=True), tm.tensor(w), **kw)
        b = rng.standard_normal(y.shape[1], dtype=np.float32)
        # The node keeps the normalized 2-d spec: for a transposed conv, the conv it is the
        # input gradient of, whose MACs are the same.
        spec = y.grad_fn.spec
        out.append(dict(cls=cls, fn=fn, kw=kw, arrays=(x, w, b),
                        gy=rng.standard_normal(tuple(y.shape), dtype=np.float32),
                        macs=spec.macs, spec=spec))
    return out


def main(args):
    import tatamikomi as tm
    from tatamikomi import kernels
    from tatamikomi.nn import functional as F
    rows = cases(args.only)
    peak = sgemm_gflops(args.repeats)
    # Ours first, then PyTorch's in a child process: its OpenMP workers keep spinning after its
    # calls and would slow whatever ran next on 2 cores, which is not a cost of ours.
    ours = [[median_ms(f, args.repeats)
             for f in closures(tm, F, *r["arrays"], r["kw"], r["gy"], r["fn"])] for r in rows]
    theirs = None if args.no_torch else torch_times(rows, args.repeats)
    print(f"NumPy sgemm peak now: {peak:.0f} GFLOP/s (2 threads). FLOPs = 2 x MACs; "
          "forward+backward counts 3x the forward's FLOPs.")
    print(f"{'class':10} {'x':>18} {'w':>16} {'kernel':9} {'fwd ms':>8} {'GF/s':>6} {'%pk':>4} "
          f"{'f+b ms':>8} {'GF/s':>6} {'%pk':>4}" + ("" if theirs is None else
                                                      f" {'torch f':>8} {'torch fb':>8} "
                                                      f"{'x fwd':>6} {'x f+b':>6}"))
    by_class = {}
    for i, r in enumerate(rows):
        o = ours[i]
        gf = [2 * r["macs"] / o[0] / 1e6, 6 * r["macs"] / o[1] / 1e6]
        kname = kernels.select(r["spec"]).__name__.rsplit(".", 1)[-1]
        x, w = r["arrays"][:2]
        line = (f"{r['cls']:10} {str(x.shape):>18} {str(w.shape):>16} {kname:9} {o[0]:8.2f} "
                f"{gf[0]:6.1f} {100 * gf[0] / peak:4.0f} {o[1]:8.2f} {gf[1]:6.1f} "
                f"{100 * gf[1] / peak:4.0f}")
        if theirs is not None:
            t = theirs[i]
            ratio = (o[0] / t[0], o[1] / t[1])
            by_class.setdefault(r["cls"], []).append(ratio)
            line += f" {t[0]:8.2f} {t[1]:8.2f} {ratio[0]:6.2f} {ratio[1]:6.2f}"
        print(line)
    if theirs is not None:
        print("geometric mean of ours/torch (forward, forward+backward):")
        for cls, rs in by_class.items():
            fwd, both = geomean([a for a, _ in rs]), geomean([b for _, b in rs])
            print(f"  {cls:10} {fwd:5.2f} {both:5.2f}")
        flat = [r for rs in by_class.values() for r in rs]
        print(f"  {'overall':10} {geomean([a for a, _ in flat]):5.2f} "
              f"{geomean([b for _, b in flat]):5.2f}")
    if args.memory:
        print_memory(rows)
    return 0


# The child runs this file by path, so it never imports tatamikomi (see torch_times).
_CHILD = "import runpy, sys; runpy.run_path(sys.argv[1])['_torch_child'](*sys.argv[2:])"


def torch_times(rows, repeats):
    """PyTorch's [fwd, f+b] ms per row, timed in a child process that never loads tatamikomi.

    Loaded together, the two share one OpenMP runtime (torch's libgomp.so.1 resolves to the
    copy Numba loaded), and tatamikomi starts it waiting passively; PyTorch is timed under its
    own defaults instead, as its users run it, but with the allocator settings tatamikomi makes
    (HEAP_ENV), which spare both the page faults of fresh arrays. The arrays travel in an .npz.
    """
    from tatamikomi import HEAP_ENV  # here: the child runs this file without tatamikomi
    with tempfile.TemporaryDirectory() as d:
        arrays = {f"{k}{i}": a for i, r in enumerate(rows)
                  for k, a in zip("xwbg", (*r["arrays"], r["gy"]))}
        np.savez(os.path.join(d, "in.npz"), **arrays)
        with open(os.path.join(d, "kw.json"), "w") as f:
            json.dump([[r["fn"], r["kw"]] for r in rows], f)
        subprocess.run([sys.executable, "-c", _CHILD, __file__, d, str(repeats)], check=True,
                       env={**os.environ, **HEAP_ENV})
        with open(os.path.join(d, "out.json")) as f:
            return json.load(f)


def _torch_child(d, repeats):
    """Time every row with PyTorch at 2 threads; write [fwd, f+b] ms per row to d/out.json."""
    import torch
    torch.set_num_threads(2)
    with open(os.path.join(d, "kw.json")) as f:
        kws = json.load(f)
    z = np.load(os.path.join(d, "in.npz"))
    out = [[median_ms(f, int(repeats)) for f in closures(
        torch, torch.nn.functional, *(z[f"{k}{i}"] for k in "xwb"), kw, z[f"g{i}"], fn)]
        for i, (fn, kw) in enumerate(kws)]
    with open(os.path.join(d, "out.json"), "w") as f:
        json.dump(out, f)


def print_memory(rows):
    """Peak memory of one forward+backward on the largest shape, each library in its own process."""
    big = max(rows, key=lambda r: r["arrays"][0].size + r["gy"].size)
    x, w = big["arrays"][:2]
    out = {}
    for lib in ("tatamikomi", "torch"):
        code = "from tatamikomi.tools.bench import _memory_child; _memory_child()"
        res = subprocess.run([sys.executable, "-c", code, lib, repr(tuple(x.shape)),
                              repr(tuple(w.shape)), repr(big["kw"]), big["fn"]],
                             capture_output=True, text=True)
        out[lib] = float(res.stdout.strip() or "nan")
    print(f"peak extra memory, forward+backward of x{tuple(x.shape)} w{tuple(w.shape)}: "
          f"tatamikomi {out['tatamikomi']:.0f} MB, torch {out['torch']:.0f} MB, "
          f"ratio {out['tatamikomi'] / out['torch']:.2f}")


def _memory_child():
    """Print the peak RSS growth (MB) during one forward+backward, inputs already made (Linux)."""
    import ast
    lib_name, fn = sys.argv[1], sys.argv[5]
    xs, ws, kw = (ast.literal_eval(a) for a in sys.argv[2:5])
    lib = __import__(lib_name)
    conv = getattr(lib.nn.functional, fn)
    if lib_name == "torch":
        lib.set_num_threads(2)
    rng = np.random.default_rng(0)
    X = lib.tensor(rng.standard_normal(xs, dtype=np.float32), requires_grad=True)
    W = lib.tensor(rng.standard_normal(ws, dtype=np.float32), requires_grad=True)
    small = conv(X[:1], W, **kw)                  # compile / initialise on one sample
    small.sum().backward()
    X.grad = W.grad = None
    before = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:        # Linux: restart the peak (VmHWM) here
        f.write("5")
    y = conv(X, W, **kw)
    y.backward(lib.ones(tuple(y.shape)))
    print((_status_kb("VmHWM") - before) / 1024)


def _status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
