"""What runs in a DataLoader worker process, and how its batches come back through shared memory.

A worker gets (index, batch indices) from its own queue, loads and collates the batch, and
hands it back in two parts: the arrays of every tensor in it, packed into one anonymous
shared-memory file (memfd) whose descriptor goes over the worker's own Unix socket, and the
rest of the batch (its structure, pickled, with each tensor replaced by a reference) over the
shared result queue. The main process maps the file and builds tensors that view it, so a
batch's pixels are written once (by the worker) and never copied through a pipe.
"""
import dataclasses
import io
import mmap
import os
import pickle
import queue
import random as py_random
import sys
import traceback

import numpy as np

from ... import random
from ...multiprocessing import register_segment
from ...tensor import Tensor

MP_STATUS_CHECK_INTERVAL = 5.0        # seconds between liveness checks while waiting
ALIGN = 64                            # each array starts on a cache line in the shared file


@dataclasses.dataclass
class WorkerInfo:
    """Who this worker is: get_worker_info() inside a worker returns it, None elsewhere."""

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str = "multiprocessing"

    def __setattr__(self, key, val):
        if key in self.__dict__:
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        super().__setattr__(key, val)


_worker_info = None


class KeyErrorMessage(str):
    """A str whose repr is itself: a KeyError would otherwise print the message quoted."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception's type and traceback text, to raise again in another process."""

    def __init__(self, exc_info=None, where="in background"):
        exc_info = exc_info or sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


@dataclasses.dataclass(frozen=True)
class _IterableDatasetStopIteration:
    worker_id: int


@dataclasses.dataclass(frozen=True)
class _ResumeIteration:
    seed: object = None


# ----- fetching a batch

class MapFetcher:
    """Batches of a map-style dataset, by the loader's own rules (get_batch, __getitems__)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        from ._collate import default_collate
        if self.collate_fn is default_collate and hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(index)
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class IterableFetcher:
    """Batches from an IterableDataset's iterator; StopIteration when it is spent."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter, self.auto_collation = iter(dataset), auto_collation
        self.collate_fn, self.drop_last, self.ended = collate_fn, drop_last, False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    kind = IterableFetcher if iterable else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)


# ----- batches through shared memory

@dataclasses.dataclass(frozen=True)
class Packed:
    """A batch whose tensors' bytes are in a shared file sent separately (see the docstring)."""

    structure: bytes
    layout: tuple                     # (offset, shape, dtype str, requires_grad) per tensor
    nbytes: int


class _Packer(pickle.Pickler):
    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.arrays = []

    def persistent_id(self, obj):
        if type(obj) is Tensor:
            self.arrays.append(obj)
            return len(self.arrays) - 1
        return None


def pack(batch):
    """(Packed, the memfd holding its tensors' bytes), or (batch, None) if it holds no tensor."""
    buf = io.BytesIO()
    packer = _Packer(buf)
    packer.dump(batch)
    if not packer.arrays:
        return batch, None
    layout, end = [], 0
    for t in packer.arrays:
        a = t.array
        layout.append((end, a.shape, a.dtype.str, t.requires_grad))
        end += -(-a.nbytes // ALIGN) * ALIGN
    fd = os.memfd_create("tatamikomi-batch", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, max(end, 1))
        with mmap.mmap(fd, max(end, 1)) as mm:
            for t, (offset, shape, dtype, _) in zip(packer.arrays, layout):
                np.ndarray(shape, dtype, buffer=mm, offset=offset)[...] = t.array
    except BaseException:
        os.close(fd)
        raise
    return Packed(buf.getvalue(), tuple(layout), end), fd


class _Unpacker(pickle.Unpickler):
    def __init__(self, file, base, layout):
        super().__init__(file)
        self.base, self.layout = base, layout

    def persistent_load(self, pid):
        offset, shape, dtype, requires_grad = self.layout[pid]
        array = np.ndarray(shape, dtype, buffer=self.base, offset=offset)
        return Tensor._make(array, requires_grad=requires_grad)


def unpack(packed, fd):
    """The batch of a Packed whose bytes are in the memfd fd (closed here; the mapping stays
    as long as a tensor of the batch does)."""
    try:
        mm = mmap.mmap(fd, max(packed.nbytes, 1))
    finally:
        os.close(fd)
    base = np.frombuffer(mm, np.uint8)
    register_segment(base, None, packed.nbytes)            # its tensors report is_shared()
    return _Unpacker(io.BytesIO(packed.structure), base, packed.layout).load()


def send_batch(data_queue, sock, idx, worker_id, data):
    """Put (idx, worker_id, data) on the queue, its tensors through shared memory."""
    if isinstance(data, (ExceptionWrapper, _IterableDatasetStopIteration)):
        data_queue.put((idx, worker_id, data))
        return
    from multiprocessing.reduction import sendfds
    packed, fd = pack(data)
    if fd is None:
        data_queue.put((idx, worker_id, packed))
        return
    try:
        sendfds(sock, [fd])                    # first: the main process reads it on arrival
    finally:
        os.close(fd)
    data_queue.put((idx, worker_id, packed))


def _seed_worker(base_seed, worker_id):
    """PyTorch's worker seeding: random and the global generator get base_seed + worker_id;
    NumPy's global state gets SeedSequence([worker_id, low 32 bits, high 32 bits, 0])."""
    seed = base_seed + worker_id
    py_random.seed(seed)
    random.manual_seed(seed)
    np.random.seed(np.random.SeedSequence(
        [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]).generate_state(4))
    return seed


def worker_loop(iterable, dataset, index_queue, data_queue, sock, done_event, auto_collation,
                collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers):
    """The body of worker process worker_id, until the main process says stop (or dies)."""
    global _worker_info
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        iteration_end = False
        parent = os.getppid()
        while os.getppid() == parent:            # a parent that died leaves us re-parented
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)   # then check parent
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, worker_id, None))
                iteration_end = False
                fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn,
                                         drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=f"in DataLoader worker process "
                                                      f"{worker_id}")
            try:
                send_batch(data_queue, sock, idx, worker_id, data)
            except Exception:                    # e.g. a batch that cannot be pickled
                send_batch(data_queue, sock, idx, worker_id, ExceptionWrapper(
                    where=f"in DataLoader worker process {worker_id}"))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass                                     # Ctrl-C reaches the whole group: main cleans up
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
