"""Samplers: the order in which a DataLoader visits a dataset, as torch.utils.data.sampler's.

The random ones draw PyTorch's numbers from PyTorch's generators, in its order.
"""
import numpy as np

from ... import dtypes
from ...creation import as_tensor, empty, randint, randperm
from ...random import Generator


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


class SubsetRandomSampler(Sampler):
    """The given indices, in a fresh random order every epoch."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator

    def __iter__(self):
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probability proportional to weights (with replacement by
    default), as torch.multinomial draws them."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        weights = as_tensor(weights, dtype=dtypes.float64)
        if len(weights.shape) != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights, self.num_samples = weights, num_samples
        self.replacement, self.generator = replacement, generator

    def __iter__(self):
        yield from _multinomial(self.weights, self.num_samples, self.replacement,
                                self.generator)

    def __len__(self):
        return self.num_samples


def _multinomial(weights, n, replacement, generator):
    """torch.multinomial(weights, n, replacement) for 1-d float64 weights: the same indices
    from the same generator state, after the same checks.

    Without replacement (or for one sample) PyTorch takes the n largest weights / Exp(1) draws,
    a Gumbel-top-k in disguise; with replacement it inverts the normalized cumulative sum at
    one uniform double per sample, by binary search.
    """
    w = weights.array
    if not replacement and n > w.size:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if w.size > 2 ** 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    if not replacement or n == 1:
        if w.size and not (w.max() < np.inf and w.min() >= 0):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if w.sum() == 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        q = empty(tuple(weights.shape), dtype=dtypes.float64).exponential_(generator=generator)
        keys = w / q.array
        # topk's order: largest first; among equal keys, the lower index first
        return np.argsort(-keys, kind="stable")[:n].tolist()
    bad = ~(w >= 0) | ~np.isfinite(w)
    if bad.any():                                      # the first bad entry names the problem
        first = w[bad.argmax()]
        raise RuntimeError("invalid multinomial distribution (encountering probability entry "
                           + ("< 0)" if not first >= 0 else "= infinity or NaN)"))
    cum = np.cumsum(w)                                 # a running double sum, as PyTorch's loop
    total = cum[-1] if w.size else 0.0
    if not total > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    cum /= total
    cum[-1] = 1.0                                      # the last bucket always ends at 1
    draws = [float(empty((), dtype=dtypes.float64).uniform_(generator=generator))
             for _ in range(n)]
    return np.searchsorted(cum, draws, side="left").tolist()   # first bucket whose end >= u


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
