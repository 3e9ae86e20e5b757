"""default_collate and default_convert: samples into batches, as torch.utils.data's."""
import collections.abc
import copy
import re

import numpy as np

from ...creation import as_tensor, stack, tensor
from ...tensor import Tensor

COLLATE_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                 "lists; found {}")
_STRINGY = re.compile(r"[SaUO]")          # numpy dtype codes of strings and objects: not tensors


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
