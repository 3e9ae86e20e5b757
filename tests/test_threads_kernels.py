"""Two threads in the parallel kernels at once, under each Numba threading layer we choose."""
import os
import subprocess
import sys

import pytest

# Run in a fresh interpreter: the threading layer is fixed by the first import of the process.
# Every parallel loop runs (PARALLEL_MIN 0), each thread on its own data, and each result must
# equal what the same call gave before the threads started.
CODE = """
import {first}
import threading
import numpy as np
import tatamikomi as tm
import tatamikomi.nn.functional as F
from tatamikomi.kernels import ConvSpec, blocked, depthwise, elementwise, im2col, winograd
import numba

for m in (im2col, depthwise, blocked, elementwise):
    m.PARALLEL_MIN = 0
spec = ConvSpec.make((2, 4, 9, 9), (4, 4, 3, 3), padding=(1, 1), dtype="float64")
dw = ConvSpec.make((2, 4, 9, 9), (4, 1, 3, 3), padding=(1, 1), groups=4, dtype="float64")


def work(seed):
    rng = np.random.default_rng(seed)
    x, w, gy = (rng.standard_normal(s) for s in (spec.x_shape, spec.w_shape, spec.y_shape))
    wd = rng.standard_normal(dw.w_shape)
    out = []
    for k in (im2col, blocked, winograd):
        out += [k.forward(x, w, spec), k.grad_input(gy, w, spec), k.grad_weight(x, gy, spec)]
    out += [depthwise.forward(x, wd, dw), depthwise.grad_input(gy, wd, dw),
            depthwise.grad_weight(x, gy, dw)]
    t = tm.tensor(x, requires_grad=True)
    y = F.max_pool2d(F.relu(t), 3) + F.avg_pool2d(t, 3)
    y.sum().backward()
    return out + [y.detach().numpy(), t.grad.numpy()]


refs = [work(seed) for seed in range(2)]
bad = []


def check(seed):
    for _ in range(20):
        for a, b in zip(work(seed), refs[seed]):
            if not np.array_equal(a, b):
                bad.append(seed)


threads = [threading.Thread(target=check, args=(seed,)) for seed in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(numba.threading_layer(), "mismatches", len(bad))
"""


def _run(first, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "OMP_"))}
    return subprocess.run([sys.executable, "-c", CODE.format(first=first)], env={**clean, **env},
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("first,layer", [("torch", "workqueue"), ("os", "omp")])
def test_two_threads_in_parallel_kernels(first, layer):
    """torch imported first leaves Numba on workqueue, which aborted the process (exit 134) when
    two threads entered parallel loops at once; OpenMP is the layer without torch."""
    out = _run(first)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [layer, "mismatches", "0"]
