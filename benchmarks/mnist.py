"""Time one MNIST training epoch and the test pass: tatamikomi vs PyTorch, the chapter's loop.

    python benchmarks/mnist.py --data ../shared/datasets/mnist [--limit 60000] [--profile]

Both libraries train the chapter's SimpleCNN (Adam 1e-3, batch 64) on the same normalized
images through their own DataLoader over a TensorDataset, at 2 threads; ours runs first as
one phase, then PyTorch's (its OpenMP workers spin after its calls). Prints seconds, the
ratio ours/torch, and test accuracy. --profile prints the top of cProfile for our epoch.
"""
import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import numpy as np
import torch

import tatamikomi as tm
from tatamikomi.tools.models import SimpleCNN, simple_cnn_class
from tatamikomi.tools.train import mnist_root
from tatamikomi.utils import data as tm_data
from tatamikomi.vision import datasets

torch.set_num_threads(2)


TorchSimpleCNN = simple_cnn_class(torch.nn, torch.nn.functional)


def arrays(root, train, limit):
    """Normalized images and labels as NumPy arrays. Shapes: (n, 1, 28, 28), (n,)."""
    ds = datasets.MNIST(root, train=train)
    x = ds.data.numpy()[:limit].astype(np.float32) / 255
    x = ((x - 0.1307) / 0.3081)[:, None]
    return np.ascontiguousarray(x), ds.targets.numpy()[:limit].copy()


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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="MNIST root or folder with the raw IDX files")
    p.add_argument("--limit", type=int, default=60000, help="train images to use")
    p.add_argument("--profile", action="store_true", help="cProfile our epoch, print the top")
    args = p.parse_args(argv)
    root, _ = mnist_root(args.data, Path("runs") / "bench")
    x, y = arrays(root, True, args.limit)
    xt, yt = arrays(root, False, None)
    tm.manual_seed(0)
    torch.manual_seed(0)
    ours_model, torch_model = SimpleCNN(), TorchSimpleCNN()
    ours_model.load_state_dict({k: tm.tensor(v.detach().numpy())
                                for k, v in torch_model.state_dict().items()})
    import tatamikomi.optim  # noqa: F401 - make tm.optim reachable as torch.optim is
    prof = cProfile.Profile() if args.profile else None
    if prof:
        prof.enable()
    ours = run(tm, tm_data, ours_model, x, y, xt, yt)
    if prof:
        prof.disable()
    theirs = run(torch, torch.utils.data, torch_model, x, y, xt, yt)
    print(f"{len(y)} train images, {len(yt)} test images, batch 64, Adam 1e-3, 2 threads")
    print(f"{'':12} {'train s':>8} {'test s':>7} {'test acc':>9}")
    print(f"{'tatamikomi':12} {ours[0]:8.2f} {ours[1]:7.2f} {ours[2]:8.2f}%")
    print(f"{'torch':12} {theirs[0]:8.2f} {theirs[1]:7.2f} {theirs[2]:8.2f}%")
    print(f"ratio ours/torch: train epoch {ours[0] / theirs[0]:.2f}, "
          f"test pass {ours[1] / theirs[1]:.2f}")
    if prof:
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
