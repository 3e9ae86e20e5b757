"""Time one MNIST training epoch and the test pass: tatamikomi vs PyTorch, the chapter's loop.

    python benchmarks/mnist.py --data ../shared/datasets/mnist [--limit 60000] [--profile]

Both libraries train the chapter's SimpleCNN (Adam 1e-3, batch 64) from the same initial
weights on the same normalized images through their own DataLoader over a TensorDataset, at 2
threads. Each runs in its own process that never loads the other library, as its users run it:
loaded together they would share one OpenMP runtime, which tatamikomi configures at import
(kernels/_jit.py), and whichever loads first decides for both. Both get the allocator settings
tatamikomi makes (HEAP_ENV in tatamikomi/__init__.py). Prints seconds, the ratio ours/torch
and test accuracy; --profile prints the top of cProfile for our epoch.
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


def prepare(data, limit, d):
    """Write the normalized train/test arrays to d/data.npz. Shapes: (n, 1, 28, 28), (n,)."""
    from tatamikomi.tools.train import mnist_root
    from tatamikomi.vision import datasets
    root, _ = mnist_root(data, Path("runs") / "bench")
    out = {}
    for split, train, n in (("train", True, limit), ("test", False, None)):
        ds = datasets.MNIST(root, train=train)
        x = ds.data.numpy()[:n].astype(np.float32) / 255
        out[f"x_{split}"] = np.ascontiguousarray(((x - 0.1307) / 0.3081)[:, None])
        out[f"y_{split}"] = ds.targets.numpy()[:n].copy()
    np.savez(os.path.join(d, "data.npz"), **out)


def run(lib, data_mod, model, x, y, xt, yt):
    """One training epoch and one test pass; returns (train s, test s, test accuracy %)."""
    gen = lib.Generator().manual_seed(0)
    train = data_mod.DataLoader(data_mod.TensorDataset(lib.tensor(x), lib.tensor(y)),
                                batch_size=64, shuffle=True, generator=gen)
    test = data_mod.DataLoader(data_mod.TensorDataset(lib.tensor(xt), lib.tensor(yt)),
                               batch_size=1000)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    criterion = lib.nn.CrossEntropyLoss()
    model.train()
    t0 = time.perf_counter()
    for data, target in train:
        optimizer.zero_grad()
        loss = criterion(model(data), target)
        loss.backward()
        optimizer.step()
    t1 = time.perf_counter()
    model.eval()
    correct = 0
    with lib.no_grad():
        for data, target in test:
            correct += model(data).argmax(dim=1).eq(target).sum().item()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, 100.0 * correct / len(yt)


def child(lib_name, d, profile):
    """Train and test with one library; torch also writes its initial weights for ours."""
    z = np.load(os.path.join(d, "data.npz"))
    spec = importlib.util.spec_from_file_location("chapter_models", MODELS)
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)                       # imports nothing by itself
    if lib_name == "torch":
        import torch as lib
        lib.set_num_threads(2)
        lib.manual_seed(0)
        model = models.simple_cnn_class(lib.nn, lib.nn.functional)()
        np.savez(os.path.join(d, "init.npz"),
                 **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    else:
        import tatamikomi as lib
        import tatamikomi.optim  # make lib.optim reachable as torch.optim is
        lib.manual_seed(0)
        model = models.simple_cnn_class(lib.nn, lib.nn.functional)()
        init = np.load(os.path.join(d, "init.npz"))
        model.load_state_dict({k: lib.tensor(init[k]) for k in init.files})
    prof = None
    if profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    result = run(lib, lib.utils.data, model, z["x_train"], z["y_train"], z["x_test"],
                 z["y_test"])
    if prof:
        import pstats
        prof.disable()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    with open(os.path.join(d, f"{lib_name}.json"), "w") as f:
        json.dump(result, f)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="MNIST root or folder with the raw IDX files")
    p.add_argument("--limit", type=int, default=60000, help="train images to use")
    p.add_argument("--profile", action="store_true", help="cProfile our epoch, print the top")
    p.add_argument("--child", nargs=2, metavar=("LIB", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(*args.child, args.profile)
    with tempfile.TemporaryDirectory() as d:
        prepare(args.data, args.limit, d)
        from tatamikomi import HEAP_ENV
        res = {}
        for lib in ("torch", "tatamikomi"):                # torch first: it writes init.npz
            cmd = [sys.executable, __file__, "--data", args.data, "--child", lib, d]
            # One allocator setup for both; and the OpenBLAS setting tatamikomi makes when it is
            # imported before NumPy, which this file cannot do (README, Speed tips).
            env = {"OPENBLAS_THREAD_TIMEOUT": "4", **os.environ, **HEAP_ENV}
            subprocess.run(cmd + (["--profile"] if args.profile and lib != "torch" else []),
                           check=True, env=env)
            with open(os.path.join(d, f"{lib}.json")) as f:
                res[lib] = json.load(f)
        n_train, n_test = (len(np.load(os.path.join(d, "data.npz"))[k])
                           for k in ("y_train", "y_test"))
    ours, theirs = res["tatamikomi"], res["torch"]
    print(f"{n_train} train images, {n_test} test images, batch 64, Adam 1e-3, 2 threads")
    print(f"{'':12} {'train s':>8} {'test s':>7} {'test acc':>9}")
    print(f"{'tatamikomi':12} {ours[0]:8.2f} {ours[1]:7.2f} {ours[2]:8.2f}%")
    print(f"{'torch':12} {theirs[0]:8.2f} {theirs[1]:7.2f} {theirs[2]:8.2f}%")
    print(f"ratio ours/torch: train epoch {ours[0] / theirs[0]:.2f}, "
          f"test pass {ours[1] / theirs[1]:.2f}")


if __name__ == "__main__":
    main()
