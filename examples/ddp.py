# Data-parallel training written the PyTorch way (init_process_group, DistributedSampler,
# DistributedDataParallel, rank 0 saving), unchanged but for the imports: tatamikomi stands in
# for torch. Run it on 2 processes:
#     python -m tatamikomi.distributed.run --nproc-per-node 2 examples/ddp.py --epochs 2
# tests/test_distributed_program.py runs it so, and runs the same text with `torch` in place of
# `tatamikomi` under torchrun: the two saved models agree to 1e-10 (float64).
import argparse

import tatamikomi as torch
import tatamikomi.distributed as dist
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F
from tatamikomi.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
from tatamikomi.utils.data import DataLoader, TensorDataset
from tatamikomi.utils.data.distributed import DistributedSampler


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def synthetic_digits(n, dtype):
    """n noise images, each labelled by which of 10 fixed patterns it matches best."""
    g = torch.Generator().manual_seed(1)
    images = torch.randn(n, 1, 28, 28, generator=g, dtype=dtype)
    patterns = torch.randn(28 * 28, 10, generator=g, dtype=dtype)
    return TensorDataset(images, (images.flatten(1) @ patterns).argmax(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16, help="per process")
    parser.add_argument("--out", default="ddp_model.pt")
    parser.add_argument("--double", action="store_true")
    args = parser.parse_args()

    dist.init_process_group(backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    dtype = torch.float64 if args.double else torch.float32
    dataset = synthetic_digits(256, dtype)
    sampler = DistributedSampler(dataset, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    model = DDP(Net().to(dtype))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        seen = torch.zeros(2, dtype=torch.float64)      # loss sum, images: this rank's
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            seen += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
        dist.all_reduce(seen)                           # every rank's
        if rank == 0:
            print(f"epoch {epoch + 1}: loss {seen[0].item() / seen[1].item():.4f} over "
                  f"{int(seen[1].item())} images on {world} processes", flush=True)
            torch.save(model.module.state_dict(), args.out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
