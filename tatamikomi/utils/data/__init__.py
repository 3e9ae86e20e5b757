"""torch.utils.data: datasets, samplers and the DataLoader, with PyTorch's semantics.

The submodules are PyTorch's: `dataset`, `sampler`, `dataloader` (so
`torch.utils.data.sampler.SubsetRandomSampler` imports as it does there).

A dataset may define `get_batch(indices)`: the batch `default_collate([ds[i] for i in indices])`
would build, computed with one fancy-index per array instead of a Python call per sample.
DataLoader uses it whenever the collate function is the default one; datasets that define it
must return exactly what the per-sample path returns (tests/test_data.py checks ours).
"""
from . import dataloader, dataset, distributed, sampler
from ._collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (
                      ChainDataset,
                      ConcatDataset,
                      Dataset,
                      IterableDataset,
                      StackDataset,
                      Subset,
                      TensorDataset,
                      random_split,
)
from .distributed import DistributedSampler
from .sampler import (
                      BatchSampler,
                      RandomSampler,
                      Sampler,
                      SequentialSampler,
                      SubsetRandomSampler,
                      WeightedRandomSampler,
)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler",
           "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler",
           "default_collate", "default_convert", "get_worker_info", "random_split"]
