"""What `import tatamikomi` sets up for speed: Numba's thread pool and glibc's heap."""
import os
import subprocess
import sys


def _run(code, **env):
    """Run code in a fresh interpreter with extra environment; its stdout, stripped."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("NUMBA_THREADING_LAYER", "OMP_WAIT_POLICY", "TATAMIKOMI_KEEP_HEAP",
                         "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    out = subprocess.run([sys.executable, "-c", code], env={**full, **env}, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_numba_pool_is_openmp_and_the_wait_policy_does_not_leak():
    code = ("import os, tatamikomi, numba; "
            "print(numba.threading_layer(), 'OMP_WAIT_POLICY' in os.environ)")
    assert _run(code) == "omp False"
    assert _run(code, OMP_WAIT_POLICY="active") == "omp True"           # the user's choice stays


def test_workqueue_when_torch_came_first_or_when_asked():
    code = "import torch, tatamikomi, numba; print(numba.threading_layer())"
    assert _run(code) == "workqueue"
    code = "import tatamikomi, numba; print(numba.threading_layer())"
    assert _run(code, NUMBA_THREADING_LAYER="workqueue") == "workqueue"


def test_keep_heap_applies_unless_turned_off():
    code = "import tatamikomi; print(tatamikomi._keep_heap())"
    assert _run(code) == "True"
    assert _run(code, TATAMIKOMI_KEEP_HEAP="0") == "False"
    assert _run(code, MALLOC_TRIM_THRESHOLD_="1000000") == "False"     # the user's setting wins
