"""DataLoader worker processes and torch.multiprocessing's shared tensors, against torch's own
DataLoader and multiprocessing run in the same test. Datasets are tiny: startup dominates."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import tatamikomi as tm
from tatamikomi import multiprocessing as tmp
from tatamikomi.utils.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    TensorDataset,
    _worker,
    get_worker_info,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tensor_dataset(n=23):
    x = tm.from_numpy(np.arange(n * 6, dtype=np.float32).reshape(n, 1, 2, 3))
    return TensorDataset(x, tm.arange(n))


@pytest.mark.parametrize("workers,batch_size,drop_last", [(1, 4, False), (2, 5, True),
                                                          (3, 1, False)])
def test_worker_batches_equal_in_process_ones_in_order(workers, batch_size, drop_last):
    ds = tensor_dataset()
    want = list(DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    got = list(DataLoader(ds, batch_size=batch_size, drop_last=drop_last, num_workers=workers))
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gx.numpy(), wx.numpy())
        assert gy.tolist() == wy.tolist() and gx.dtype == wx.dtype
        assert tmp.is_shared(gx) and tmp.is_shared(gy)      # came through shared memory


def test_spawned_workers_load_the_same_batches():
    ds = tensor_dataset(20)
    got = [y.tolist() for _, y in DataLoader(ds, batch_size=6, num_workers=2,
                                             multiprocessing_context="spawn")]
    assert got == [y.tolist() for _, y in DataLoader(ds, batch_size=6)]


def test_shuffled_order_and_rng_use_are_torchs():
    n = 30
    ours = tensor_dataset(n)
    theirs = tud.TensorDataset(torch.arange(n))
    tm.manual_seed(5)
    got = [y.tolist() for _, y in DataLoader(ours, batch_size=7, shuffle=True, num_workers=2)]
    after = tm.rand(1).item()
    torch.manual_seed(5)
    want = [b[0].tolist() for b in tud.DataLoader(theirs, batch_size=7, shuffle=True,
                                                  num_workers=2)]
    assert got == want and after == torch.rand(1).item()


class SeedProbe(Dataset):
    """What a worker's generators give: its id and seed, then one draw of each."""

    def __init__(self, lib, n=6):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = (get_worker_info() if self.lib is tm else tud.get_worker_info())
        return [info.id, info.seed, info.num_workers, self.lib.rand(1).item(), random.random(),
                float(np.random.rand())]


def test_worker_seeds_and_draws_are_torchs():
    gen_ours, gen_theirs = tm.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    got = [[v.tolist() for v in b] for b in DataLoader(SeedProbe(tm), batch_size=2,
                                                         num_workers=2, generator=gen_ours)]
    want = [[v.tolist() for v in b] for b in tud.DataLoader(SeedProbe(torch), batch_size=2,
                                                            num_workers=2,
                                                            generator=gen_theirs)]
    assert got == want
    assert got[0][0] == [0, 0] and got[1][0] == [1, 1] and got[0][1][0] + 1 == got[1][1][0]
    assert get_worker_info() is None


def record_init(worker_id):
    info = get_worker_info()
    np.save(os.path.join(os.environ["INIT_DIR"], f"{worker_id}.npy"),
            np.array([worker_id, info.id, os.getpid()]))


def test_worker_init_fn_runs_in_each_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("INIT_DIR", str(tmp_path))
    list(DataLoader(tensor_dataset(), batch_size=4, num_workers=2, worker_init_fn=record_init))
    rows = sorted(np.load(tmp_path / f"{i}.npy").tolist() for i in range(2))
    assert [r[:2] for r in rows] == [[0, 0], [1, 1]]
    assert len({r[2] for r in rows} | {os.getpid()}) == 3      # two processes, not this one


class Failing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"sample {i} is broken")
        return i


def test_worker_exception_is_raised_here_as_torchs():
    with pytest.raises(ValueError) as ours:
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    with pytest.raises(ValueError) as theirs:
        list(tud.DataLoader(Failing(), batch_size=2, num_workers=2))
    mine, want = str(ours.value).splitlines(), str(theirs.value).splitlines()
    assert mine[:2] == want[:2]             # "Caught ValueError in DataLoader worker process 0."
    assert mine[-1] == want[-1] == "ValueError: sample 5 is broken"
    assert any("in __getitem__" in line for line in mine)     # the worker's traceback text


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(1)
        return i


def test_timeout_message_is_torchs():
    with pytest.raises(RuntimeError) as ours:
        next(iter(DataLoader(Slow(), num_workers=1, timeout=0.2)))
    with pytest.raises(RuntimeError) as theirs:
        next(iter(tud.DataLoader(Slow(), num_workers=1, timeout=0.2)))
    assert str(ours.value) == str(theirs.value)


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


def test_dead_worker_is_reported(monkeypatch):
    monkeypatch.setattr(_worker, "MP_STATUS_CHECK_INTERVAL", 0.2)
    loader = DataLoader(Dies(), num_workers=1)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited "
                                           r"unexpectedly"):
        next(iter(loader))


class Pids(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return os.getpid()


def test_persistent_workers_live_across_epochs_and_draw_one_seed():
    loader = DataLoader(Pids(), batch_size=2, num_workers=2, persistent_workers=True)
    tm.manual_seed(0)
    first = [b.tolist() for b in loader]
    second = [b.tolist() for b in loader]
    after = tm.rand(1).item()
    assert first == second and len({p for b in first for p in b}) == 2
    torch_loader = tud.DataLoader(list(range(6)), batch_size=2, num_workers=2,
                                  persistent_workers=True)
    torch.manual_seed(0)
    for _ in range(2):
        list(torch_loader)
    assert after == torch.rand(1).item()                      # the worker seed drawn once
    loader._iterator._shutdown_workers()


def test_prefetch_factor_bounds_the_requests_in_flight():
    it = iter(DataLoader(tensor_dataset(40), batch_size=2, num_workers=2, prefetch_factor=3))
    assert it._send_idx == 6 and it._tasks_outstanding == 6
    next(it)
    assert it._send_idx == 7 and it._tasks_outstanding <= 6
    it._shutdown_workers()
    with pytest.raises(ValueError, match="prefetch_factor option should be non-negative"):
        DataLoader(tensor_dataset(), num_workers=1, prefetch_factor=-1)


def shards_class(base, worker_info):
    class Shards(base):
        """range(n) split among the workers, as PyTorch's docs split an IterableDataset."""

        def __init__(self, n):
            self.n = n

        def __iter__(self):
            info = worker_info()
            k, count = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(k, self.n, count))
    return Shards


OurShards = shards_class(IterableDataset, get_worker_info)
TorchShards = shards_class(tud.IterableDataset, tud.get_worker_info)


@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (2, True), (None, False)])
def test_iterable_dataset_shards_as_torchs(batch_size, drop_last):
    def run(ds, loader_cls):
        out = []
        for b in loader_cls(ds, batch_size=batch_size, drop_last=drop_last, num_workers=2):
            out.append(b.tolist() if hasattr(b, "tolist") else b)
        return out
    assert run(OurShards(11), DataLoader) == run(TorchShards(11), tud.DataLoader)


def children():
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(os.getpid())], capture_output=True,
                         text=True).stdout
    return {int(p) for p in out.split()}


def test_ctrl_c_stops_the_workers_cleanly(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from tatamikomi.utils.data import DataLoader, Dataset

        class Slow(Dataset):
            def __len__(self):
                return 1000
            def __getitem__(self, i):
                time.sleep(0.05)
                return i

        try:
            for i, b in enumerate(DataLoader(Slow(), batch_size=2, num_workers=2)):
                if i == 2:
                    print("ready", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    """))
    # A shell without job control starts background commands with SIGINT ignored, and the
    # child would inherit that (a suite run by `cmd &` failed here): Ctrl-C's default for it.
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.killpg(proc.pid, signal.SIGINT)                  # as a terminal's Ctrl-C does
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "interrupted" in out, (proc.returncode, out, err[-3000:])
    assert "Traceback" not in err                           # workers exit quietly
    alive = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert alive.stdout.strip() == ""                       # no worker left behind


def test_workers_draw_random_tensors_under_the_default_threading_layer(tmp_path):
    # dcgan's `--dataset fake` with its default --workers 2: FakeData draws randn per item
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import tatamikomi as torch
        import tatamikomi.nn.functional as F
        from tatamikomi.vision import datasets, transforms

        class Big(torch.utils.data.Dataset):
            # the threaded fills and loops: randn and exponential_ past 2^14 values, group_norm
            def __len__(self):
                return 4

            def __getitem__(self, i):
                g = torch.Generator().manual_seed(i)
                x = torch.randn(1 << 15, generator=g)
                e = torch.empty(1 << 15).exponential_(generator=g)
                n = F.group_norm(x.reshape(2, 8, 32, 64), 4)
                return torch.stack([x.sum(), e.sum(), (n * n).sum()])

        data = datasets.FakeData(size=8, image_size=(3, 8, 8), transform=transforms.ToTensor())
        for workers in (0, 2):                  # in-process first: the parent's threads run
            loader = torch.utils.data.DataLoader(data, batch_size=4, num_workers=workers)
            big = torch.utils.data.DataLoader(Big(), batch_size=2, num_workers=workers)
            print([round(x.sum().item(), 4) for x, _ in loader],
                  [b.tolist() for b in big], flush=True)
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    in_process, workers = run.stdout.splitlines()
    assert in_process == workers

# ----- torch.multiprocessing: shared tensors

def add_one(params):
    for p in params:
        p.array += 1                                       # in place, as an optimizer step


def test_share_memory_lets_a_forked_child_update_weights():
    model = tm.nn.Linear(3, 2)
    tmp.share_module(model)
    assert all(tmp.is_shared(p) for p in model.parameters())
    before = [p.detach().numpy().copy() for p in model.parameters()]
    ctx = tmp.get_context("fork")
    procs = [ctx.Process(target=add_one, args=(list(model.parameters()),)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    for p, b in zip(model.parameters(), before):
        np.testing.assert_allclose(p.detach().numpy(), b + 2)  # Hogwild: both updates landed


def fill_from_queue(q, done):
    t = q.get()
    t.array[...] = 7
    done.put(float(t.array.sum()))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_tensor_sent_through_a_queue_is_shared(method):
    ctx = tmp.get_context(method)
    q, done = ctx.Queue(), ctx.Queue()
    t = tm.zeros(2, 3)
    p = ctx.Process(target=fill_from_queue, args=(q, done))
    p.start()
    q.put(t)
    assert done.get(timeout=60) == 42.0
    p.join()
    assert t.tolist() == [[7.0] * 3] * 2 and tmp.is_shared(t)   # moved, as torch's are
    torch_t = torch.zeros(2, 3)
    tq = torch.multiprocessing.get_context(method).Queue()
    tq.put(torch_t)
    tq.get()
    assert torch_t.is_shared() == tmp.is_shared(t)


def test_non_leaf_tensor_needing_grad_is_refused_as_torch():
    from multiprocessing.reduction import ForkingPickler  # both libraries register here
    with pytest.raises(RuntimeError) as ours:
        ForkingPickler.dumps(tm.ones(2, requires_grad=True) * 2)
    with pytest.raises(RuntimeError) as theirs:
        ForkingPickler.dumps(torch.ones(2, requires_grad=True) * 2)
    assert str(ours.value) == str(theirs.value)
