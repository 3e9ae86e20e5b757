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


# Whether a fresh 10 MB array came from mmap (glibc's default for big blocks) or from the heap
# that `import tatamikomi` keeps: glibc's own count of mmapped bytes says it (mallinfo2).
MMAPPED = """
import ctypes
{imports}
import numpy as np
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                "usmblks", "fsmblks", "uordblks", "fordblks",
                                                "keepcost")]
info = ctypes.CDLL(None).mallinfo2
info.restype = Info
before = info().hblkhd
a = np.ones(10 << 20, np.uint8)
print(info().hblkhd - before >= 10 << 20)
"""


def test_import_keeps_big_arrays_in_the_heap_unless_turned_off():
    assert _run(MMAPPED.format(imports="")) == "True"              # glibc alone: mmapped
    assert _run(MMAPPED.format(imports="import tatamikomi")) == "False"
    assert _run(MMAPPED.format(imports="import tatamikomi"), TATAMIKOMI_KEEP_HEAP="0") == "True"
    # the user's own setting wins: a 1 MB mmap threshold from the environment stays
    assert _run(MMAPPED.format(imports="import tatamikomi"),
                MALLOC_MMAP_THRESHOLD_="1000000") == "True"
    code = "import tatamikomi; print(tatamikomi._keep_heap())"
    assert _run(code, TATAMIKOMI_KEEP_HEAP="0") == "False"
