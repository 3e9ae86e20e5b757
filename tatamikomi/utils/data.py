"""Datasets, samplers and the DataLoader, with PyTorch's semantics and a whole-batch fast path.

A dataset may define `get_batch(indices)`: the batch `default_collate([ds[i] for i in indices])`
would build, computed with one fancy-index per array instead of a Python call per sample.
DataLoader uses it whenever the collate function is the default one; datasets that define it
must return exactly what the per-sample path returns (tests/test_data.py checks ours).
"""
import bisect
import collections.abc
import copy
import math
import re
import warnings

import numpy as np

from .. import dtypes
from ..creation import as_tensor, empty, randint, randperm, stack, tensor
from ..random import Generator, default_generator
from ..tensor import Tensor

COLLATE_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                 "lists; found {}")
_STRINGY = re.compile(r"[SaUO]")          # numpy dtype codes of strings and objects: not tensors


# ----- collate

def _stack(batch):
    """torch.stack(batch) without an autograd node when nothing needs one."""
    shape = batch[0].shape
    if any(t.requires_grad for t in batch) or any(t.shape != shape for t in batch):
        return stack(batch)                           # tracks grad; raises PyTorch's size error
    return Tensor._make(np.stack([t.array for t in batch]))


def _is_numpy(elem):
    return type(elem).__module__ == "numpy" and not isinstance(elem, (np.str_, np.bytes_))


def default_collate(batch):
    """Merge a list of samples into a batch: tensors, arrays and numbers are stacked along a new
    dim 0; tuples, lists and dicts are collated field by field (tuples come back as lists).

    Shapes: N samples of shape S -> (N, *S).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if _is_numpy(elem):
        if isinstance(elem, np.ndarray):
            if _STRINGY.search(elem.dtype.str):
                raise TypeError(COLLATE_ERROR.format(elem.dtype))
            return _stack([as_tensor(b) for b in batch])
        if elem.shape == ():                          # numpy scalars keep their dtype
            return as_tensor(list(batch))
    if isinstance(elem, float):
        # PyTorch collates Python floats as doubles; built in float64 directly because
        # tensor(floats, dtype=float64) in the core still rounds through float32 first
        return Tensor._make(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return tensor(batch)                          # int64 (bool stays bool)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)               # keeps a mapping subclass's extra state
                clone.update(fields)
                return clone
            return type(elem)(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):       # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields                             # PyTorch returns tuples as lists
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                clone[:] = fields
                return clone
            return type(elem)(fields)
        except TypeError:                             # e.g. range cannot be rebuilt
            return fields
    raise TypeError(COLLATE_ERROR.format(type(elem)))


def default_convert(data):
    """numpy arrays (also inside dicts and sequences) as tensors; the collate of batch_size=None."""
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and _STRINGY.search(data.dtype.str):
            return data
        return as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


# ----- datasets

class Dataset:
    """A map-style dataset: subclasses define __getitem__(index) and __len__()."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the index-th rows of each tensor. Shapes: each tensor (N, ...)."""

    def __init__(self, *tensors):
        if any(tensors[0].size(0) != t.size(0) for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].size(0)

    def get_batch(self, indices):
        """The collated batch, one fancy-index per tensor. Shapes: each (len(indices), ...)."""
        if any(t.requires_grad for t in self.tensors):
            return default_collate([self[i] for i in indices])     # keep the autograd graph
        idx = np.asarray(indices, dtype=np.intp)
        n = len(self)
        bad = (idx >= n) | (idx < -n)
        if bad.any():                               # PyTorch's message, which names no axis
            raise IndexError(f"index {idx[bad][0]} is out of bounds for dimension 0 with size {n}")
        return [Tensor._make(t.array[idx]) for t in self.tensors]


class ConcatDataset(Dataset):
    """The datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += len(self)
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[d - 1] if d > 0 else 0
        return self.datasets[d][idx - start]


class Subset(Dataset):
    """The dataset seen through a list of indices."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        inner = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self):
        return len(self.indices)

    def get_batch(self, indices):
        """The parent's fast batch when it has one, else the per-sample batch."""
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch([self.indices[i] for i in indices])
        return default_collate(self.__getitems__(indices))


def random_split(dataset, lengths, generator=None):
    """Disjoint random Subsets of the given lengths, or fractions of len(dataset)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        lengths = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(lengths)):             # the remainder, round-robin
            lengths[i % len(lengths)] += 1
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              f"empty dataset.", stacklevel=2)
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = randperm(sum(lengths), generator=generator or default_generator).tolist()
    ends = np.cumsum(lengths).tolist()
    return [Subset(dataset, indices[end - k:end]) for end, k in zip(ends, lengths)]


# ----- samplers

def _seed_draw(generator):
    """One int64 seed drawn as PyTorch's loader and sampler draw theirs (2 words)."""
    return int(empty((), dtype=dtypes.int64).random_(generator=generator).item())


class Sampler:
    """An iterable over dataset indices."""

    def __init__(self, data_source=None):
        pass


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation every epoch, drawn from generator (default: the global one)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        # PyTorch's draws, in its order and as lazily: without a generator, a fresh one seeded
        # by one draw of the global generator; whole permutations, then one more (drawn even
        # when num_samples is a multiple of n) cut to the remainder
        n, g = len(self.data_source), self.generator
        if g is None:
            g = Generator().manual_seed(_seed_draw(None))
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from randint(0, n, (32,), generator=g).tolist()
            yield from randint(0, n, (self.num_samples % 32,), generator=g).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from randperm(n, generator=g).tolist()
        yield from randperm(n, generator=g).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of batch_size indices from sampler; the last may be short unless drop_last."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ----- the loader

class DataLoader:
    """Batches of a dataset, optionally shuffled each epoch; loads in this process.

    num_workers, pin_memory, timeout, worker_init_fn, prefetch_factor and persistent_workers are
    accepted for PyTorch compatibility; there are no worker processes and no pinned memory here.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device=""):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor = worker_init_fn, prefetch_factor
        self.persistent_workers = persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self):
        return len(self._index_sampler)

    def __iter__(self):
        _seed_draw(self.generator)          # PyTorch's loader iterator draws its worker seed
        if self.batch_sampler is None:                # batch_size=None: samples one at a time
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return (self._fetch(indices) for indices in self.batch_sampler)

    def _fetch(self, indices):
        """One batch: the dataset's own get_batch when the default collate would be used."""
        if self.collate_fn is default_collate and hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(indices)
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if getitems else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)
