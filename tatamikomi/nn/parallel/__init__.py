"""torch.nn.parallel: DataParallel runs the module as it is (no GPUs, as PyTorch's CPU build);
DistributedDataParallel needs a process group, which tatamikomi does not have yet."""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
