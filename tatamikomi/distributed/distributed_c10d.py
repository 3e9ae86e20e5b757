"""Process groups and collectives: torch.distributed's API, run on MPI.

Both backends PyTorch programs name, "gloo" and "mpi", run on MPI: the ranks are MPI's
processes (started by mpiexec, srun, or `python -m tatamikomi.distributed.run`), and each
collective is MPI's nonblocking one, waited on with the group's timeout (see _mpi.py).
"""
import datetime
import enum
import os

import numpy as np

from ..tensor import Tensor
from . import _mpi

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")
default_pg_timeout = datetime.timedelta(minutes=30)
_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024
_LAUNCH = "python -m tatamikomi.distributed.run --nproc-per-node N script.py"


class Backend(str):
    """A backend's name, lowercased: Backend("GLOO") == "gloo"."""

    UNDEFINED, GLOO, NCCL, UCC, MPI = "undefined", "gloo", "nccl", "ucc", "mpi"

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: "
                             f"{type(name)}")
        return super().__new__(cls, name.lower())


class RedOpType(enum.Enum):
    SUM, AVG, PRODUCT, MIN, MAX, BAND, BOR, BXOR, PREMUL_SUM = range(9)


class ReduceOp:
    """The reductions all_reduce and reduce take: ReduceOp.SUM, AVG, PRODUCT, MIN, MAX, ..."""

    RedOpType = RedOpType
    SUM, AVG, PRODUCT = RedOpType.SUM, RedOpType.AVG, RedOpType.PRODUCT
    MIN, MAX = RedOpType.MIN, RedOpType.MAX
    BAND, BOR, BXOR = RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM


class ProcessGroup:
    """The ranks one communicator joins: rank(), size(), and the timeout of every wait."""

    def __init__(self, comm, backend, timeout):
        self._comm, self._backend = comm, Backend(backend)
        self._rank, self._size = comm.Get_rank(), comm.Get_size()
        self._timeout_s = timeout.total_seconds()

    def rank(self):
        return self._rank

    def size(self):
        return self._size

    def name(self):
        return self._backend

    def _wait(self, requests, what):
        _mpi.wait(requests, what, self._rank, self._timeout_s)


class Work:
    """An async_op=True collective: wait() completes it (and writes the results back)."""

    def __init__(self, pg, requests, what, finish=None):
        self._pg, self._requests, self._what, self._finish = pg, requests, what, finish
        self._done = False

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()

    def wait(self, timeout=None):
        if not self._done:
            self._pg._wait(self._requests, self._what)
            self._complete()
        return True

    def is_completed(self):
        if not self._done and _mpi.mpi().Request.Testall(self._requests):
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed()

    def exception(self):
        return None


class group:  # noqa: N801 - torch.distributed.group
    """group.WORLD: the default process group (None before init_process_group)."""

    WORLD = None


_GROUP = group                   # destroy_process_group's argument shadows the name


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = -100


_world = {"pg": None}


def is_available():
    """The package is always there; its backends need mpi4py (is_mpi_available)."""
    return True


def is_mpi_available():
    return _mpi.available()


def is_gloo_available():
    """"gloo" runs on MPI here, so it is available exactly when MPI is."""
    return _mpi.available()


def is_nccl_available():
    return False


def is_ucc_available():
    return False


def is_torchelastic_launched():
    """Whether a launcher (torchrun's or ours) started this process."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def is_initialized():
    return _world["pg"] is not None


def _default():
    if _world["pg"] is None:
        raise ValueError(NOT_INITIALIZED)
    return _world["pg"]


def _group(g):
    pg = _default()
    if g is not None and g is not pg:
        raise ValueError(f"Process group {g} is not initialized in the world group map. Please "
                         "initialize the group first.")
    return pg


def _env_int(name):
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: "
                         f"environment variable {name} must be an integer, got {text!r}") \
            from None


def _world_of(MPI, backend, world_size, rank):
    """The world the MPI launch gives, checked against what the program and env expect."""
    comm = MPI.COMM_WORLD
    size = comm.Get_size()
    want_size = world_size if world_size != -1 else _env_int("WORLD_SIZE")
    want_rank = rank if rank != -1 else _env_int("RANK")
    if size == 1 and not _mpi.launched_by_mpi() and backend != "mpi":
        if want_rank is None:                 # torchrun's env:// needs RANK, as PyTorch's
            raise ValueError("Error initializing torch.distributed using env:// rendezvous: "
                             "environment variable RANK expected, but not set\n"
                             f"Start the ranks with `{_LAUNCH}`.")
        if want_size is None:
            raise ValueError("Error initializing torch.distributed using env:// rendezvous: "
                             "environment variable WORLD_SIZE expected, but not set\n"
                             f"Start the ranks with `{_LAUNCH}`.")
    if want_size is not None and want_size != size:
        raise RuntimeError(
            f"init_process_group: world_size {want_size}, but MPI started {size} process"
            f"{'es' if size > 1 else ''}: tatamikomi's process groups are MPI's processes.\n"
            f"Start the ranks with `{_LAUNCH}`, mpiexec -n N or srun, not torchrun or "
            "multiprocessing.spawn.")
    if want_rank is not None and not 0 <= want_rank < size:
        raise ValueError(f"Invalid rank {want_rank}, rank should be in the interval "
                         f"[0, {size - 1}]")
    if want_rank is not None and want_rank != comm.Get_rank():
        # the program numbers the ranks itself (rank=...): order MPI's processes its way
        return comm.Split(0, want_rank)
    return comm.Dup()


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group: every rank MPI started, in MPI's rank order."""
    if _world["pg"] is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is not None and not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{timeout}")
    name = Backend(backend if backend is not None else "gloo")
    name = Backend(name.split(":")[-1]) if ":" in name else name     # "cpu:gloo"
    if name == "nccl":
        raise RuntimeError("Distributed package doesn't have NCCL built in\ntatamikomi runs on "
                           "the CPU: use backend=\"gloo\" or \"mpi\".")
    if name not in ("gloo", "mpi"):
        raise AssertionError(f"Unknown backend type {name}")
    MPI = _mpi.mpi()
    comm = _world_of(MPI, name, world_size, rank)
    pg = ProcessGroup(comm, name, timeout or default_pg_timeout)
    _world["pg"] = group.WORLD = GroupMember.WORLD = pg
    if pg.size() > 1:
        _mpi.abort_on_error(comm, pg.rank(), pg.size())


def destroy_process_group(group=None):
    """Leave the default group (MPI itself stays up: it cannot start twice in one process)."""
    pg = _world["pg"]
    if pg is None:
        raise AssertionError("Process group cannot be None")
    _world["pg"] = _GROUP.WORLD = GroupMember.WORLD = None
    _mpi.restore_excepthook()
    pg._comm.Free()


def get_rank(group=None):
    return _group(group).rank()


def get_world_size(group=None):
    return _group(group).size()


def get_backend(group=None):
    return _group(group).name()


def get_process_group_ranks(group):
    return list(range(_group(group).size()))


def _tensor(t, name="tensor", kind="torch.Tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"{kind}\n             but got {type(t)} instead.")
    return t


def _tensors(ts, name):
    if not isinstance(ts, list) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(ts)} instead.")
    return ts


def _buffer(t):
    """A C-contiguous array with t's data, and how to write results back into t."""
    a = t.array
    if a.flags.c_contiguous and a.flags.writeable:
        return a, None
    buf = np.ascontiguousarray(a)
    return buf, lambda: np.copyto(t.array, buf)


def _run(pg, what, start, finish, async_op):
    """Start a collective (start() returns its MPI requests); wait now unless async_op."""
    work = Work(pg, start(), what, finish)
    if async_op:
        return work
    work.wait()
    return None


def _then(*steps):
    steps = [s for s in steps if s is not None]
    return (lambda: [s() for s in steps]) if steps else None


def _root(pg, what, root):
    if root is None:
        raise ValueError("Must specify global_rank or group_rank")
    if not 0 <= root < pg.size():
        raise RuntimeError(f"ProcessGroupGloo::{what}: invalid root rank: {root}")
    return root


def _mpi_op(op, dtype):
    """MPI's op for a ReduceOp on a dtype, with PyTorch's errors for the pairs it refuses."""
    MPI = _mpi.mpi()
    if not isinstance(op, RedOpType):
        raise TypeError("(): incompatible function arguments. The following argument types are "
                        "supported:\n    1. (self, arg0: ReduceOp) -> None\n\nInvoked with: "
                        f"{op!r}")
    if op is RedOpType.PREMUL_SUM:
        raise NotImplementedError("ReduceOp.PREMUL_SUM: scale the tensor, then use SUM")
    if op is RedOpType.AVG and not dtype.is_floating_point:
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{dtype.torch_name}")
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and dtype.is_floating_point:
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if dtype.name == "bool":          # PyTorch's sum/max of bools is `or`; product/min `and`
        return {"SUM": MPI.LOR, "MAX": MPI.LOR, "BOR": MPI.LOR, "MIN": MPI.LAND,
                "PRODUCT": MPI.LAND, "BAND": MPI.LAND, "BXOR": MPI.LXOR}[op.name]
    return {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MIN": MPI.MIN,
            "MAX": MPI.MAX, "BAND": MPI.BAND, "BOR": MPI.BOR, "BXOR": MPI.BXOR}[op.name]


def _average(op, buf, size):
    if op is RedOpType.AVG:
        return lambda: np.divide(buf, size, out=buf, casting="unsafe")
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce tensor over all ranks; every rank gets the result, in place."""
    _tensor(tensor)
    pg = _group(group)
    mop = _mpi_op(op, tensor.dtype)
    buf, back = _buffer(tensor)
    start = lambda: [pg._comm.Iallreduce(_mpi.mpi().IN_PLACE, buf, mop)]   # noqa: E731
    return _run(pg, "all_reduce", start, _then(_average(op, buf, pg.size()), back), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce tensor over all ranks into dst's tensor (the others' stay as they were)."""
    _tensor(tensor)
    pg = _group(group)
    dst = _root(pg, "reduce", dst if dst is not None else group_dst)
    mop = _mpi_op(op, tensor.dtype)
    buf, back = _buffer(tensor)
    MPI = _mpi.mpi()
    if pg.rank() == dst:
        start = lambda: [pg._comm.Ireduce(MPI.IN_PLACE, buf, mop, root=dst)]   # noqa: E731
        finish = _then(_average(op, buf, pg.size()), back)
    else:
        start = lambda: [pg._comm.Ireduce(buf, None, mop, root=dst)]   # noqa: E731
        finish = None
    return _run(pg, "reduce", start, finish, async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy src's tensor into every rank's tensor."""
    _tensor(tensor)
    pg = _group(group)
    src = _root(pg, "broadcast", src if src is not None else group_src)
    buf, back = _buffer(tensor)
    start = lambda: [pg._comm.Ibcast(buf, root=src)]   # noqa: E731
    return _run(pg, "broadcast", start, back if pg.rank() != src else None, async_op)


def _check_list(pg, what, ts, t, kind="output tensor list"):
    if len(ts) != pg.size():
        if what == "allgather":
            raise RuntimeError(f"ProcessGroupGloo::allgather: invalid output tensor list at "
                               f"index 0 (expected length {pg.size()}, got {len(ts)})")
        word = "Output" if what == "gather" else "Input"
        raise RuntimeError(f"ProcessGroupGloo::{what}: Incorrect {word.lower()} list size "
                           f"{len(ts)}. {word} list size should be {pg.size()}, same as size "
                           "of the process group.")
    for i, x in enumerate(ts):
        if x.dtype != t.dtype:              # PyTorch names them in its arguments' order
            a, b = (x, t) if what == "allgather" else (t, x)
            raise ValueError(f"Invalid usage of tensors with different dtypesFound {a.dtype} "
                             f"and  {b.dtype}")
        if tuple(x.shape) != tuple(t.shape):
            raise RuntimeError(f"ProcessGroupGloo::{what}: invalid tensor size at index {i} "
                               f"(expected ({', '.join(map(str, t.shape))}), got "
                               f"({', '.join(map(str, x.shape))}))")


def _scatter_back(ts, flat):
    """Write row i of flat into ts[i], whatever their layouts."""
    def finish():
        for x, row in zip(ts, flat):
            np.copyto(x.array, row.reshape(x.array.shape))
    return finish


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[i] = rank i's tensor, on every rank."""
    _tensors(tensor_list, "tensor_list")
    _tensor(tensor)
    pg = _group(group)
    _check_list(pg, "allgather", tensor_list, tensor)
    send = np.ascontiguousarray(tensor.array)
    flat = np.empty((pg.size(),) + send.shape, send.dtype)
    start = lambda: [pg._comm.Iallgather(send, flat)]   # noqa: E731
    return _run(pg, "all_gather", start, _scatter_back(tensor_list, flat), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor (size x N, or stacked) = every rank's input_tensor, concatenated."""
    pg = _group(group)
    _tensor(output_tensor, "output_tensor")
    _tensor(input_tensor, "input_tensor")
    send = np.ascontiguousarray(input_tensor.array)
    buf, back = _buffer(output_tensor)
    if buf.size != send.size * pg.size():
        raise ValueError(f"output tensor size must be equal to world_size times input tensor "
                         f"size, got {buf.size} and {send.size}")
    start = lambda: [pg._comm.Iallgather(send, buf.reshape(-1))]   # noqa: E731
    return _run(pg, "all_gather_into_tensor", start, back, async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """gather_list[i] = rank i's tensor, on dst alone."""
    _tensor(tensor)
    pg = _group(group)
    dst = _root(pg, "gather", dst if dst is not None else group_dst)
    send = np.ascontiguousarray(tensor.array)
    if pg.rank() != dst:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on "
                             "non-destination ranks.")
        return _run(pg, "gather", lambda: [pg._comm.Igather(send, None, root=dst)], None,
                    async_op)
    if not gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    _tensors(gather_list, "gather_list")
    _check_list(pg, "gather", gather_list, tensor)
    flat = np.empty((pg.size(),) + send.shape, send.dtype)
    start = lambda: [pg._comm.Igather(send, flat, root=dst)]   # noqa: E731
    return _run(pg, "gather", start, _scatter_back(gather_list, flat), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """tensor = src's scatter_list[rank], on every rank."""
    _tensor(tensor)
    pg = _group(group)
    src = _root(pg, "scatter", src if src is not None else group_src)
    buf, back = _buffer(tensor)
    if pg.rank() != src:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source "
                             "ranks.")
        return _run(pg, "scatter", lambda: [pg._comm.Iscatter(None, buf, root=src)], back,
                    async_op)
    if not scatter_list:
        raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
    _tensors(scatter_list, "scatter_list")
    _check_list(pg, "scatter", scatter_list, tensor)
    flat = np.stack([np.ascontiguousarray(x.array) for x in scatter_list])
    start = lambda: [pg._comm.Iscatter(flat, buf, root=src)]   # noqa: E731
    return _run(pg, "scatter", start, back, async_op)


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Return once every rank has called barrier."""
    pg = _group(group)
    return _run(pg, "barrier", lambda: [pg._comm.Ibarrier()], None, async_op)


def _bytes_from(pg, src, payload):
    """src's bytes on every rank (two broadcasts: the length, then the bytes)."""
    n = np.array([len(payload) if pg.rank() == src else 0], np.int64)
    pg._wait([pg._comm.Ibcast(n, root=src)], "broadcast_object_list")
    buf = np.frombuffer(payload, np.uint8).copy() if pg.rank() == src else \
        np.empty(int(n[0]), np.uint8)
    pg._wait([pg._comm.Ibcast(buf, root=src)], "broadcast_object_list")
    return buf.tobytes()


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """object_list[:] = src's objects, pickled; like PyTorch's, trust every rank you run."""
    import pickle
    pg = _group(group)
    src = _root(pg, "broadcast", src if src is not None else group_src)
    data = pickle.dumps(list(object_list)) if pg.rank() == src else b""
    object_list[:] = pickle.loads(_bytes_from(pg, src, data))


def all_gather_object(object_list, obj, group=None):
    """object_list[i] = rank i's obj, pickled; like PyTorch's, trust every rank you run."""
    import pickle
    pg = _group(group)
    mine = np.frombuffer(pickle.dumps(obj), np.uint8)
    sizes = np.empty(pg.size(), np.int64)
    pg._wait([pg._comm.Iallgather(np.array([mine.size], np.int64), sizes)], "all_gather_object")
    flat = np.empty(int(sizes.sum()), np.uint8)
    counts = [int(s) for s in sizes]
    pg._wait([pg._comm.Iallgatherv(mine, (flat, counts))], "all_gather_object")
    ends = np.cumsum(counts)
    object_list[:] = [pickle.loads(flat[e - c:e].tobytes()) for c, e in zip(counts, ends)]
