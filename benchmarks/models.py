"""Whole models, tatamikomi vs PyTorch: one SGD training step, and eval-mode inference at batch 1
(latency) and 64 (throughput), same weights, each library in its own process.

    python benchmarks/models.py [--repeats 5] [--only resnet18] [--avx2] [--threads 1]
                                [--profile CASE]

Training: ResNet-18 and MobileNetV2 on CIFAR-sized input (64 x 3 x 32 x 32), SGD with momentum,
forward, backward and update. Inference under no_grad in eval mode: the chapter's SimpleCNN
(1 x 28 x 28), ResNet-18 and MobileNetV2 at 224 x 224. The networks are written once below
against a `nn` module, so both libraries build the same layers, from their papers: ResNet-18
(He et al., 2016; torchvision's layout: 7x7/2 stem, max pool, four stages of two basic blocks)
and MobileNetV2 (Sandler et al., 2018: inverted residuals, ReLU6, width 1.0). PyTorch runs first
and writes its initial weights; ours loads them, and both eval outputs of them are compared.
Milliseconds are medians over --repeats after a warm-up call; both at the machine's threads,
under the allocator settings tatamikomi makes. --profile CASE prints cProfile's top for ours.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1] / "tatamikomi" / "tools" / "models.py"
AVX2_FEATURES = ("+64bit,+avx,+avx2,+fma,+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,"
                 "+f16c,+bmi,+bmi2,+lzcnt,+movbe")


def networks(nn):
    """{name: builder} for ResNet-18 and MobileNetV2 written against `nn` (ours or torch's)."""

    class BasicBlock(nn.Module):
        """Two 3x3 convs with batch norm; the shortcut a 1x1/2 conv where the shape changes."""

        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    def resnet18(num_classes):
        layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.MaxPool2d(3, 2, 1)]
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
        return nn.Sequential(*layers)

    def conv_bn(cin, cout, k, stride, groups=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout)]
        return layers + [nn.ReLU6()] if act else layers

    class InvertedResidual(nn.Module):
        """1x1 expansion (t), 3x3 depthwise, 1x1 linear projection; a residual at stride 1."""

        def __init__(self, cin, cout, stride, t):
            super().__init__()
            hidden = cin * t
            layers = conv_bn(cin, hidden, 1, 1) if t != 1 else []
            layers += conv_bn(hidden, hidden, 3, stride, groups=hidden)
            layers += conv_bn(hidden, cout, 1, 1, act=False)
            self.conv = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    def mobilenet_v2(num_classes):
        layers, cin = conv_bn(3, 32, 3, 2), 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += conv_bn(cin, 1280, 1, 1)
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                   nn.Linear(1280, num_classes)]
        return nn.Sequential(*layers)

    return {"resnet18": resnet18, "mobilenet_v2": mobilenet_v2}


# (case, model, input shape, what): training steps, then inference at batch 1 and 64
CASES = [
    ("resnet18 train", "resnet18", (64, 3, 32, 32), "train"),
    ("mobilenet_v2 train", "mobilenet_v2", (64, 3, 32, 32), "train"),
    ("simplecnn infer b1", "simplecnn", (1, 1, 28, 28), "infer"),
    ("simplecnn infer b64", "simplecnn", (64, 1, 28, 28), "infer"),
    ("resnet18 infer b1", "resnet18", (1, 3, 224, 224), "infer"),
    ("resnet18 infer b64", "resnet18", (64, 3, 224, 224), "infer"),
    ("mobilenet_v2 infer b1", "mobilenet_v2", (1, 3, 224, 224), "infer"),
    ("mobilenet_v2 infer b64", "mobilenet_v2", (64, 3, 224, 224), "infer"),
]


def build(lib, name):
    """The named model, built with lib's nn (SimpleCNN from tatamikomi/tools/models.py)."""
    if name == "simplecnn":
        spec = importlib.util.spec_from_file_location("chapter_models", MODELS)
        models = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(models)                   # imports nothing by itself
        return models.simple_cnn_class(lib.nn, lib.nn.functional)()
    return networks(lib.nn)[name](10)


def median_ms(fn, repeats):
    """The median of `repeats` timed calls after one warm-up call (ms)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def call(lib, model, x, target, what):
    """One training step (SGD with momentum) or one inference, as a function of no arguments."""
    if what == "infer":
        model.eval()

        def infer():
            with lib.no_grad():
                return model(x)
        return infer
    model.train()
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), target).backward()
        opt.step()
    return train


def child(lib_name, d, only, repeats, profile, threads):
    """Time every case with one library; torch also writes the initial weights for ours."""
    if lib_name == "torch":
        import torch as lib
    else:
        import tatamikomi as lib
    if threads:
        lib.set_num_threads(threads)
    lib.manual_seed(0)
    names = sorted({m for case, m, _, _ in CASES if not only or only in case})
    models = {}
    for name in names:
        model = build(lib, name)
        path = os.path.join(d, f"{name}.npz")
        if lib_name == "torch":
            np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
        else:
            init = np.load(path)
            model.load_state_dict({k: lib.tensor(init[k]) for k in init.files})
        models[name] = model
    data = np.load(os.path.join(d, "data.npz"))
    for name, model in models.items():                  # the same network? eval outputs
        model.eval()
        shape = (1, 1, 28, 28) if name == "simplecnn" else (1, 3, 224, 224)
        out = lib.tensor(data[f"x{shape[0]}_{shape[2]}_{shape[1]}"])
        # the features before the classifier: MobileNetV2's default init shrinks them to
        # 1e-7, so its logits are the classifier's bias alone
        layers = [model] if name == "simplecnn" else list(model.children())[:-1]
        with lib.no_grad():
            for layer in layers:
                out = layer(out)
        np.save(os.path.join(d, f"{lib_name}-{name}-out.npy"), out.numpy())
    result = {"threads": lib.get_num_threads()}
    for case, name, shape, what in CASES:
        if only and only not in case:
            continue
        x = lib.tensor(data[f"x{shape[0]}_{shape[2]}_{shape[1]}"])
        fn = call(lib, models[name], x, lib.tensor(data["target"][:shape[0]]), what)
        if profile and profile in case and lib_name != "torch":
            import cProfile
            import pstats
            fn()
            prof = cProfile.Profile()
            prof.runcall(fn)
            pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(20)
        result[case] = median_ms(fn, repeats if shape[0] > 1 else 5 * repeats)
    with open(os.path.join(d, f"{lib_name}.json"), "w") as f:
        json.dump(result, f)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed calls per case (default: 5)")
    p.add_argument("--only", help="the cases whose name contains this, e.g. resnet18 or b1")
    p.add_argument("--avx2", action="store_true",
                   help="compile AVX2 code and hold PyTorch to AVX2")
    p.add_argument("--profile", metavar="CASE", help="cProfile one call of our CASE")
    p.add_argument("--threads", type=int, default=0,
                   help="threads for both (default: each library's own, the machine's cores); "
                        "1 compares the kernels where other jobs hold cores, which stalls "
                        "every parallel region waiting for a thread to be scheduled")
    p.add_argument("--child", nargs=2, metavar=("LIB", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(*args.child, args.only, args.repeats, args.profile, args.threads)
    from tatamikomi import HEAP_ENV
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        arrays = {f"x{s[0]}_{s[2]}_{s[1]}": rng.standard_normal(s, dtype=np.float32)
                  for _, _, s, _ in CASES}
        np.savez(os.path.join(d, "data.npz"), target=rng.integers(0, 10, 64), **arrays)
        res = {}
        for lib in ("torch", "tatamikomi"):                # torch first: it writes the weights
            env = {"OPENBLAS_THREAD_TIMEOUT": "4", **os.environ, **HEAP_ENV}
            if args.threads:                                # OpenBLAS's pool (ours) too
                env["OPENBLAS_NUM_THREADS"] = str(args.threads)
            if args.avx2:
                env.update(NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=AVX2_FEATURES,
                           NUMBA_CACHE_DIR=os.path.join(tempfile.gettempdir(),
                                                        "tatamikomi-avx2-cache"),
                           ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2")
            cmd = [sys.executable, __file__, "--child", lib, d, "--repeats", str(args.repeats)]
            cmd += ["--only", args.only] if args.only else []
            cmd += ["--profile", args.profile] if args.profile else []
            cmd += ["--threads", str(args.threads)] if args.threads else []
            subprocess.run(cmd, check=True, env=env)
            with open(os.path.join(d, f"{lib}.json")) as f:
                res[lib] = json.load(f)
        diffs = {}
        for name in ("simplecnn", "resnet18", "mobilenet_v2"):
            paths = [os.path.join(d, f"{lib}-{name}-out.npy") for lib in ("torch", "tatamikomi")]
            if all(os.path.exists(q) for q in paths):
                a, b = (np.load(q) for q in paths)
                diffs[name] = float(np.abs(a - b).max() / (np.abs(a).max() + 1e-30))
    ours, theirs = res["tatamikomi"], res["torch"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{'AVX2 code' if args.avx2 else 'native code'}; threads: ours {ours['threads']}, "
          f"torch {theirs['threads']}; load average {load:.1f}; ms, medians")
    print(f"{'case':24} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>10}")
    ratios = []
    for case, *_ in CASES:
        if case in ours:
            ratios.append(ours[case] / theirs[case])
            print(f"{case:24} {ours[case]:9.2f} {theirs[case]:9.2f} {ratios[-1]:10.2f}")
    print(f"geometric mean ours/torch: {float(np.exp(np.mean(np.log(ratios)))):.2f}")
    print("eval outputs (features for the two big ones) of the initial weights, "
          "max |ours - torch| / max |torch|: " +
          ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
