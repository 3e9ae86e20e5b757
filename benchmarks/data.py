"""Time augmented Fashion-MNIST epochs through a DataLoader with workers: tatamikomi vs PyTorch.

    python benchmarks/data.py --data ../shared/datasets/fashion-mnist [--workers 2] [--repeat 3]

Each side loads every training image once per epoch (batch 64, shuffled) with a random crop
(padding 2) and a random horizontal flip, then scales and normalizes; nothing is trained, so
the time is the data pipeline's alone. Three pipelines:

- torch: PyTorch's DataLoader over its own uint8 tensors, the augmentation in torch ops per
  sample (torchvision is not installable here; this is what its tensor transforms do);
- ours-tensor: the same Dataset code run with tatamikomi in place of torch;
- ours-pil: tatamikomi's FashionMNIST with transforms.Compose([RandomCrop, RandomHorizontalFlip,
  ToTensor, Normalize]) on PIL images, as a torchvision user writes it; the loader takes its
  batch path (each batch cropped and flipped at once, the same draws and pixels);
- ours-pil-1: the same, one sample at a time through PIL (a Compose subclass has no batch form).

Each side runs in its own process that never loads the other library. Prints the median epoch
seconds of --repeat epochs per pipeline and the ratios to torch's.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

MEAN, STD = 0.2860, 0.3530
PIPELINES = ("torch", "ours-tensor", "ours-pil", "ours-pil-1")


def augmented(lib, F, base):
    """A Dataset class over uint8 images (N, 28, 28) and labels, written once for both libs."""

    class Augmented(base):
        def __init__(self, images, labels):
            self.images, self.labels = images, labels

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            img = self.images[i].unsqueeze(0).float().div(255)
            img = F.pad(img, (2, 2, 2, 2))
            top = lib.randint(0, 5, size=(1,)).item()
            left = lib.randint(0, 5, size=(1,)).item()
            img = img[:, top:top + 28, left:left + 28]
            if lib.rand(1).item() < 0.5:
                img = img.flip(-1)
            return (img - MEAN) / STD, int(self.labels[i])

    return Augmented


def load_raw(data):
    """Fashion-MNIST's training images and labels as uint8/int64 NumPy arrays."""
    import gzip

    import numpy as np
    raw = Path(data) / "FashionMNIST" / "raw"

    def idx(name):
        b = gzip.decompress((raw / f"{name}.gz").read_bytes())
        dims = np.frombuffer(b, ">u4", b[3], 4)
        return np.frombuffer(b, np.uint8, offset=4 + 4 * b[3]).reshape(dims)
    return idx("train-images-idx3-ubyte"), idx("train-labels-idx1-ubyte").astype(np.int64)


def epochs(loader, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = 0
        for _, y in loader:
            n += len(y)
        times.append(time.perf_counter() - t0)
    return times, n


def side(args):
    """Run one pipeline in this process; print its epoch times as JSON."""
    images, labels = load_raw(args.data)
    images, labels = images[:args.limit], labels[:args.limit]
    if args.side == "torch":
        import torch
        import torch.nn.functional as F
        from torch.utils import data as D
        torch.set_num_threads(1)
        lib = torch
    else:
        import tatamikomi as lib
        import tatamikomi.nn.functional as F
        from tatamikomi.utils import data as D
    lib.manual_seed(0)
    if args.side.startswith("ours-pil"):
        from tatamikomi.vision import datasets
        from tatamikomi.vision import transforms as T

        class PerSample(T.Compose):
            """A Compose that batch_transform does not recognise: no batch path."""
        compose = T.Compose if args.side == "ours-pil" else PerSample
        ds = datasets.FashionMNIST(args.data, transform=compose([
            T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(), T.ToTensor(),
            T.Normalize((MEAN,), (STD,))]))
        if args.limit:
            ds = D.Subset(ds, range(args.limit))
    else:
        ds = augmented(lib, F, D.Dataset)(lib.from_numpy(images.copy()),
                                          lib.from_numpy(labels.copy()))
    loader = D.DataLoader(ds, batch_size=64, shuffle=True, num_workers=args.workers,
                          persistent_workers=args.workers > 0)
    times, n = epochs(loader, args.repeat)
    print(json.dumps({"side": args.side, "times": times, "images": n}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder holding FashionMNIST/raw/*.gz")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="epochs per pipeline (median taken)")
    p.add_argument("--limit", type=int, default=None, help="first N images (default: all)")
    p.add_argument("--side", choices=PIPELINES, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.side:
        return side(args)
    results = {}
    for name in PIPELINES:
        cmd = [sys.executable, __file__, "--side", name, "--data", args.data, "--workers",
               str(args.workers), "--repeat", str(args.repeat)]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    base = statistics.median(results["torch"]["times"])
    print(f"{'pipeline':<12} {'images':>7} {'median s':>9} {'ratio':>6}   epochs (s)")
    for name, r in results.items():
        med = statistics.median(r["times"])
        shown = " ".join(f"{t:.2f}" for t in r["times"])
        print(f"{name:<12} {r['images']:>7} {med:>9.2f} {med / base:>6.2f}   {shown}")


if __name__ == "__main__":
    main()
