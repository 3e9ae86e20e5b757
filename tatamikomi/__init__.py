"""tatamikomi: PyTorch's CNN API on NumPy and Numba. `import tatamikomi as torch`."""
import builtins
import os
import sys

# On 2 cores, Numba's thread pool and OpenBLAS's pool must not spin-wait against each other: a
# pool that spins after its loop keeps a core from the other pool's next loop. These only take
# effect before NumPy/Numba load, and only if the user has not chosen otherwise. Numba's OpenMP
# pool with passive waiting (set in kernels/_jit.py, seen by Numba's OpenMP runtime only)
# handed the cores back and forth fastest: the conv suite's forward+backward ran 0-30 % faster
# than with the workqueue pool, depthwise and dilated most (`python benchmarks/conv.py
# --no-torch`, both settings in turn). Where torch is already loaded its OpenMP runtime is up
# too, and an im2col followed by a GEMM took 1.5-2x longer on OpenMP than on workqueue
# (measured), so that case keeps workqueue. Without an OpenMP runtime Numba falls back to
# workqueue by the priority list. These measurements predate run_tasks: no kernel runs a
# Numba parallel loop now (kernels/_jit.py says why), so the layer sets thread counts only.
if "NUMBA_THREADING_LAYER" not in os.environ:
    os.environ["NUMBA_THREADING_LAYER"] = "workqueue" if "torch" in sys.modules else "default"
    os.environ.setdefault("NUMBA_THREADING_LAYER_PRIORITY", "omp workqueue tbb")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


# glibc reads the same two settings from these variables at start-up: a benchmark gives them to
# the PyTorch process it compares with, so both run under one allocator setup (see _keep_heap).
_MMAP_THRESHOLD, _TRIM_THRESHOLD = 32 << 20, 256 << 20
HEAP_ENV = {"MALLOC_MMAP_THRESHOLD_": str(_MMAP_THRESHOLD),
            "MALLOC_TRIM_THRESHOLD_": str(_TRIM_THRESHOLD)}


def _keep_heap():
    """Keep freed memory in glibc's heap instead of returning it to the OS.

    glibc serves blocks above its mmap threshold with fresh mappings and unmaps them on free, and
    trims the heap's top; a training step frees and reallocates the same MB-sized arrays, so
    every step page-faults them in again. MNIST SimpleCNN step on 2 cores:
    36 -> 26.5 ms with mmap threshold 32 MB and trim threshold 256 MB (the trim setting alone
    disables glibc's adaptive mmap threshold and made it slower, 42 ms). The cost is a larger
    resident heap. Skipped without glibc's mallopt, or when the user set either MALLOC_* variable
    or TATAMIKOMI_KEEP_HEAP=0; returns whether it applied.
    """
    # builtins.any: this module's own `any` is torch.any by the time anyone calls this again
    if os.environ.get("TATAMIKOMI_KEEP_HEAP", "1") == "0" or builtins.any(
            k in os.environ for k in HEAP_ENV):
        return False
    import ctypes
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)     # glibc (musl's is a no-op)
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3               # from <malloc.h>
    return (mallopt(m_mmap_threshold, _MMAP_THRESHOLD) == 1
            and mallopt(m_trim_threshold, _TRIM_THRESHOLD) == 1)


_keep_heap()

from . import autograd, dtypes, ops
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .creation import (
    arange,
    as_tensor,
    bernoulli,
    cat,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    stack,
    tensor,
    zeros,
    zeros_like,
)
from .device import cuda, device
from .dtypes import (
    bool,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    uint8,
)
from .functions import (
    argmax,
    argmin,
    clamp,
    exp,
    flatten,
    is_tensor,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    numel,
    permute,
    relu,
    reshape,
    sigmoid,
    squeeze,
    sum,
    tanh,
    transpose,
    unsqueeze,
    where,
)
from .ops.indexing import (
    argsort,
    gather,
    index_select,
    masked_fill,
    nonzero,
    scatter,
    scatter_add,
    sort,
    topk,
)
from .ops.matmul import bmm, dot, einsum, mm, mv, outer
from .ops.shape import (
    chunk,
    flip,
    meshgrid,
    movedim,
    narrow,
    repeat_interleave,
    roll,
    split,
    tile,
    unbind,
)
from .ops.stats import (
    all,
    amax,
    amin,
    any,
    count_nonzero,
    cumsum,
    logsumexp,
    norm,
    prod,
    std,
    std_mean,
    var,
    var_mean,
)
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .serialization import load, save
from .tensor import Size, Tensor

float = float32  # PyTorch's aliases
double = float64
half = float16
long = int64
int = int32
# Stand-ins that let CPU programs run as written (each module's docstring says what it does).
from . import (  # as torch.nn, torch.optim, torch.utils come with `import torch`
    accelerator,
    amp,
    jit,
    multiprocessing,
    nn,
    optim,
    utils,
)
from . import functions as _functions
from ._settings import (
    are_deterministic_algorithms_enabled,
    compile,
    get_float32_matmul_precision,
    get_num_interop_threads,
    get_num_threads,
    is_deterministic_algorithms_warn_only_enabled,
    set_default_dtype,
    set_float32_matmul_precision,
    set_num_interop_threads,
    set_num_threads,
    use_deterministic_algorithms,
)
from .amp import autocast
from .backends import cuda as _backends_cuda
from .backends import cudnn as _cudnn
from .backends import mps as _mps
from .nn import parallel as _parallel  # makes torch.nn.parallel an attribute

for _name in ops.math.UNARY:         # torch.sin(x) and the rest, with torch's argument checks
    globals().setdefault(_name, _functions._method(_name))

from . import onnx  # torch.onnx.export works after `import torch`


def __getattr__(name):
    """torch.hub after `import torch` alone, loaded on first use (it brings vision in)."""
    if name == "hub":
        import importlib
        return importlib.import_module("tatamikomi.hub")
    raise AttributeError(f"module 'tatamikomi' has no attribute '{name}'")


__version__ = "0.1.0"
