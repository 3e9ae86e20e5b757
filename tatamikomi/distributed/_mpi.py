"""The MPI underneath the process groups: mpi4py loaded on first use, waits that time out.

Every collective here is MPI's nonblocking form, completed by `wait`: polling from Python lets
Ctrl-C (KeyboardInterrupt) and the process group's timeout stop a rank whose peers are gone,
where a blocking MPI call would sit in C forever. A rank that fails then calls MPI_Abort, and
mpiexec stops the whole job, so no rank is left waiting on a dead one.
"""
import os
import sys
import time
import traceback

SPIN_S = 0.002           # poll flat out this long (the usual wait), then with short sleeps
NAP_S = 0.0005          # a sleep between polls: long waits mean a late peer, not a busy wire
INSTALL = "pip install mpi4py mpich (or: pip install 'tatamikomi[mpi]')"


class DistError(RuntimeError):
    """torch.distributed.DistError: the base of the distributed errors."""


class DistBackendError(DistError):
    """A collective failed or timed out in the backend."""


class DistNetworkError(DistError):
    """The ranks could not reach each other."""


def mpi():
    """mpi4py's MPI module; importing it initializes MPI (a world of one without mpiexec)."""
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError(f"tatamikomi.distributed runs on MPI through mpi4py, which is not "
                           f"installed: {INSTALL}") from None
    return MPI


def available():
    """Whether mpi4py can be imported, without initializing MPI."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def launched_by_mpi():
    """Whether a process manager (mpiexec/hydra, Open MPI, PMIx, Slurm) started this process."""
    return any(k in os.environ for k in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                         "PMI_SIZE"))


def wait(requests, what, rank, timeout_s):
    """Complete MPI requests, raising DistBackendError after timeout_s seconds."""
    MPI = mpi()
    if MPI.Request.Testall(requests):
        return
    start = time.monotonic()
    while not MPI.Request.Testall(requests):
        waited = time.monotonic() - start
        if waited > timeout_s:
            raise DistBackendError(
                f"[rank {rank}] {what} did not complete within the process group's timeout "
                f"({timeout_s:g} s): another rank has exited, is stuck, or called a different "
                "collective.\nEvery rank must call the same collectives in the same order; "
                "init_process_group(timeout=...) sets how long to wait.")
        if waited > SPIN_S:
            time.sleep(NAP_S)


def test(requests):
    """Let MPI progress the requests without waiting (MPI moves data only inside its calls)."""
    if requests:
        mpi().Request.Testall(requests)


_previous_hook = []


def abort_on_error(comm, rank, size):
    """Make an uncaught exception on this rank stop all ranks now (MPI_Abort), not hang them."""
    if _previous_hook:
        return
    _previous_hook.append(sys.excepthook)

    def hook(kind, value, tb):
        _previous_hook[0](kind, value, tb)
        stop(comm, rank, size, 130 if issubclass(kind, KeyboardInterrupt) else 1)
    sys.excepthook = hook


def restore_excepthook():
    if _previous_hook:
        sys.excepthook = _previous_hook.pop()


ABORT_GRACE_S = 0.5


def stop(comm, rank, size, code):
    """Tell the user why, then end every rank of the job with exit status code."""
    why = "Ctrl-C" if code == 130 else "the error above"
    print(f"[rank {rank}] tatamikomi.distributed: stopping all {size} ranks (MPI_Abort, exit "
          f"status {code}) after {why}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    # MPI_Abort makes the process manager kill every process of the job, its output
    # forwarders too: what this rank just wrote was lost in 1 of 3 runs of the stuck-rank
    # test (tests/test_distributed_ranks.py) until they got this moment to pass it on
    time.sleep(ABORT_GRACE_S)
    comm.Abort(code)


def format_exception(rank, exc):
    """A rank's traceback, each line marked with its rank."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "".join(f"[rank {rank}] {line}\n" for line in lines.rstrip("\n").split("\n"))
