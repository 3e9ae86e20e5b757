"""PyTorch running what `python -m tatamikomi train --dataset fashion-mnist` runs, torch only.

    python benchmarks/fashion_torch.py --data ../shared/datasets/fashion-mnist [--epochs 3]
    python -m tatamikomi train --dataset fashion-mnist --data ../shared/datasets/fashion-mnist \
        --epochs 3 --no-plots --out runs/fashion

The chapter's SimpleCNN, Adam 1e-3, batch 64, seed 0 for the weights, dropout and a shuffling
generator seeded 0, images scaled to [0, 1] and normalized by (0.2860, 0.3530) as train's
transform does. torchvision is not needed: the four IDX .gz files are read here with NumPy.
Prints the per-epoch test accuracy as train does, for the two to be compared.
"""
import argparse
import gzip
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

MODELS = Path(__file__).resolve().parents[1] / "tatamikomi" / "tools" / "models.py"


def read_idx(path):
    """An IDX .gz file's uint8 array (header: 0x08 type, rank, big-endian dims)."""
    data = gzip.decompress(Path(path).read_bytes())
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", ndim, 4)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def split(raw, prefix):
    x = read_idx(raw / f"{prefix}-images-idx3-ubyte.gz").astype(np.float32) / np.float32(255)
    x = (x - np.float32(0.2860)) / np.float32(0.3530)
    y = read_idx(raw / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(np.ascontiguousarray(x[:, None])), torch.from_numpy(y)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder holding FashionMNIST/raw/*.gz")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    raw = Path(args.data) / "FashionMNIST" / "raw"
    (x, y), (xt, yt) = split(raw, "train"), split(raw, "t10k")
    spec = importlib.util.spec_from_file_location("models", MODELS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    train = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=gen)
    test = DataLoader(TensorDataset(xt, yt), batch_size=1000)
    model = mod.simple_cnn_class(nn, F)()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        for data, target in train:
            optimizer.zero_grad()
            loss = criterion(model(data), target)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for data, target in test:
                correct += int((model(data).argmax(1) == target).sum())
        print(f"epoch {epoch + 1}: test acc {100 * correct / len(xt):.2f}% "
              f"({time.perf_counter() - t0:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
