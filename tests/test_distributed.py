"""torch.distributed's API in one process (a world of one) against PyTorch's own, gloo, in the
same test: errors, messages, results, DDP and DistributedSampler. Several ranks:
test_distributed_ranks.py."""
import datetime
import functools
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as tdist
from helpers import raised

import tatamikomi as tm
import tatamikomi.distributed as dist
from tatamikomi.nn.parallel import DistributedDataParallel
from tatamikomi.utils.data import DistributedSampler


def ours_spelled(message):
    return (message.replace("torch.Tensor", "tatamikomi.Tensor")
            .replace("torch.float32", "tatamikomi.float32")
            .replace("torch.int64", "tatamikomi.int64"))


def same_error(ours_fn, torch_fn):
    """Both raise one exception type; ours starts with torch's first line."""
    theirs, ours = raised(torch_fn), raised(ours_fn)
    assert theirs is not None, "torch did not raise: the test case is wrong"
    assert ours is not None, f"tatamikomi did not raise; torch raised {theirs!r}"
    assert type(ours).__name__ == type(theirs).__name__, f"{ours!r} vs {theirs!r}"
    first = str(theirs).split("\n")[0]
    assert str(ours).split("\n")[0] in (first, ours_spelled(first)), f"{ours!r} vs {theirs!r}"
    return ours


@pytest.fixture
def both():
    """A world of one in each library; torch's on a HashStore, ours on MPI's singleton."""
    tdist.init_process_group("gloo", store=tdist.HashStore(), rank=0, world_size=1)
    dist.init_process_group("gloo", rank=0, world_size=1)
    yield
    tdist.destroy_process_group()
    dist.destroy_process_group()


def test_before_init_every_call_says_so():
    for name in ("get_rank", "get_world_size", "barrier", "get_backend"):
        same_error(getattr(dist, name), getattr(tdist, name))
    same_error(lambda: dist.all_reduce(tm.ones(2)), lambda: tdist.all_reduce(torch.ones(2)))
    same_error(lambda: DistributedDataParallel(tm.nn.Linear(2, 2)),
               lambda: torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2)))
    same_error(lambda: DistributedSampler(range(4)),
               lambda: torch.utils.data.distributed.DistributedSampler(range(4)))
    same_error(dist.destroy_process_group, tdist.destroy_process_group)
    assert dist.is_initialized() is tdist.is_initialized() is False
    assert dist.group.WORLD is None and tdist.group.WORLD is None


def test_init_arguments_are_checked_as_torch_checks_them(monkeypatch):
    for k in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    same_error(lambda: dist.init_process_group("gloo"), lambda: tdist.init_process_group("gloo"))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29531")
    same_error(lambda: dist.init_process_group("nccl"), lambda: tdist.init_process_group("nccl"))
    same_error(lambda: dist.init_process_group("foo"), lambda: tdist.init_process_group("foo"))
    same_error(lambda: dist.init_process_group("gloo", timeout=5),
               lambda: tdist.init_process_group("gloo", timeout=5))
    assert not dist.is_initialized()


def test_a_world_mpi_did_not_start_is_explained(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    e = raised(lambda: dist.init_process_group("gloo"))
    assert isinstance(e, RuntimeError) and "tatamikomi.distributed.run" in str(e)
    assert not dist.is_initialized()


def test_env_gives_the_world_and_second_init_fails(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    dist.init_process_group(timeout=datetime.timedelta(seconds=30))
    try:
        assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
        assert dist.is_initialized() and dist.group.WORLD is dist.GroupMember.WORLD
        e = raised(lambda: dist.init_process_group("gloo"))
        assert isinstance(e, ValueError) and "twice" in str(e)
    finally:
        dist.destroy_process_group()
    dist.init_process_group("mpi")                  # again, and MPI's own name for it
    assert dist.get_backend() == dist.Backend("MPI") == "mpi"
    dist.destroy_process_group()


def test_reduce_ops_and_backend_names_match():
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR", "PREMUL_SUM"):
        assert repr(getattr(dist.ReduceOp, name)) == repr(getattr(tdist.ReduceOp, name))
        assert str(getattr(dist.ReduceOp, name)) == str(getattr(tdist.ReduceOp, name))
    assert dist.Backend("GLOO") == tdist.Backend("GLOO") == dist.Backend.GLOO
    assert dist.is_available() and dist.is_gloo_available() and not dist.is_nccl_available()
    assert dist.default_pg_timeout == tdist.default_pg_timeout


DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_collectives_of_one_rank_match_torch(both, dtype):
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    ops = ["SUM", "PRODUCT", "MIN", "MAX", "AVG", "BAND", "BOR", "BXOR"]
    for op in ops:
        ours, theirs = tm.from_numpy(a.T.copy()).t(), torch.from_numpy(a.T.copy()).t()
        ours_fn = functools.partial(dist.all_reduce, ours, op=getattr(dist.ReduceOp, op))
        torch_fn = functools.partial(tdist.all_reduce, theirs, op=getattr(tdist.ReduceOp, op))
        if raised(torch_fn) is not None:        # AVG of integers, bitwise ops of floats
            same_error(ours_fn, torch_fn)
            continue
        ours_fn()                               # a world of one: the same values back
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours, theirs = tm.from_numpy(a.copy()), torch.from_numpy(a.copy())
    dist.broadcast(ours, src=0)
    tdist.broadcast(theirs, src=0)
    outs = [tm.zeros(3, 4, dtype=getattr(tm, dtype))]
    dist.all_gather(outs, ours)
    np.testing.assert_array_equal(outs[0].numpy(), a)


def test_collective_errors_match_torch(both):
    t, u = tm.ones(2), torch.ones(2)
    cases = [
        (lambda: dist.broadcast(t, src=1), lambda: tdist.broadcast(u, src=1)),
        (lambda: dist.broadcast(t), lambda: tdist.broadcast(u)),
        (lambda: dist.reduce(t, dst=3), lambda: tdist.reduce(u, dst=3)),
        (lambda: dist.all_reduce([1, 2]), lambda: tdist.all_reduce([1, 2])),
        (lambda: dist.all_reduce(t, op="sum"), lambda: tdist.all_reduce(u, op="sum")),
        (lambda: dist.all_gather([tm.zeros(3)], t), lambda: tdist.all_gather([torch.zeros(3)], u)),
        (lambda: dist.all_gather([tm.zeros(2)] * 2, t),
         lambda: tdist.all_gather([torch.zeros(2)] * 2, u)),
        (lambda: dist.all_gather([tm.zeros(2, dtype=tm.int64)], t),
         lambda: tdist.all_gather([torch.zeros(2, dtype=torch.int64)], u)),
        (lambda: dist.all_gather(tm.zeros(2), t), lambda: tdist.all_gather(torch.zeros(2), u)),
        (lambda: dist.gather(t, None, dst=0), lambda: tdist.gather(u, None, dst=0)),
        (lambda: dist.gather(t, [tm.zeros(3)], dst=0), lambda: tdist.gather(u, [torch.zeros(3)],
                                                                           dst=0)),
        (lambda: dist.gather(t, [tm.zeros(2)] * 2, dst=0),
         lambda: tdist.gather(u, [torch.zeros(2)] * 2, dst=0)),
        (lambda: dist.scatter(t, None, src=0), lambda: tdist.scatter(u, None, src=0)),
        (lambda: dist.scatter(t, [tm.zeros(2)] * 2, src=0),
         lambda: tdist.scatter(u, [torch.zeros(2)] * 2, src=0)),
        (lambda: dist.scatter(t, [tm.zeros(2, dtype=tm.int64)], src=0),
         lambda: tdist.scatter(u, [torch.zeros(2, dtype=torch.int64)], src=0)),
        (lambda: dist.get_backend(5), lambda: tdist.get_backend(5)),
    ]
    for ours_fn, torch_fn in cases:
        same_error(ours_fn, torch_fn)


def test_async_work_and_objects(both):
    t = tm.arange(4.0)
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() is True and work.is_completed() and work.is_success()
    assert dist.barrier() is None and dist.barrier(async_op=True).wait()
    got = [None]
    dist.all_gather_object(got, {"a": (1, 2)})
    theirs = [None]
    tdist.all_gather_object(theirs, {"a": (1, 2)})
    assert got == theirs
    objs = ["x", 3]
    dist.broadcast_object_list(objs, src=0)
    assert objs == ["x", 3]


def _pair():
    """A Linear in each library with the same weights, plus an unused one."""
    def net(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b = nn.Linear(3, 2), nn.Linear(2, 2)

            def forward(self, x):
                return self.a(x)
        return Net().double()
    theirs, ours = net(torch.nn), net(tm.nn)
    ours.load_state_dict({k: tm.from_numpy(v.numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def test_ddp_wraps_as_torch_does(both):
    ours, theirs = _pair()
    a = DistributedDataParallel(ours)
    b = torch.nn.parallel.DistributedDataParallel(theirs)
    assert repr(a) == repr(b).replace("torch.", "tatamikomi.")
    assert list(a.state_dict()) == list(b.state_dict())
    assert a.train() is a and (a.bucket_bytes_cap, a.broadcast_buffers, a.dim) == \
        (b.bucket_bytes_cap, b.broadcast_buffers, b.dim)
    x = np.random.default_rng(0).normal(size=(4, 3))
    a(tm.from_numpy(x)).sum().backward()
    b(torch.from_numpy(x)).sum().backward()
    np.testing.assert_allclose(ours.a.weight.grad.numpy(), theirs.a.weight.grad.numpy(),
                               rtol=1e-12)
    assert ours.b.weight.grad is None and theirs.b.weight.grad is None
    # b never got a gradient: the next forward says the reduction did not finish
    e = same_error(lambda: a(tm.from_numpy(x)), lambda: b(torch.from_numpy(x)))
    assert "did not receive grad for rank 0: 2 3 (b.weight, b.bias)" in str(e)
    same_error(lambda: DistributedDataParallel(tm.nn.ReLU()),
               lambda: torch.nn.parallel.DistributedDataParallel(torch.nn.ReLU()))
    same_error(lambda: DistributedDataParallel(tm.nn.Linear(2, 2), device_ids=[0, 1]),
               lambda: torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2),
                                                                 device_ids=[0, 1]))


def test_ddp_find_unused_and_no_sync_match_torch(both):
    ours, theirs = _pair()
    a = DistributedDataParallel(ours, find_unused_parameters=True)
    b = torch.nn.parallel.DistributedDataParallel(theirs, find_unused_parameters=True)
    x = np.random.default_rng(1).normal(size=(4, 3))
    for _ in range(2):
        a(tm.from_numpy(x)).sum().backward()
        b(torch.from_numpy(x)).sum().backward()
    with a.no_sync(), b.no_sync():
        a(tm.from_numpy(x)).pow(2).sum().backward()
        b(torch.from_numpy(x)).pow(2).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if q.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_buckets_start_during_backward_last_layers_first(both):
    # overlap: when conv2's weight gradient arrives, the fc layers' bucket is already on the
    # wire and conv1's, whose gradients backward has not reached yet, is not
    from tatamikomi.tools.models import SimpleCNN
    model = SimpleCNN().eval()
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.1)
    reducer = ddp.reducer
    names = [n for n, _ in model.named_parameters()]
    assert [[names[i] for i in b.indices] for b in reducer.buckets][0] == \
        ["fc2.bias", "fc2.weight", "fc1.bias", "fc1.weight"]
    seen = []
    model.conv2.weight.register_hook(lambda g: seen.append(
        (reducer.next, len(reducer.requests), model.conv1.weight.grad is None)))
    ddp(tm.randn(2, 1, 28, 28)).sum().backward()
    assert len(seen) == 1
    started, in_flight, conv1_pending = seen[0]
    assert 1 <= started < len(reducer.buckets) and in_flight == started and conv1_pending
    assert reducer.requests == [] and model.conv1.weight.grad is not None   # all finished


def test_a_parameter_used_outside_forward_is_an_error_not_a_silent_divergence(both):
    lin = tm.nn.Linear(2, 2)
    ddp = DistributedDataParallel(lin)
    loss = ddp(tm.ones(1, 2)).sum() + (lin.weight ** 2).sum()
    e = raised(loss.backward)
    assert isinstance(e, RuntimeError) and "Expected to mark a variable ready only once" in str(e)


def test_distributed_sampler_draws_torchs_indices(both):
    T = torch.utils.data.distributed.DistributedSampler
    for n in (1, 3, 10, 11):
        for replicas in (1, 2, 3, 4):
            for shuffle in (True, False):
                for drop_last in (True, False):
                    for rank in range(replicas):
                        a = DistributedSampler(range(n), replicas, rank, shuffle, 7, drop_last)
                        b = T(range(n), replicas, rank, shuffle, 7, drop_last)
                        for epoch in (0, 5):
                            a.set_epoch(epoch)
                            b.set_epoch(epoch)
                            assert list(a) == list(b) and len(a) == len(b)
    assert list(DistributedSampler(range(5))) == list(T(range(5)))     # from the world
    same_error(lambda: DistributedSampler(range(4), 2, 2), lambda: T(range(4), 2, 2))
    same_error(lambda: DistributedSampler(range(4), 2, -1), lambda: T(range(4), 2, -1))
    assert tm.utils.data.distributed.DistributedSampler is DistributedSampler


def test_importing_tatamikomi_leaves_mpi_alone():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import tatamikomi as torch\n"
            "assert torch.distributed.is_available() and not torch.distributed.is_initialized()\n"
            "try:\n    torch.distributed.init_process_group('mpi')\n"
            "except RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, RANK="0", WORLD_SIZE="1"))
    assert out.returncode == 0, out.stderr
    assert "pip install mpi4py mpich" in out.stdout
