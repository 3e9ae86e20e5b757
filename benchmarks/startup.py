"""Time from a fresh process to a first result: tatamikomi on a cold and a warm Numba cache,
PyTorch on the same calls, each run in its own process.

    python benchmarks/startup.py [--repeats 3] [--avx2]

Two programs, each timed from the interpreter's start (python -c) to its result:
  first conv   `import tatamikomi as torch; nn.Conv2d(1, 32, 3, padding=1)(x)`, x an MNIST
               batch (64, 1, 28, 28) from torch.randn;
  first step   the chapter's SimpleCNN, one Adam training step on a batch of 64: what
               `python -m tatamikomi train` does before its first progress tick.
Cold: a fresh, empty NUMBA_CACHE_DIR (every kernel compiles); warm: the same folder again.
--avx2 compiles AVX2 code (NUMBA_CPU_NAME=haswell and AVX2 features, a cache of its own) and
holds PyTorch to AVX2 (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA). Medians over --repeats.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AVX2_FEATURES = ("+64bit,+avx,+avx2,+fma,+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,"
                 "+f16c,+bmi,+bmi2,+lzcnt,+movbe")

CONV = """
import {lib} as torch
import {lib}.nn as nn
x = torch.randn(64, 1, 28, 28)
y = nn.Conv2d(1, 32, 3, padding=1)(x)
print(float(y.sum()))
"""

STEP = """
import importlib.util
import {lib} as torch
import {lib}.nn as nn
import {lib}.nn.functional as F
spec = importlib.util.spec_from_file_location("m", {models!r})
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
torch.manual_seed(0)
model = m.simple_cnn_class(nn, F)()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x, t = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
opt.zero_grad()
loss = F.cross_entropy(model(x), t)
loss.backward()
opt.step()
print(float(loss))
"""

PROGRAMS = {"first conv": CONV, "first step": STEP}


def run(code, env):
    """Seconds from starting `python -c code` to its exit (it prints one number)."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, text=True,
                          capture_output=True)
    took = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"benchmark program failed:\n{done.stderr[-3000:]}")
    return took


def environments(avx2, cache):
    ours = dict(os.environ, NUMBA_CACHE_DIR=cache)
    theirs = dict(os.environ)
    if avx2:
        ours.update(NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=AVX2_FEATURES)
        theirs.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2")
    return ours, theirs


def main(args):
    models = str(ROOT / "tatamikomi" / "tools" / "models.py")
    rows = []
    for name, template in PROGRAMS.items():
        ours_code = template.format(lib="tatamikomi", models=models)
        theirs_code = template.format(lib="torch", models=models)
        cold, warm, torch_s = [], [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
                ours, theirs = environments(args.avx2, cache)
                cold.append(run(ours_code, ours))
                warm.append(run(ours_code, ours))
            torch_s.append(run(theirs_code, theirs))
        rows.append((name, *(statistics.median(v) for v in (cold, warm, torch_s))))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{'AVX2 code' if args.avx2 else 'native code'}, {os.cpu_count()} CPUs, load average "
          f"{load:.1f}; seconds from process start to result, medians of {args.repeats}")
    print(f"{'program':12} {'cold':>7} {'warm':>7} {'torch':>7} {'cold/torch':>11} "
          f"{'warm/torch':>11}")
    for name, c, w, t in rows:
        print(f"{name:12} {c:7.2f} {w:7.2f} {t:7.2f} {c / t:11.2f} {w / t:11.2f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default: 3)")
    parser.add_argument("--avx2", action="store_true",
                        help="compile AVX2 code and hold PyTorch to AVX2")
    raise SystemExit(main(parser.parse_args()))
