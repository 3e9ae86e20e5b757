"""DataLoader: batches of a dataset, as torch.utils.data.dataloader's; num_workers > 0 loads
them in worker processes (see _worker.py for how a batch comes back through shared memory)."""
import itertools
import math
import multiprocessing
import queue
import socket

from . import _worker
from ._collate import default_collate, default_convert
from ._worker import ExceptionWrapper, Packed, _IterableDatasetStopIteration, _ResumeIteration
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _seed_draw

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]


def get_worker_info():
    """Inside a worker process, its WorkerInfo (id, num_workers, seed, dataset); else None."""
    return _worker._worker_info


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: None forever (the dataset decides the order)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Batches of a dataset, optionally shuffled each epoch.

    With num_workers > 0 each batch is loaded by one of that many worker processes, round-robin,
    and yielded in order; prefetch_factor batches per worker are requested ahead. Workers are
    seeded as PyTorch's (see _worker._seed_worker), run worker_init_fn(worker_id) first, and
    live for one epoch, or for the loader's life with persistent_workers. A worker's exception
    is raised here with its traceback text. pin_memory is accepted and has nothing to pin;
    in_order=False is accepted and batches still come in order.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:                # the dataset orders itself: no shuffling, no samplers
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in ({False, None} if name == "shuffle" else {None}):
                    raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
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
            sampler = (_InfiniteConstantSampler() if iterable else
                       RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor = worker_init_fn, prefetch_factor
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self.multiprocessing_context = multiprocessing_context
        self._iterator = None
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)                 # a TypeError if the dataset has no length
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers > 0:
            if not self.persistent_workers:
                return _MultiProcessingIter(self)
            if self._iterator is None:
                self._iterator = _MultiProcessingIter(self)
            else:
                self._iterator._reset()
            return self._iterator
        _seed_draw(self.generator)          # PyTorch's loader iterator draws its worker seed
        if isinstance(self.dataset, IterableDataset):
            return self._stream()
        if self.batch_sampler is None:                # batch_size=None: samples one at a time
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return (self._fetch(indices) for indices in self.batch_sampler)

    def _fetch(self, indices):
        """One batch: the dataset's own get_batch when the default collate would be used."""
        return _worker.MapFetcher(self.dataset, True, self.collate_fn, self.drop_last) \
            .fetch(indices)

    def _stream(self):
        """An IterableDataset's samples in order, batch_size at a time (the last batch short
        unless drop_last), or one by one with batch_size=None."""
        samples = iter(self.dataset)
        if self.batch_size is None:
            yield from map(self.collate_fn, samples)
            return
        while True:
            batch = list(itertools.islice(samples, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)
            if len(batch) < self.batch_size:
                return


def _context(ctx):
    if ctx is None:
        return multiprocessing.get_context()
    if isinstance(ctx, str):
        return multiprocessing.get_context(ctx)
    return ctx


class _MultiProcessingIter:
    """An epoch of batches loaded by worker processes, yielded in the sampler's order."""

    def __init__(self, loader):
        self._loader, self._dataset = loader, loader.dataset
        self._iterable = isinstance(loader.dataset, IterableDataset)
        self._index_sampler = loader._index_sampler
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = _seed_draw(loader.generator)     # PyTorch's one draw per iterator
        self._num_workers, self._prefetch = loader.num_workers, loader.prefetch_factor
        self._timeout, self._persistent = loader.timeout, loader.persistent_workers
        ctx = _context(loader.multiprocessing_context)
        self._worker_result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._workers, self._index_queues, self._socks = [], [], []
        self._shutdown = False
        try:
            for i in range(self._num_workers):
                index_queue = ctx.Queue()
                index_queue.cancel_join_thread()
                mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                w = ctx.Process(target=_worker.worker_loop, daemon=True, args=(
                    self._iterable, self._dataset, index_queue, self._worker_result_queue,
                    theirs, self._done_event, loader.batch_sampler is not None,
                    loader.collate_fn, loader.drop_last, self._base_seed,
                    loader.worker_init_fn, i, self._num_workers))
                w.start()
                theirs.close()
                self._index_queues.append(index_queue)
                self._workers.append(w)
                self._socks.append(mine)
        except BaseException:
            self._shutdown_workers()
            raise
        self._reset(first=True)

    def _reset(self, first=False):
        if not first:
            self._sampler_iter = iter(self._index_sampler)
        self._send_idx = self._rcvd_idx = 0
        self._task_info = {}                  # idx -> (worker id,) or (worker id, data)
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first:                         # persistent workers: a fresh epoch each
            for q in self._index_queues:
                q.put(_ResumeIteration())
            pending = self._num_workers
            while pending:
                data = self._get_data()
                if isinstance(data[0], _ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch * self._num_workers):
            self._try_put_index()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _try_put_index(self):
        if self._tasks_outstanding >= self._prefetch * self._num_workers:
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):    # the next worker still in this epoch
            worker = next(self._worker_cycle)
            if self._workers_status[worker]:
                break
        else:
            return
        self._index_queues[worker].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def __next__(self):
        try:
            return self._next_data()
        except StopIteration:
            raise
        except BaseException:                 # an error or Ctrl-C: no worker is left behind
            self._shutdown_workers()
            raise

    def _next_data(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._workers_status[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]      # its worker ran out (iterable)
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                return self._process_data(self._task_info.pop(self._rcvd_idx)[1])
            idx, worker_id, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableDatasetStopIteration):
                self._mark_worker_unavailable(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
            else:
                del self._task_info[idx]
                return self._process_data(data)

    def _process_data(self, data):
        self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _get_data(self):
        """(idx, worker id, batch): the next result any worker sent, its tensors mapped."""
        if self._timeout > 0:
            ok, item = self._try_get_data(self._timeout)
            if not ok:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        else:
            ok, item = False, None
            while not ok:
                ok, item = self._try_get_data()
        idx, worker_id, data = item
        if isinstance(data, Packed):
            from multiprocessing.reduction import recvfds
            data = _worker.unpack(data, recvfds(self._socks[worker_id], 1)[0])
        return idx, worker_id, data

    def _try_get_data(self, timeout=None):
        timeout = _worker.MP_STATUS_CHECK_INTERVAL if timeout is None else timeout
        try:
            return True, self._worker_result_queue.get(timeout=timeout)
        except queue.Empty as e:
            failed = [w for i, w in enumerate(self._workers)
                      if self._workers_status[i] and not w.is_alive()]
            if failed:
                for i, w in enumerate(self._workers):
                    if w in failed:
                        self._mark_worker_unavailable(i, shutdown=True)
                pids = ", ".join(str(w.pid) for w in failed)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly") \
                    from e
            return False, None

    def _mark_worker_unavailable(self, worker_id, shutdown=False):
        if self._persistent and not shutdown:
            self._workers_status[worker_id] = False       # resumed next epoch
            return
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    def _shutdown_workers(self):
        """Stop every worker (asked first, terminated if it does not go), close the queues."""
        if self._shutdown:
            return
        self._shutdown = True
        self._done_event.set()
        for q, w in zip(self._index_queues, self._workers):
            if w.is_alive():
                q.put(None)
        for w in self._workers:
            w.join(timeout=_worker.MP_STATUS_CHECK_INTERVAL)
            if w.is_alive():
                w.terminate()
                w.join()
        for q in self._index_queues:
            q.cancel_join_thread()
            q.close()
        self._worker_result_queue.cancel_join_thread()
        self._worker_result_queue.close()
        for s in self._socks:
            s.close()

    def __del__(self):
        if getattr(self, "_workers", None) is not None:
            self._shutdown_workers()
