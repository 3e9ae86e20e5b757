"""2 and 3 ranks on this machine: collectives against NumPy, DDP against one process.

Each test starts ranks with the launcher, which runs this file as the rank program (the
`__main__` block at the bottom): the ranks check themselves and print one line per check;
any failed check raises, which ends the job with the traceback. The tests then read the lines.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]


def launch(n, *case, timeout=120, env=None):
    """Run `case` on n ranks through `python -m tatamikomi.distributed.run`."""
    cmd = [sys.executable, "-m", "tatamikomi.distributed.run", "--nproc-per-node", str(n),
           str(HERE), *case]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=dict(os.environ, **(env or {})))


def passed(proc, n, checks):
    """Every rank reported every check."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for r in range(n):
        for check in checks:
            assert f"rank {r}: {check} ok" in proc.stdout, proc.stdout + proc.stderr


CHECKS = ["collectives", "objects", "ddp SimpleCNN float64", "ddp SimpleCNN float32",
          "ddp small buckets", "ddp resnet eval-frozen BN", "no_sync", "find_unused_parameters",
          "tied weights", "buffers broadcast"]


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_and_ddp_match_numpy_and_one_process(n):
    passed(launch(n, "all"), n, CHECKS)


def test_a_raising_rank_stops_all_ranks_at_once():
    t0 = time.monotonic()
    proc = launch(3, "raise", timeout=60)
    assert proc.returncode == 1
    assert "[rank 1] ValueError: rank 1 gives up" in proc.stderr
    assert "stopping all 3 ranks" in proc.stderr and "the job failed" in proc.stderr
    assert time.monotonic() - t0 < 30           # rank 0 and 2 waited 600 s for nothing


def test_a_stuck_rank_makes_the_others_time_out():
    proc = launch(2, "stuck", timeout=60)
    assert proc.returncode == 1
    assert "DistBackendError" in proc.stderr, proc.stderr
    assert "all_reduce did not complete within the process group's timeout (2 s)" in proc.stderr


def test_a_dead_rank_ends_the_job():
    proc = launch(2, "die", timeout=60)
    assert proc.returncode != 0 and "the job failed" in proc.stderr, proc.stderr


def test_ctrl_c_stops_every_rank(tmp_path):
    cmd = [sys.executable, "-m", "tatamikomi.distributed.run", "--nproc-per-node", "2",
           str(HERE), "spin", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(tmp_path.glob("ready-*"))) == 2, "the ranks never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "KeyboardInterrupt" in err
    pids = [int(p.read_text()) for p in tmp_path.glob("ready-*")]
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in pids)     # no rank left behind


def _alive(pid):
    """Whether pid runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_usage_errors_are_one_line():
    run = [sys.executable, "-m", "tatamikomi.distributed.run"]
    for args, words in ((["--nproc-per-node", "2", "missing.py"], "missing.py: no such script"),
                        (["--nproc-per-node", "0", str(HERE)], "--nproc-per-node 0: must be"),
                        (["--nnodes", "2", str(HERE)], "--nnodes 2: name the machines"),
                        (["--nproc-per-node", "gpu", str(HERE)], "runs on CPUs")):
        proc = subprocess.run(run + args, capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().split("\n")) == 1


# ----- the rank program

def _say(check):
    import tatamikomi.distributed as dist
    print(f"rank {dist.get_rank()}: {check} ok", flush=True)


def _rank_arrays(n, dtype, seed, shape=(3, 4)):
    """Every rank's input for one check, computable on any rank: small ints, so float sums
    are exact in every order and every dtype."""
    out = []
    for r in range(n):
        rng = np.random.default_rng(1000 * seed + r)
        lo = 0 if dtype in (np.bool_, np.uint8) else -3
        hi = 2 if dtype == np.bool_ else 4
        out.append(rng.integers(lo, hi, shape).astype(dtype))
    return np.stack(out)


def _reduced(A, op):
    n, dt = len(A), A.dtype
    if dt == np.bool_:
        return {"SUM": A.any(0), "MAX": A.any(0), "BOR": A.any(0), "MIN": A.all(0),
                "PRODUCT": A.all(0), "BAND": A.all(0), "BXOR": np.logical_xor.reduce(A, 0)}[op]
    if op == "AVG":
        return np.divide(A.sum(0, dtype=dt), n).astype(dt)
    return {"SUM": lambda: A.sum(0, dtype=dt), "PRODUCT": lambda: A.prod(0, dtype=dt),
            "MIN": lambda: A.min(0), "MAX": lambda: A.max(0),
            "BAND": lambda: np.bitwise_and.reduce(A, 0),
            "BOR": lambda: np.bitwise_or.reduce(A, 0),
            "BXOR": lambda: np.bitwise_xor.reduce(A, 0)}[op]()


def _tensor(tm, a, contiguous):
    """a as a tensor, or as a transposed view of one (so not contiguous)."""
    if contiguous:
        return tm.from_numpy(a.copy())
    return tm.from_numpy(np.ascontiguousarray(a.T)).t()


def _check_collectives(tm, dist):
    r, n = dist.get_rank(), dist.get_world_size()
    dtypes = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16,
              np.float32, np.float64]
    seed = 0
    for dt in dtypes:
        floating = np.issubdtype(dt, np.floating)
        ops = ["SUM", "PRODUCT", "MIN", "MAX"] + (["AVG"] if floating else
                                                  ["BAND", "BOR", "BXOR"])
        for contiguous in (True, False):
            for op in ops:
                seed += 1
                A = _rank_arrays(n, dt, seed)
                t = _tensor(tm, A[r], contiguous)
                dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
                np.testing.assert_array_equal(t.numpy(), _reduced(A, op), err_msg=f"{dt} {op}")
                seed += 1
                A = _rank_arrays(n, dt, seed)
                t = _tensor(tm, A[r], contiguous)
                work = dist.reduce(t, dst=n - 1, op=getattr(dist.ReduceOp, op), async_op=True)
                work.wait()
                want = _reduced(A, op) if r == n - 1 else A[r]
                np.testing.assert_array_equal(t.numpy(), want, err_msg=f"reduce {dt} {op}")
            seed += 1
            A = _rank_arrays(n, dt, seed)
            t = _tensor(tm, A[r], contiguous)
            dist.broadcast(t, src=1)
            np.testing.assert_array_equal(t.numpy(), A[1])
            outs = [_tensor(tm, np.zeros_like(A[0]), contiguous) for _ in range(n)]
            dist.all_gather(outs, tm.from_numpy(A[r].copy()))
            np.testing.assert_array_equal(np.stack([o.numpy() for o in outs]), A)
            got = [_tensor(tm, np.zeros_like(A[0]), contiguous) for _ in range(n)] \
                if r == 0 else None
            dist.gather(_tensor(tm, A[r], contiguous), got, dst=0)
            if r == 0:
                np.testing.assert_array_equal(np.stack([o.numpy() for o in got]), A)
            parts = [tm.from_numpy(A[k].copy()) for k in range(n)] if r == n - 1 else None
            t = _tensor(tm, np.zeros_like(A[0]), contiguous)
            work = dist.scatter(t, parts, src=n - 1, async_op=True)
            assert work.wait() is True and work.is_completed()
            np.testing.assert_array_equal(t.numpy(), A[r])
    dist.barrier()
    _say("collectives")
    got = [None] * n
    dist.all_gather_object(got, {"rank": r, "word": "x" * r})
    assert got == [{"rank": k, "word": "x" * k} for k in range(n)], got
    objs = [r, "mine"] if r == 0 else [None]
    dist.broadcast_object_list(objs, src=0)
    assert objs == [0, "mine"], objs
    _say("objects")


def _batches(tm, n, shape, classes, steps, dtype, seed=7):
    g = tm.Generator().manual_seed(seed)
    return [(tm.randn(n * shape[0], *shape[1:], generator=g, dtype=dtype),
             tm.randint(0, classes, (n * shape[0],), generator=g)) for _ in range(steps)]


def _train_both(tm, dist, build, shape, classes, dtype, tol, name, steps=3, **ddp_kwargs):
    """k DDP steps on each rank's share against one process on the whole batch."""
    from tatamikomi.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
    r, n = dist.get_rank(), dist.get_world_size()
    tm.manual_seed(r)                       # replicas start apart: DDP broadcasts rank 0's
    model = build().to(dtype)
    ddp = DDP(model, **ddp_kwargs)
    single = build().to(dtype)
    single.load_state_dict(model.state_dict())
    opt = tm.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    opt1 = tm.optim.SGD(single.parameters(), lr=0.05, momentum=0.9)
    F = tm.nn.functional
    B = shape[0]
    for x, y in _batches(tm, n, shape, classes, steps, dtype):
        opt.zero_grad()
        F.cross_entropy(ddp(x[r * B:(r + 1) * B]), y[r * B:(r + 1) * B]).backward()
        opt.step()
        opt1.zero_grad()
        F.cross_entropy(single(x), y).backward()
        opt1.step()
    for (k, a), b in zip(model.state_dict().items(), single.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol, err_msg=k)
    _same_everywhere(dist, model)
    _say(name)
    return ddp


def _same_everywhere(dist, model):
    """The replicas are bit-for-bit equal on every rank."""
    flat = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, flat.tobytes())
    assert all(e == everyone[0] for e in everyone)


def _check_ddp(tm, dist):
    from tatamikomi.tools.models import SimpleCNN
    from tatamikomi.vision.models.resnet import BasicBlock, ResNet

    def cnn():
        return SimpleCNN().eval()           # dropout off: its masks are each rank's own
    _train_both(tm, dist, cnn, (2, 1, 28, 28), 10, tm.float64, 1e-10, "ddp SimpleCNN float64")
    ddp = _train_both(tm, dist, cnn, (2, 1, 28, 28), 10, tm.float32, 1e-5,
                      "ddp SimpleCNN float32")
    assert list(ddp.state_dict())[0] == "module.conv1.weight"
    ddp = _train_both(tm, dist, cnn, (2, 1, 28, 28), 10, tm.float64, 1e-10,
                      "ddp small buckets", bucket_cap_mb=0.1)
    names = [n for n, _ in ddp.module.named_parameters()]
    assert [[names[i] for i in b.indices] for b in ddp.reducer.buckets] == [
        ["fc2.bias", "fc2.weight", "fc1.bias", "fc1.weight"], ["conv2.bias", "conv2.weight"],
        ["conv1.bias", "conv1.weight"]]

    def resnet():                                   # resnet18 with one block per stage
        model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5)
        return model.eval()                         # BatchNorm frozen: running stats used
    _train_both(tm, dist, resnet, (1, 3, 32, 32), 5, tm.float64, 1e-10,
                "ddp resnet eval-frozen BN", steps=2)


def _branches(tm):
    """A model whose `b` branch is used only when asked, and whose `c` is never used."""
    nn = tm.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(4, 3), nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x, use_b):
            h = self.a(x)
            return self.b(h) if use_b else h
    return Net().double()


def _twice(tm):
    """One Linear applied twice in one forward: its weight gets two pieces of gradient."""
    nn = tm.nn

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(tm.tanh(self.lin(x)))
    return Twice().double()


def _check_sync_options(tm, dist):
    from tatamikomi.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
    r, n = dist.get_rank(), dist.get_world_size()
    F = tm.nn.functional
    # no_sync: two local backward passes, then one that syncs the sum of all three
    tm.manual_seed(0)
    model = tm.nn.Linear(5, 2).double()
    ddp = DDP(model)
    single = tm.nn.Linear(5, 2).double()
    single.load_state_dict(model.state_dict())
    xs = _batches(tm, n, (3, 5), 2, 3, tm.float64)
    with ddp.no_sync():
        for x, y in xs[:2]:
            F.cross_entropy(ddp(x[3 * r:3 * r + 3]), y[3 * r:3 * r + 3]).backward()
    x, y = xs[2]
    F.cross_entropy(ddp(x[3 * r:3 * r + 3]), y[3 * r:3 * r + 3]).backward()
    for x, y in xs:
        F.cross_entropy(single(x), y).backward()
    for p, q in zip(model.parameters(), single.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12)
    _say("no_sync")
    # find_unused_parameters: b's gradient is rank 0's over n; c's stays None everywhere
    tm.manual_seed(0)
    net = _branches(tm)
    ddp = DDP(net, find_unused_parameters=True)
    ref = _branches(tm)
    ref.load_state_dict(net.state_dict())
    x = _batches(tm, n, (2, 4), 3, 1, tm.float64)[0][0]
    for _ in range(2):                             # twice: the second must start cleanly
        net.zero_grad()
        ddp(x[2 * r:2 * r + 2], use_b=r == 0).sum().backward()
    ref.zero_grad()
    sum(ref(x[2 * k:2 * k + 2], use_b=k == 0).sum() for k in range(n)).backward()
    for name, p in net.named_parameters():
        q = dict(ref.named_parameters())[name]
        if name.startswith("c."):
            assert p.grad is None and q.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy() / n, rtol=1e-10,
                                       atol=1e-12, err_msg=name)
    _say("find_unused_parameters")
    # a weight used twice gets two pieces of gradient: reduced once, after the second
    tm.manual_seed(0)
    twice = _twice(tm)
    ddp = DDP(twice)
    ref = _twice(tm)
    ref.load_state_dict(twice.state_dict())
    x = _batches(tm, n, (2, 3), 3, 1, tm.float64)[0][0]
    ddp(x[2 * r:2 * r + 2]).sum().backward()
    ref(x).sum().backward()
    for p, q in zip(twice.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy() / n, rtol=1e-10, atol=1e-12)
    _say("tied weights")


def _check_buffers(tm, dist):
    from tatamikomi.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
    r = dist.get_rank()
    tm.manual_seed(0)
    bn = tm.nn.Sequential(tm.nn.Conv2d(2, 3, 3), tm.nn.BatchNorm2d(3))
    ddp = DDP(bn)
    x = tm.randn(4, 2, 5, 5) + r                # each rank normalizes its own batch
    ddp(x).sum().backward()                     # running stats: this rank's batch
    ddp(x).sum().backward()                     # broadcast first: rank 0's, then updated
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, bn[1].running_mean.numpy().copy())
    assert not any(np.array_equal(everyone[0], e) for e in everyone[1:])
    ddp.eval()
    ddp(x)                                      # broadcast before it; eval updates nothing
    dist.all_gather_object(everyone, bn[1].running_mean.numpy().copy())
    assert all(np.array_equal(everyone[0], e) for e in everyone[1:])
    _say("buffers broadcast")


def _rank_main(case, *args):
    import tatamikomi as tm
    import tatamikomi.distributed as dist
    timeout = __import__("datetime").timedelta(seconds=2 if case == "stuck" else 600)
    dist.init_process_group("gloo", timeout=timeout)
    r = dist.get_rank()
    if case == "all":
        _check_collectives(tm, dist)
        _check_ddp(tm, dist)
        _check_sync_options(tm, dist)
        _check_buffers(tm, dist)
    elif case == "raise":
        if r == 1:
            raise ValueError("rank 1 gives up")
        dist.all_reduce(tm.ones(3))
    elif case == "stuck":
        if r == 1:
            time.sleep(60)
        dist.all_reduce(tm.ones(3))
    elif case == "die":
        if r == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        dist.all_reduce(tm.ones(3))
    elif case == "spin":
        Path(args[0], f"ready-{r}").write_text(str(os.getpid()))
        while True:                             # rank 0 mostly waits in all_reduce
            if r == 1:
                time.sleep(0.01)
            dist.all_reduce(tm.ones(3))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    _rank_main(*sys.argv[1:])
