"""Inference, tatamikomi vs onnxruntime vs PyTorch: ResNet-18 and MobileNetV2 from
tatamikomi.vision.models, eval mode, 224 x 224, batch 1 and 64, same weights and input.

    python benchmarks/inference.py [--repeats 5] [--threads 2] [--only resnet18]

Ours runs under inference_mode (the eval fast path: packed convs, BN folded, activation and
residual fused); onnxruntime runs the model as tatamikomi.onnx.export writes it (all graph
optimizations on); PyTorch runs the same architectures as tests/models_ref.py writes them
(torchvision's layer names, functional forward) under inference_mode. Each (library, model,
batch) runs in its own process, so that its peak memory is its own: the resident set's peak
(sampled every millisecond) minus its size before the model is built (the weights, anything
packed from them, and the activations). Milliseconds are medians over --repeats after one
warm-up call (batch 1: five times as many). The outputs of the three are compared
(max |a - b| / max |b|).

--profile says where the time goes, per layer type, ours against onnxruntime's: our convs
(each one a packed call with its BatchNorm, activation and residual fused) timed around
kernels.fused.forward, the rest of the forward as "other"; onnxruntime's nodes from its own
profiler (SessionOptions.enable_profiling), its convs sorted by their weights' shapes into
the same types. Milliseconds per forward, means over --repeats calls.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
from models import median_ms

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("resnet18", "mobilenet_v2")
BATCHES = (1, 64)
LIBS = ("tatamikomi", "onnxruntime", "torch")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Peak(threading.Thread):
    """The resident set's peak, sampled every millisecond (ru_maxrss cannot be reset, and
    imports may have peaked above what a batch-1 forward needs)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.base = self.peak = rss_mb()
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.001):
            self.peak = max(self.peak, rss_mb())

    def stop(self):
        self.done.set()
        self.join()
        return max(self.peak, rss_mb()) - self.base


def cpu():
    """The CPU's model name and its widest vector ISA, from lscpu."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown CPU"
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = info.get("Flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return f"{info.get('Model name', '?').strip()}, {isa}"


def ours(name, x, d):
    import tatamikomi as tk
    from tatamikomi.vision import models
    tk.manual_seed(0)
    model = getattr(models, name)(num_classes=1000)
    init = np.load(os.path.join(d, f"{name}.npz"))
    model.load_state_dict({k: tk.tensor(init[k]) for k in init.files})
    model.eval()
    x = tk.tensor(x)

    def run():
        with tk.inference_mode():
            return model(x).numpy()
    return run


def ort_(name, x, d, threads, profile=False):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.enable_profiling = profile
    opts.profile_file_prefix = os.path.join(d, f"ort-{name}-{len(x)}")
    sess = ort.InferenceSession(os.path.join(d, f"{name}.onnx"), opts,
                                providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    run = lambda: sess.run(None, feed)[0]          # noqa: E731
    run.session = sess
    return run


def conv_type(w_shape, in_channels):
    """A conv's layer type from its weight shape (O, C // groups, KH, KW) and input channels."""
    O, c, KH, KW = w_shape
    if c == 1 and in_channels > 1:
        return f"conv {KH}x{KW} depthwise"
    return f"conv {KH}x{KW}" + (" (stem)" if in_channels <= 4 else "")


def profile_ours(fn, repeats):
    """ms per forward by layer type: each packed conv call (BN, activation and residual fused
    into it) by its weights' shape, the rest of the forward as other."""
    import time

    from tatamikomi.kernels import fused
    plain, spent = fused.forward, {}

    def timed(x, packed, spec, *args, **kwargs):
        t0 = time.perf_counter()
        y = plain(x, packed, spec, *args, **kwargs)
        key = conv_type((spec.O, spec.C // spec.groups, spec.KH, spec.KW), spec.C)
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - t0
        return y
    fused.forward = timed
    try:
        fn()
        spent.clear()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        total = time.perf_counter() - t0
    finally:
        fused.forward = plain
    spent["other"] = total - sum(spent.values())
    return {k: 1e3 * v / repeats for k, v in spent.items()}


def profile_ort(fn, repeats):
    """ms per forward by layer type from onnxruntime's profiler (its node events), over
    repeats forwards and the first (a session's first run is not its slowest by much)."""
    for _ in range(repeats + 1):
        fn()
    with open(fn.session.end_profiling()) as f:
        events = json.load(f)
    spent, runs = {}, 0
    for ev in events:
        args = ev.get("args", {})
        runs += ev.get("cat") == "Session" and ev.get("name") == "model_run"
        if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
            continue
        op = args.get("op_name", "?")
        key = op
        if op in ("Conv", "FusedConv"):
            shapes = [list(t.values())[0] for t in args.get("input_type_shape", [])]
            key = conv_type(shapes[1], shapes[0][1])
        spent[key] = spent.get(key, 0.0) + ev["dur"] / 1e3
    convs = {k: v / runs for k, v in spent.items() if k.startswith("conv")}
    convs["other"] = sum(v for k, v in spent.items() if not k.startswith("conv")) / runs
    convs["other ops"] = ", ".join(sorted(k for k in spent if not k.startswith("conv")))
    return convs


def torch_(name, x, d):
    import torch
    sys.path.insert(0, str(ROOT / "tests"))
    import models_ref
    init = np.load(os.path.join(d, f"{name}.npz"))
    tensors = {k: torch.from_numpy(init[k].copy()) for k in init.files}
    x = torch.from_numpy(x)
    forward = {"resnet18": lambda R, x: models_ref.resnet(R, x, "basic", [2, 2, 2, 2]),
               "mobilenet_v2": models_ref.mobilenet_v2}[name]

    def run():
        with torch.inference_mode():
            return forward(models_ref.Ref(tensors, False), x).numpy()
    return run


def child(lib, name, batch, d, repeats, threads, profile=False):
    """Time one (library, model, batch) in this process; write ms, peak MB and the output."""
    x = np.load(os.path.join(d, "x.npy"))[:batch]
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
    elif lib == "tatamikomi":
        import tatamikomi
        tatamikomi.set_num_threads(threads)
    else:
        __import__("onnxruntime")           # loaded before the baseline, as the others are
    peak = Peak()
    peak.start()
    fn = {"tatamikomi": lambda: ours(name, x, d), "torch": lambda: torch_(name, x, d),
          "onnxruntime": lambda: ort_(name, x, d, threads)}[lib]()
    ms = median_ms(fn, repeats if batch > 1 else 5 * repeats)
    np.save(os.path.join(d, f"out-{lib}-{name}-{batch}.npy"), fn())
    res = {"ms": ms, "mb": peak.stop()}
    if profile and lib != "torch":
        reps = repeats if batch > 1 else 5 * repeats
        res["profile"] = (profile_ours(fn, reps) if lib == "tatamikomi" else
                          profile_ort(ort_(name, x, d, threads, profile=True), reps))
    with open(os.path.join(d, f"{lib}-{name}-{batch}.json"), "w") as f:
        json.dump(res, f)


def prepare(d):
    """The weights (ours, seeded, with BN statistics made non-trivial), the input, the ONNX."""
    import tatamikomi as tk
    from tatamikomi.vision import models
    rng = np.random.default_rng(0)
    np.save(os.path.join(d, "x.npy"), rng.standard_normal((max(BATCHES), 3, 224, 224),
                                                          dtype=np.float32))
    for name in MODELS:
        tk.manual_seed(0)
        model = getattr(models, name)(num_classes=1000)
        for m in model.modules():
            if isinstance(m, tk.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(tk.tensor(rng.normal(0, 0.1, c).astype(np.float32)))
                m.running_var.copy_(tk.tensor(rng.uniform(0.5, 2, c).astype(np.float32)))
        np.savez(os.path.join(d, f"{name}.npz"),
                 **{k: v.numpy() for k, v in model.state_dict().items()})
        model.eval()
        tk.onnx.export(model, tk.zeros(1, 3, 224, 224), os.path.join(d, f"{name}.onnx"),
                       input_names=["x"], output_names=["y"],
                       dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed calls at batch 64 (default 5)")
    p.add_argument("--threads", type=int, default=2, help="threads on every side (default 2)")
    p.add_argument("--only", help="models whose name contains this")
    p.add_argument("--profile", action="store_true",
                   help="also the time per layer type, ours against onnxruntime's")
    p.add_argument("--child", nargs=4, metavar=("LIB", "MODEL", "BATCH", "DIR"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        lib, name, batch, d = args.child
        return child(lib, name, int(batch), d, args.repeats, args.threads, args.profile)
    from tatamikomi import HEAP_ENV
    names = [m for m in MODELS if not args.only or args.only in m]
    env = {"OPENBLAS_THREAD_TIMEOUT": "4", **os.environ, **HEAP_ENV,
           "OPENBLAS_NUM_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads)}
    res = {}
    with tempfile.TemporaryDirectory() as d:
        prepare(d)
        for name in names:
            for batch in BATCHES:
                for lib in LIBS:
                    cmd = [sys.executable, __file__, "--child", lib, name, str(batch), d,
                           "--repeats", str(args.repeats), "--threads", str(args.threads)]
                    cmd += ["--profile"] if args.profile else []
                    subprocess.run(cmd, check=True, env=env)
                    with open(os.path.join(d, f"{lib}-{name}-{batch}.json")) as f:
                        res[lib, name, batch] = json.load(f)
                outs = {lib: np.load(os.path.join(d, f"out-{lib}-{name}-{batch}.npy"))
                        for lib in LIBS}
                res["diff", name, batch] = {
                    lib: float(np.abs(outs[lib] - outs["torch"]).max()
                               / np.abs(outs["torch"]).max()) for lib in LIBS[:2]}
    load = os.getloadavg()[0]
    print(f"{cpu()}; {args.threads} threads on every side; load average {load:.1f}; "
          f"medians (ms), peak RSS over the baseline (MB)")
    print(f"{'model':13} {'batch':>5} {'tatamikomi':>11} {'onnxruntime':>12} {'PyTorch':>9} "
          f"{'ours/ort':>9} {'ours/torch':>10}   {'MB ours':>8} {'ort':>6} {'torch':>6}")
    for name in names:
        for batch in BATCHES:
            t, o, p_ = (res[lib, name, batch] for lib in LIBS)
            print(f"{name:13} {batch:5} {t['ms']:11.1f} {o['ms']:12.1f} {p_['ms']:9.1f} "
                  f"{t['ms'] / o['ms']:9.2f} {t['ms'] / p_['ms']:10.2f}   {t['mb']:8.0f} "
                  f"{o['mb']:6.0f} {p_['mb']:6.0f}")
    print("outputs against PyTorch's, max |a - b| / max |torch|: " + ", ".join(
        f"{name} b{batch}: ours {res['diff', name, batch]['tatamikomi']:.1e}, "
        f"ort {res['diff', name, batch]['onnxruntime']:.1e}"
        for name in names for batch in BATCHES))
    if args.profile:
        print_profile(res, names)
    return 0


def print_profile(res, names):
    """Per model and batch: ms per forward by layer type, ours and onnxruntime's."""
    for name in names:
        for batch in BATCHES:
            ours, ort = (res[lib, name, batch]["profile"] for lib in LIBS[:2])
            print(f"\n{name} batch {batch}: ms per forward by layer type "
                  f"(onnxruntime's other: {ort.pop('other ops')})")
            print(f"{'layer type':24} {'ours':>9} {'ort':>9} {'ours/ort':>9}")
            for k in sorted(set(ours) | set(ort), key=lambda k: (k == "other", k)):
                a, b = ours.get(k, 0.0), ort.get(k, 0.0)
                print(f"{k:24} {a:9.2f} {b:9.2f} {a / b if b else float('nan'):9.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
