"""tatamikomi: PyTorch's CNN API on NumPy and Numba. `import tatamikomi as torch`."""
import os

# On 2 cores, Numba's default OpenMP-style pool and OpenBLAS's pool spin-wait against each other
# (PERF_NOTES trap 1). These only take effect before NumPy/Numba load, and only if the user has
# not chosen otherwise.
# workqueue matters most: when torch was imported first, Numba would otherwise pick OpenMP and an
# im2col followed by a GEMM took 1.5-2x longer (measured, see kernels/im2col.py).
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from . import autograd, dtypes, ops
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (arange, as_tensor, cat, empty, empty_like, eye, from_numpy, full,
                       full_like, linspace, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, stack, tensor, zeros, zeros_like)
from .device import cuda, device
from .dtypes import (bool, dtype, float16, float32, float64, get_default_dtype, int8, int16,
                     int32, int64, promote_types, uint8)
from .functions import (argmax, argmin, clamp, exp, flatten, is_tensor, log, matmul, max,
                        maximum, mean, min, minimum, numel, permute, relu, reshape, sigmoid,
                        squeeze, sum, tanh, transpose, unsqueeze, where)
from .random import Generator, get_rng_state, initial_seed, manual_seed, set_rng_state
from .serialization import load, save
from .tensor import Size, Tensor

float = float32  # PyTorch's aliases
double = float64
half = float16
long = int64
int = int32
from . import nn, optim, utils  # as torch.nn, torch.optim, torch.utils come with `import torch`

__version__ = "0.1.0"
