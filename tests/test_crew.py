"""The kernels' thread crew (_jit.run_tasks, split_flat) and the compile announcement."""
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from tatamikomi.kernels._jit import njit, run_tasks, split_flat

ROOT = Path(__file__).resolve().parents[1]


@njit
def _mark(t0, t1, out, seen):
    for t in range(t0, t1):
        out[t] = t
        seen[t] += 1


@pytest.mark.parametrize("tasks", [0, 1, 2, 3, 17, 1000])
@pytest.mark.parametrize("parallel", [True, False])
def test_every_task_runs_once(tasks, parallel):
    out, seen = np.full(tasks, -1), np.zeros(tasks, np.int64)
    run_tasks(_mark, tasks, out, seen, parallel=parallel)
    np.testing.assert_array_equal(out, np.arange(tasks))
    np.testing.assert_array_equal(seen, np.ones(tasks, np.int64))


def test_the_crew_keeps_no_array_of_a_finished_job():
    """A worker's last job held its arrays (a layer's input and output) until its next job."""
    import gc
    import weakref
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        out, seen = np.zeros(8, np.int64), np.zeros(8, np.int64)
        refs = [weakref.ref(out), weakref.ref(seen)]
        run_tasks(_mark, 8, out, seen)
        np.testing.assert_array_equal(seen, np.ones(8, np.int64))
        del out, seen
        gc.collect()
        assert [r() is None for r in refs] == [True, True]
    finally:
        numba.set_num_threads(old)


def test_slices_run_on_more_than_one_thread_and_follow_set_num_threads():
    import threading
    names = set()

    def record(t0, t1):
        names.add(threading.current_thread().name)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        run_tasks(record, 8)
        assert len(names) == numba.get_num_threads()
        names.clear()
        numba.set_num_threads(1)
        run_tasks(record, 8)
        assert names == {threading.current_thread().name}
    finally:
        numba.set_num_threads(old)


def test_an_error_in_any_slice_reaches_the_caller():
    def fail_late(t0, t1):
        if t1 == 10:                                # the last slice: a worker's, with 2+ threads
            raise ValueError(f"slice {t0}:{t1}")
    with pytest.raises(ValueError, match="slice"):
        run_tasks(fail_late, 10)
    run_tasks(lambda t0, t1: None, 10)              # the crew still works afterwards


@njit
def _axpy(x, y, out, a):
    for i in range(x.size):
        out[i] = a * x[i] + y[i]


@pytest.mark.parametrize("n", [1, 2, 7, 1001])
def test_split_flat_cuts_only_the_arrays_as_long_as_the_first(n):
    x, y = np.arange(n, dtype=np.float64), np.ones(n)
    out = np.zeros(n)
    split_flat(_axpy)(x, y, out, 2.0)
    np.testing.assert_array_equal(out, 2.0 * x + 1.0)


def _child(q):
    out, seen = np.full(50, -1), np.zeros(50, np.int64)
    run_tasks(_mark, 50, out, seen)
    q.put(bool((out == np.arange(50)).all() and (seen == 1).all()))


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX")
def test_a_forked_child_hires_its_own_crew():
    run_tasks(_mark, 50, np.zeros(50, np.int64), np.zeros(50, np.int64))     # crew started
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    assert q.get(timeout=120) is True
    p.join(timeout=60)
    assert p.exitcode == 0


def test_a_cold_cache_is_announced_once_and_a_warm_one_not_at_all(tmp_path):
    """A fresh NUMBA_CACHE_DIR: one line on stderr, however many kernels compile; then none."""
    code = ("import numpy as np, tatamikomi as t, tatamikomi.nn as nn\n"
            "nn.Conv2d(1, 8, 3, padding=1)(t.ones(1, 1, 9, 9)).sum().backward()\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                           capture_output=True, timeout=600) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    cold = runs[0].stderr.splitlines()
    assert len(cold) == 1 and "compiling kernels for this CPU, once" in cold[0], cold
    assert "python -m tatamikomi warmup" in cold[0]
    assert runs[1].stderr == ""
