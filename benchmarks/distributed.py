"""One MNIST training epoch on 2 cores two ways: 1 process x 2 threads, 2 ranks x 1 thread.

    python benchmarks/distributed.py --data ../shared/datasets/mnist [--limit 60000]

Both train the chapter's SimpleCNN (Adam 1e-3, 64 images per optimizer step: 32 per rank on
2 ranks, a DistributedSampler's share) from the same initial weights, then test on all 10,000
test images. For the ranks it reports the communication not hidden behind backward: the time
each step waits, after its backward, for the last gradient buckets (DDP starts each bucket's
all-reduce during backward), against what one blocking all-reduce of every gradient costs.
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

HERE = Path(__file__).resolve()


def _mnist_bench():
    spec = importlib.util.spec_from_file_location("bench_mnist", HERE.parent / "mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(d):
    """Train one epoch (as one rank, when a launcher started several); rank 0 prints JSON."""
    import tatamikomi as tm
    import tatamikomi.distributed as dist
    from tatamikomi.nn.parallel import DistributedDataParallel
    from tatamikomi.tools.models import SimpleCNN
    from tatamikomi.utils.data import DataLoader, DistributedSampler, TensorDataset

    ranks = int(os.environ.get("WORLD_SIZE", "1"))
    if ranks > 1:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if ranks > 1 else 0
    z = np.load(os.path.join(d, "data.npz"))
    train = TensorDataset(tm.tensor(z["x_train"]), tm.tensor(z["y_train"]))
    tm.manual_seed(0)
    model = SimpleCNN()
    if ranks > 1:
        sampler = DistributedSampler(train, seed=0)
        loader = DataLoader(train, batch_size=64 // ranks, sampler=sampler)
        net = DistributedDataParallel(model)
    else:
        loader = DataLoader(train, batch_size=64, shuffle=True,
                            generator=tm.Generator().manual_seed(0))
        net = model
    optimizer = tm.optim.Adam(net.parameters(), lr=1e-3)
    criterion = tm.nn.CrossEntropyLoss()
    for x, y in loader:                   # one step first: kernels compiled, buckets warm
        criterion(net(x), y).backward()
        break
    optimizer.zero_grad()
    if ranks > 1:
        net.reducer.comm_seconds, net.reducer.timeline = 0.0, []
        dist.barrier()
    t0 = time.perf_counter()
    steps = 0
    for x, y in loader:
        optimizer.zero_grad()
        criterion(net(x), y).backward()
        optimizer.step()
        steps += 1
    if ranks > 1:
        dist.barrier()
    seconds = time.perf_counter() - t0
    out = dict(ranks=ranks, threads=tm.get_num_threads(), seconds=seconds, steps=steps)
    if ranks > 1:
        # the wait after backward is the slower rank's lag plus the communication left; the
        # latter is the wait's end less the moment the last rank finished its backward (one
        # clock: CLOCK_MONOTONIC is the machine's)
        lines = [None] * ranks
        dist.all_gather_object(lines, net.reducer.timeline)
        last_ready = np.max([[t0 for t0, _ in line] for line in lines], axis=0)
        mine = np.array([t1 for _, t1 in net.reducer.timeline])
        out["wait_ms"] = 1000 * net.reducer.comm_seconds / steps
        out["unhidden_ms"] = 1000 * float(np.mean(np.maximum(mine - last_ready, 0)))
        flat = tm.zeros(sum(p.numel() for p in model.parameters()))
        dist.all_reduce(flat)
        t1 = time.perf_counter()
        for _ in range(50):
            dist.all_reduce(flat)
        out["allreduce_ms"] = 1000 * (time.perf_counter() - t1) / 50
    if rank == 0:
        model.eval()
        correct = 0
        with tm.no_grad():
            for i in range(0, len(z["y_test"]), 1000):
                logits = model(tm.tensor(z["x_test"][i:i + 1000]))
                correct += int((logits.numpy().argmax(1) == z["y_test"][i:i + 1000]).sum())
        out["accuracy"] = 100.0 * correct / len(z["y_test"])
        print("RESULT " + json.dumps(out), flush=True)
    if ranks > 1:
        dist.destroy_process_group()


def measure(cmd, env):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(proc.stdout + proc.stderr)
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=os.environ.get("TATAMIKOMI_DATA"),
                   help="folder with MNIST's raw files (default: $TATAMIKOMI_DATA)")
    p.add_argument("--limit", type=int, default=60000, help="train images (default: all)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child)
    with tempfile.TemporaryDirectory() as d:
        _mnist_bench().prepare(args.data, args.limit, d)
        env = dict(os.environ, NUMBA_NUM_THREADS="2", OMP_NUM_THREADS="2")
        one = measure([sys.executable, str(HERE), "--child", d], env)
        env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
        two = measure([sys.executable, "-m", "tatamikomi.distributed.run", "--nproc-per-node",
                       "2", str(HERE), "--child", d], env)
    print(f"MNIST, SimpleCNN, Adam, 64 images a step, {args.limit:,} train images, 2 cores")
    print(f"{'setup':<24}{'epoch s':>8}{'ms/step':>9}{'wait ms':>9}{'comm ms':>9}"
          f"{'test acc':>10}")
    for name, r in (("1 process x 2 threads", one), ("2 ranks x 1 thread", two)):
        wait, comm = (f"{r[k]:.2f}" if k in r else "-" for k in ("wait_ms", "unhidden_ms"))
        print(f"{name:<24}{r['seconds']:>8.1f}{1000 * r['seconds'] / r['steps']:>9.1f}"
              f"{wait:>9}{comm:>9}{r['accuracy']:>9.2f}%")
    print(f"per step: wait = after backward, for the last buckets (the slower rank's lag "
          f"included); comm = the part after the last rank's backward ended: communication "
          f"not hidden. One blocking all-reduce of all gradients: {two['allreduce_ms']:.2f} "
          f"ms. Time ratio 2 ranks / 1 process: {two['seconds'] / one['seconds']:.2f}")


if __name__ == "__main__":
    main()
