"""torch.nn.parallel: DataParallel runs the module as it is (no GPUs, as PyTorch's CPU build);
DistributedDataParallel averages gradients across the ranks of a tatamikomi.distributed process
group (MPI), in buckets started from backward hooks."""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
