"""DistributedDataParallel's reducer: gradients averaged over the ranks, bucket by bucket,
each bucket's all-reduce started from backward as soon as its last gradient is complete.

How it knows a gradient is complete: the engine hands a leaf one gradient per use (a weight
used twice gets two), running the leaf's hooks before each accumulation. After forward, the
reducer walks the graph from the outputs and counts each parameter's uses; the hook call that
brings a parameter's count to zero carries its last piece. Then .grad (the pieces so far, plus
any gradient kept from no_sync() steps) plus this piece, divided by the world size as
PyTorch's reducer divides before summing, goes into the bucket's flat buffer. Buckets start
in a fixed order (MPI pairs collectives by order, so every rank must start the same one next)
and the hook that completes the last one waits for all and writes the averages into .grad.
"""
import time
import weakref

import numpy as np

from ..tensor import Tensor
from . import _mpi

UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by \n"
    "making sure all `forward` function outputs participate in calculating loss.")
TWICE = ("Expected to mark a variable ready only once. This error is caused by one of the "
         "following reasons: 1) Use of a module parameter outside the `forward` function, or "
         "2) the same forward output used in two backward passes.")


class Bucket:
    """Parameters reduced together: their gradients side by side in one flat array."""

    def __init__(self, indices, params):
        self.indices = indices
        sizes = [params[i].array.size for i in indices]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.flat = np.zeros(int(self.offsets[-1]), params[indices[0]].array.dtype)
        self.left = 0                           # parameters still to be ready this iteration

    def slot(self, k, shape):
        return self.flat[self.offsets[k]:self.offsets[k + 1]].reshape(shape)


def assign_buckets(params, first_cap, cap):
    """Parameter indices per bucket: last parameters first (their gradients are ready first),
    one dtype per bucket, a bucket closed once it holds cap bytes (first_cap for the first)."""
    done, open_ = [], {}
    for i in reversed(range(len(params))):
        a = params[i].array
        b = open_.setdefault(a.dtype, [[], 0, first_cap])
        b[0].append(i)
        b[1] += a.nbytes
        if b[1] >= b[2]:
            done.append(b[0])
            open_[a.dtype] = [[], 0, cap]
    done += [b[0] for b in open_.values() if b[0]]
    return sorted(done, key=lambda idx: -max(idx))


def deliveries(outputs, index):
    """How many gradient pieces each parameter will get: its uses in the graph behind outputs.

    index maps id(parameter) -> position.
    """
    counts = np.zeros(len(index), np.int64)
    stack, seen = [], set()
    for t in outputs:
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t.requires_grad and id(t) in index:
            counts[index[id(t)]] += 1
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for t, parent, need in zip(node.inputs, node.parents, node.needs_input_grad):
            if parent is not None:
                stack.append(parent)
            elif need and id(t) in index:
                counts[index[id(t)]] += 1
    return counts


class Reducer:
    """Bucketed gradient averaging over pg for params (leaf tensors that require grad)."""

    def __init__(self, params, names, pg, first_cap, cap, find_unused):
        self.params, self.names, self.pg = params, names, pg
        self.find_unused = find_unused
        self.index = {id(p): i for i, p in enumerate(params)}
        self.buckets = [Bucket(idx, params) for idx in assign_buckets(params, first_cap, cap)]
        self.where = {}
        for b in self.buckets:
            for k, i in enumerate(b.indices):
                self.where[i] = (b, k)
        # idle: pieces accumulate as without DDP (no_sync); armed: counted and reduced;
        # reduced: all were, so one more piece means a use the forward did not show
        self.state = "idle"
        self.expect = None              # pieces still due per parameter, while armed
        self.started = False            # a hook has run since prepare(): backward began
        self.used = np.zeros(len(params), np.int32)      # used since the last sync
        self.requests, self.used_request, self.next, self.left = [], None, 0, 0
        self.comm_seconds = 0.0         # time waiting at the end of backward (not hidden)
        self.timeline = None            # a list: gets (wait start, wait end) per backward
        ref = weakref.ref(self)
        self.handles = [p.register_hook(_hook(ref, i)) for i, p in enumerate(params)]

    def note_use(self, outputs):
        """After a forward that will not sync (no_sync): remember which parameters it used."""
        self.used |= deliveries(outputs, self.index) > 0
        self.state = "idle"

    def check_finished(self):
        """Before a forward that syncs: the last backward must have reduced everything."""
        if self.started:
            raise RuntimeError(self._unfinished())

    def prepare(self, outputs):
        """After a forward that syncs: arm the hooks for the backward to come."""
        self.check_finished()
        counts = deliveries(outputs, self.index)
        self.used |= counts > 0
        self.expect, self.requests, self.used_request, self.next = counts, [], None, 0
        self.state, self.ready = "armed", np.zeros(len(self.params), bool)
        for b in self.buckets:
            b.left = len(b.indices)
        self.left = len(self.params)
        if self.find_unused:
            for i in np.flatnonzero(counts == 0):
                self._ready(int(i), None)

    def _unfinished(self):
        late = np.flatnonzero(~self.ready).tolist()
        names = ", ".join(self.names[i] for i in late)
        return (f"{UNFINISHED}\nParameter indices which did not receive grad for rank "
                f"{self.pg.rank()}: {' '.join(map(str, late))} ({names})")

    def on_grad(self, i, g):
        """A gradient piece for parameter i; returns what the engine should accumulate."""
        if self.state == "idle":
            return None
        if self.state == "armed":
            self.started = True
        if self.state == "reduced" or self.expect[i] <= 0:
            raise RuntimeError(f"{TWICE}\nParameter at index {i} ({self.names[i]}) has been "
                               "marked as ready twice: tatamikomi's DDP counts a parameter's "
                               "uses in the forward's graph, so the loss may use parameters "
                               "only through the wrapped module's forward.")
        self.expect[i] -= 1
        if self.expect[i] > 0:
            _mpi.test(self.requests)
            return None
        if self._ready(i, g.array):             # .grad now holds the average: add nothing
            return Tensor._make(np.zeros_like(g.array))
        _mpi.test(self.requests)
        return None

    def _ready(self, i, g):
        """Parameter i's local gradient goes into its bucket; True once all are reduced."""
        p, (b, k) = self.params[i], self.where[i]
        slot = b.slot(k, p.array.shape)
        have = None if p.grad is None else p.grad.array
        if g is None and have is None:
            slot[...] = 0
        elif g is None or have is None:
            np.copyto(slot, g if have is None else have)
        else:
            np.add(have, g, out=slot)
        slot *= 1.0 / self.pg.size()
        b.left -= 1
        self.left -= 1
        self.ready[i] = True
        self._launch()
        if self.left:
            return False
        self._finish()
        return True

    def _launch(self):
        """Start every bucket that is complete, in bucket order."""
        MPI = _mpi.mpi()
        while self.next < len(self.buckets) and self.buckets[self.next].left == 0:
            if self.next == 0 and self.find_unused:       # before any bucket, on every rank
                self.used_request = self.pg._comm.Iallreduce(MPI.IN_PLACE, self.used, MPI.MAX)
                self.requests.append(self.used_request)
            b = self.buckets[self.next]
            self.requests.append(self.pg._comm.Iallreduce(MPI.IN_PLACE, b.flat, MPI.SUM))
            self.next += 1

    def _finish(self):
        """Wait for every bucket and write the averages into .grad."""
        t0 = time.perf_counter()
        self.pg._wait(self.requests, "DistributedDataParallel's gradient all_reduce")
        t1 = time.perf_counter()
        self.comm_seconds += t1 - t0
        if self.timeline is not None:
            self.timeline.append((t0, t1))
        for i, p in enumerate(self.params):
            b, k = self.where[i]
            avg = b.slot(k, p.array.shape)
            if self.find_unused and not self.used[i]:
                continue                        # no rank used it: .grad stays as it was
            if p.grad is None:                  # unused here, used elsewhere (or current's)
                p.grad = Tensor._make(avg.copy())
            else:
                np.copyto(p.grad.array, avg)
        self.expect, self.started, self.requests, self.state = None, False, [], "reduced"
        self.used[...] = 0


def _hook(ref, i):
    def hook(g):
        reducer = ref()
        return None if reducer is None else reducer.on_grad(i, g)
    return hook
