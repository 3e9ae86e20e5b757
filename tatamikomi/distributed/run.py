"""`python -m tatamikomi.distributed.run --nproc-per-node N script.py args`: torchrun's
command line, with mpiexec (from the mpich wheel, or the site's) starting the ranks.

The same command run by mpiexec or srun itself (one process per rank, on many machines) skips
the launch and runs the script as that rank. Each rank gets torchrun's environment (RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT, ...). A rank
that raises stops every rank at once (MPI_Abort); Ctrl-C reaches all of them through mpiexec.
"""
import argparse
import os
import runpy
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import _mpi

PROG = "python -m tatamikomi.distributed.run"
# (variable with the rank, the world size, the rank on this node, the ranks on this node)
MANAGERS = (("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),           # MPICH
            ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
             "OMPI_COMM_WORLD_LOCAL_SIZE"))                                        # Open MPI


def _flag(p, name, **kw):
    """A torchrun option under both of its spellings (--nproc-per-node, --nproc_per_node)."""
    names = [name] + (["--" + name[2:].replace("-", "_")] if "-" in name[2:] else [])
    p.add_argument(*names, **kw)


def parser():
    p = argparse.ArgumentParser(prog=PROG, description="Start a PyTorch-style training script "
                                "on N ranks (torchrun's options), through mpiexec.")
    _flag(p, "--nnodes", default="1", help="machines: 1, or with --hosts their count "
          "(torchrun's MIN:MAX ranges must have MIN == MAX)")
    _flag(p, "--nproc-per-node", default="1",
          help="ranks per machine: a number, or auto/cpu for one per core (default: 1)")
    _flag(p, "--hosts", default=None, help="(not torchrun's) machines for mpiexec -hosts, "
          "e.g. node1,node2; with --nnodes 2 and --nproc-per-node 4: 8 ranks")
    for name in ("--rdzv-backend", "--rdzv-endpoint", "--rdzv-id", "--rdzv-conf",
                 "--start-method", "--log-dir", "--local-addr", "--logs-specs",
                 "--local-ranks-filter", "--event-log-handler"):
        _flag(p, name, default=None, help="accepted for torchrun's command lines; MPI does "
              "the rendezvous, so it changes nothing")
    _flag(p, "--standalone", action="store_true", help="accepted (single machine is the "
          "default)")
    _flag(p, "--max-restarts", type=int, default=0, help="only 0: a failed rank ends the job")
    _flag(p, "--monitor-interval", type=float, default=0.1, help="accepted, unused")
    _flag(p, "--role", default="default", help="ROLE_NAME given to the ranks")
    _flag(p, "--node-rank", type=int, default=0, help="accepted; mpiexec numbers the machines")
    _flag(p, "--master-addr", default="127.0.0.1", help="MASTER_ADDR given to the ranks")
    _flag(p, "--master-port", type=int, default=29500, help="MASTER_PORT given to the ranks")
    p.add_argument("-m", "--module", action="store_true",
                   help="the script is a module name, run as `python -m`")
    _flag(p, "--no-python", action="store_true",
          help="run the script as a program, without python")
    _flag(p, "--run-path", action="store_true", help="accepted: scripts always run by path")
    p.add_argument("training_script", help="the script (or module, with -m)")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


class UsageError(Exception):
    """A command-line mistake: one line naming the option and the fix."""


def _count(text, option):
    try:
        n = int(text)
    except ValueError:
        raise UsageError(f"{option} {text}: not a number of processes (or auto/cpu)") from None
    if n < 1:
        raise UsageError(f"{option} {text}: must be 1 or more")
    return n


def ranks_per_node(text):
    if text in ("auto", "cpu"):
        return os.cpu_count() or 1
    if text in ("gpu", "xpu", "cuda"):
        raise UsageError(f"--nproc-per-node {text}: tatamikomi runs on CPUs; give a number "
                         "or auto")
    return _count(text, "--nproc-per-node")


def nodes(text, hosts):
    low, _, high = text.partition(":")
    if high and high != low:
        raise UsageError(f"--nnodes {text}: elastic ranges need torchrun's rendezvous; give "
                         "one number (MPI starts a fixed set of ranks)")
    n = _count(low, "--nnodes")
    if n > 1 and not hosts:
        raise UsageError(f"--nnodes {n}: name the machines with --hosts a,b,... (one mpiexec "
                         "starts every rank), or start the ranks with srun/mpiexec and this "
                         "command")
    if hosts and len(hosts.split(",")) != n:
        raise UsageError(f"--hosts {hosts}: {len(hosts.split(','))} machines, but --nnodes "
                         f"{n}")
    return n


def mpiexec():
    """The mpiexec next to this Python (the mpich wheel puts it there), else on PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if found is None or not _mpi.available():
        raise UsageError(f"{PROG} needs mpi4py and mpiexec: {_mpi.INSTALL}")
    return found


def call(cmd, env=None):
    """Run cmd in its own session, passing it this process's SIGINT and SIGTERM; its status.

    A terminal's Ctrl-C then reaches mpiexec once, through here, whether it was sent to the
    terminal's whole group or to this process alone: mpiexec passes the first on to the ranks
    (KeyboardInterrupt) and aborts them on a second.
    """
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    forward = lambda signum, frame: proc.send_signal(signum)   # noqa: E731
    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def launch(args, argv):
    """Start the ranks under mpiexec; returns its exit status."""
    per_node = ranks_per_node(args.nproc_per_node)
    n_nodes = nodes(args.nnodes, args.hosts)
    if args.max_restarts:
        raise UsageError(f"--max-restarts {args.max_restarts}: restarts need torchrun's elastic "
                         "agent; a failed rank ends the job here (continue it with your "
                         "script's resume)")
    if not args.module and not args.no_python and not Path(args.training_script).is_file():
        raise UsageError(f"{args.training_script}: no such script; pass the path of a Python "
                         "file (or -m module.name)")
    cmd = [mpiexec(), "-n", str(per_node * n_nodes)]
    if args.hosts:
        cmd += ["-hosts", args.hosts, "-ppn", str(per_node)]
    env = dict(os.environ)
    if per_node > 1 and "OMP_NUM_THREADS" not in env:
        # torchrun's default, for the same reason: N ranks x all cores each would oversubscribe
        env["OMP_NUM_THREADS"] = "1"
        print("*" * 48 + "\nSetting OMP_NUM_THREADS environment variable for each process to "
              "be 1 in default, to avoid your system being overloaded, please further tune the "
              "variable for optimal performance in your application as needed.\n" + "*" * 48,
              file=sys.stderr, flush=True)
    env.setdefault("NUMBA_NUM_THREADS", env.get("OMP_NUM_THREADS", str(os.cpu_count() or 1)))
    cmd += [sys.executable, "-m", "tatamikomi.distributed.run"] + argv
    code = call(cmd, env)
    if code not in (0, 130):
        print(f"{PROG}: the job failed (exit status {code}): a rank raised, exited with an "
              "error or died, and every rank was stopped; its message is above.",
              file=sys.stderr, flush=True)
    return code


def _placement():
    """(rank, world size, rank on this machine, ranks on this machine) as strings: from the
    process manager's variables, else (srun with PMIx, other MPIs) from MPI itself."""
    for names in MANAGERS:
        if all(n in os.environ for n in names):
            return tuple(os.environ[n] for n in names)
    comm = _mpi.mpi().COMM_WORLD
    node = comm.Split_type(_mpi.mpi().COMM_TYPE_SHARED)
    place = (comm.Get_rank(), comm.Get_size(), node.Get_rank(), node.Get_size())
    node.Free()
    return tuple(map(str, place))


def _rank_env(args):
    """torchrun's variables for this rank."""
    r, n, lr, ln = _placement()
    return dict(RANK=r, WORLD_SIZE=n, LOCAL_RANK=lr, LOCAL_WORLD_SIZE=ln,
                GROUP_RANK=str(int(r) // max(int(ln), 1)), ROLE_RANK=r, ROLE_WORLD_SIZE=n,
                ROLE_NAME=args.role, MASTER_ADDR=args.master_addr,
                MASTER_PORT=str(args.master_port), TORCHELASTIC_RUN_ID=args.rdzv_id or "none",
                TORCHELASTIC_RESTART_COUNT="0", TORCHELASTIC_MAX_RESTARTS="0")


def _script_frames(exc):
    """exc with its traceback starting at the script (this runner's frames dropped)."""
    tb = exc.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__, "<frozen runpy>")
                              or "runpy" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return exc.with_traceback(tb) if tb is not None else exc


def _fail(code, exc=None):
    """End this rank with code; with a process group up, end all ranks now."""
    rank = os.environ.get("RANK", "?")
    if exc is not None:
        sys.stderr.write(_mpi.format_exception(rank, _script_frames(exc)))
    sys.stdout.flush()
    sys.stderr.flush()
    if "mpi4py" in sys.modules:
        from mpi4py import MPI
        if code == 130 and rank != "0":
            time.sleep(0.5)         # Ctrl-C reached every rank: let rank 0 finish its message
        if MPI.Is_initialized() and not MPI.Is_finalized():
            _mpi.stop(MPI.COMM_WORLD, rank, os.environ.get("WORLD_SIZE", "?"), code)
    os._exit(code)                   # the process manager stops the others on a failed rank


def run_rank(args):
    """Run the script as this rank, in this process."""
    os.environ.update(_rank_env(args))
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit() and "NUMBA_NUM_THREADS" not in os.environ:
        from .._settings import set_num_threads  # Numba's pool already started
        set_num_threads(int(threads))
    if args.no_python:
        os.execvp(args.training_script, [args.training_script] + args.training_script_args)
    sys.argv = [args.training_script] + args.training_script_args
    try:
        if args.module:
            runpy.run_module(args.training_script, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, str(Path(args.training_script).resolve().parent))
            runpy.run_path(args.training_script, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        if code:
            _fail(code)
    except KeyboardInterrupt:
        print(f"[rank {os.environ['RANK']}] KeyboardInterrupt", file=sys.stderr)
        _fail(130)
    except BaseException as e:  # any error of the script ends the whole job
        _fail(1, e)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    try:
        if _mpi.launched_by_mpi():
            return run_rank(args)
        return launch(args, argv)
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
