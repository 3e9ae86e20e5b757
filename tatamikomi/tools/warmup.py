"""Compile tatamikomi's kernels for this CPU now, into Numba's cache, so that later programs
start at once (a cold first training step otherwise spends seconds compiling).

Runs small versions of what CNN programs run: every conv kernel forward and backward, the
chapter's SimpleCNN training step (Adam) and inference, a ResNet block (batch norm, pools) and
a MobileNetV2 block (depthwise, ReLU6), group norm, and the random draws. Each compiled kernel
lands in Numba's cache: NUMBA_CACHE_DIR if set, else __pycache__ folders beside the package
(or a user cache folder where those cannot be written). Running it again finds them there.
"""
import time

import numba
from numba.core import event

from .. import (
    float32,
    float64,
    kernels,
    manual_seed,
    nn,
    no_grad,
    optim,
    rand,
    randint,
    randn,
    randperm,
    tensor,
)
from ..kernels import _jit, blocked
from ..nn import functional as F


def add_arguments(p):
    p.add_argument("--dtype", choices=("float32", "float64", "both"), default="float32",
                   help="the dtype(s) to compile for: kernels compile per dtype "
                        "(default: %(default)s)")


class _Count(event.Listener):
    """Counts the tatamikomi functions Numba compiles (not those it loads from the cache)."""

    def __init__(self):
        self.compiled, self.depth = 0, 0

    def on_start(self, ev):
        self.depth += 1
        module = getattr(ev.data["dispatcher"].py_func, "__module__", "") or ""
        self.compiled += self.depth == 1 and module.startswith("tatamikomi.")

    def on_end(self, ev):
        self.depth -= 1


def _convs(dtype):
    """Every conv kernel, forward and both gradients through autograd, with and without bias."""
    cases = {  # kernel -> (x shape, conv2d arguments)
        "blocked": [((2, 8, 12, 12), dict(padding=1)), ((2, 8, 12, 12), dict(stride=2)),
                    ((2, 1, 12, 12), dict(padding=1))],
        "im2col": [((2, 8, 12, 12), dict(padding=1)), ((2, 8, 12, 12), dict(stride=2))],
        "depthwise": [((2, 8, 12, 12), dict(padding=1, groups=8)),
                      ((2, 8, 12, 12), dict(padding=1, stride=2, groups=8))],
        "gemm1x1": [((2, 8, 12, 12), dict())],
        "winograd": [((2, 8, 12, 12), dict(padding=1))],
        "fft": [((2, 8, 12, 12), dict(padding=2))],
    }
    for name, shapes in cases.items():
        for x_shape, kw in shapes:
            C, G = x_shape[1], kw.get("groups", 1)
            k = {"gemm1x1": 1, "fft": 5}.get(name, 3)
            x = randn(*x_shape, dtype=dtype, requires_grad=True)
            w = randn(8, C // G, k, k, dtype=dtype, requires_grad=True)
            with kernels.use(name):
                for b in (None, randn(8, dtype=dtype, requires_grad=True)):
                    F.conv2d(x, w, b, **kw).sum().backward()


def _chapter(dtype):
    """The chapter's SimpleCNN: one Adam training step, then inference."""
    from .models import SimpleCNN
    model = SimpleCNN().to(dtype)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = randn(64, 1, 28, 28, dtype=dtype), randint(0, 10, (64,))
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    model.eval()
    with no_grad():
        model(x[:1]), model(x)


def _blocks(dtype):
    """A ResNet block (batch norm, 3x3 max pool, adaptive average pool) and a MobileNetV2 one
    (1x1, depthwise 3x3, ReLU6), trained one step with SGD and run in eval mode."""
    resnet = nn.Sequential(
        nn.Conv2d(3, 16, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1), nn.Conv2d(16, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, 10))
    mobile = nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(),
        nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.BatchNorm2d(32), nn.ReLU6(),
        nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16), nn.GroupNorm(4, 16),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, 10))
    x = randn(8, 3, 64, 64, dtype=dtype)
    for model in (resnet, mobile):
        model.to(dtype)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        F.cross_entropy(model(x), tensor([1] * 8)).backward()
        opt.step()
        model.eval()
        with no_grad():
            model(x)


def _draws(dtype):
    """The random draws of initialisation, dropout and shuffling."""
    randn(1000, dtype=dtype), rand(1000, dtype=dtype), randperm(1000), randint(0, 9, (1000,))
    nn.init.kaiming_uniform_(randn(64, 64, 3, 3, dtype=dtype))
    F.dropout(randn(1000, dtype=dtype), 0.5, training=True)


STEPS = (("random draws", _draws), ("conv kernels", _convs), ("SimpleCNN step", _chapter),
         ("ResNet and MobileNetV2 blocks", _blocks))


def main(args):
    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    tile = blocked.TILE
    where = numba.config.CACHE_DIR or "__pycache__ beside the package"
    print(f"Compiling tatamikomi's kernels for this CPU ({blocked.ISA or 'no vector ISA'}: "
          f"{tile.rows} x {tile.vecs} tiles of {tile.width}-byte vectors; "
          f"{numba.get_num_threads()} threads), cached in {where}.", flush=True)
    _jit._Announce.said = True                  # no "compiling ... once" line: we say it here
    count = _Count()
    event.register("numba:compile", count)
    manual_seed(0)
    start = total = time.perf_counter()
    try:
        for dtype in dtypes:
            for label, step in STEPS:
                before, start = count.compiled, time.perf_counter()
                step({"float32": float32, "float64": float64}[dtype])
                print(f"  {dtype} {label + ':':32} {count.compiled - before:3d} compiled "
                      f"in {time.perf_counter() - start:5.1f} s", flush=True)
    finally:
        event.unregister("numba:compile", count)
    took = time.perf_counter() - total
    if count.compiled:
        print(f"{count.compiled} kernels compiled in {took:.1f} s; programs load them from the "
              "cache from now on.")
    else:
        print(f"Every kernel was in the cache already ({took:.1f} s).")
    return 0
