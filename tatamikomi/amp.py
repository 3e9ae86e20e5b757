"""torch.amp: autocast and GradScaler, as PyTorch's CPU build runs them.

autocast("cpu") is accepted and changes nothing: PyTorch would run matmul, linear and conv in
bfloat16 inside it, but tatamikomi has no bfloat16, so they stay in float32 (more precise than
PyTorch's results there; the output dtype is float32 where PyTorch's is bfloat16 or float16).
autocast("cuda") warns and disables itself, as PyTorch does without CUDA.

GradScaler("cpu") scales the loss and unscales the gradients for real, skipping steps whose
gradients overflowed; GradScaler("cuda") warns and does nothing, as PyTorch's CPU build does.
"""
import functools
import math
import warnings

import numpy as np

from .autograd import no_grad
from .device import _parse, cuda
from .tensor import Tensor

_CPU_DTYPES = "torch.bfloat16, torch.float16"


class autocast:  # noqa: N801 - PyTorch's public name
    """Context manager (or decorator) for mixed precision; see the module docstring."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        _parse(device_type, None)                    # PyTorch's error for an unknown type
        self.device, self.fast_dtype, self._enabled = device_type, dtype, enabled
        if device_type == "cuda" and enabled:
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                          stacklevel=2)
            self._enabled = False
        elif device_type == "cpu" and enabled and dtype is not None and \
                f"torch.{getattr(dtype, 'name', dtype)}" not in _CPU_DTYPES.split(", "):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          f"autocast.\nCPU Autocast only supports dtypes of {_CPU_DTYPES} "
                          "currently.", stacklevel=2)
            self._enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return run


class GradScaler:
    """Loss scaling (Micikevicius et al., 2018): multiply the loss by `scale` before backward,
    divide the gradients by it before the step, skip steps whose gradients hold inf or NaN and
    then halve the scale; double it after growth_interval good steps."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device, self._enabled = device, enabled
        if device == "cuda" and enabled:
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale, self._scale = init_scale, None
            self._growth_factor, self._backoff_factor = growth_factor, backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker, self._growth_tracker = 0, None
            self._stages = {}                     # id(optimizer) -> (stage, found inf)

    def _start(self):
        """The scale (a float32 0-d tensor, as PyTorch's) and the count of good steps."""
        if self._scale is None:
            self._scale = Tensor._make(np.array(self._init_scale, np.float32))
            self._growth_tracker = self._init_growth_tracker

    def _check(self, funcname):
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate "
                                 "your script did not use scaler.scale(loss or outputs) earlier "
                                 "in the iteration.")

    def scale(self, outputs):
        """outputs * scale: a tensor, or every tensor in a (nested) list or tuple."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            self._start()
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if hasattr(outputs, "__iter__"):
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale in place (once per step)."""
        if not self._enabled:
            return
        self._check("unscale_")
        stage = self._stages.get(id(optimizer), ("ready", False))[0]
        if stage == "unscaled":
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if stage == "stepped":
            raise RuntimeError("unscale_() is being called after step().")
        inv = np.float32(1.0 / float(self._scale.array))    # reciprocal in double, as PyTorch
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.dtype.torch_name == "Half":
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    g = p.grad.array
                    found |= not np.isfinite(g).all()
                    g *= inv
        self._stages[id(optimizer)] = ("unscaled", found)

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step(), unless the unscaled gradients hold an inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check("step")
        stage = self._stages.get(id(optimizer), ("ready", False))[0]
        if stage == "stepped":
            raise RuntimeError("step() has already been called since the last update().")
        if stage == "ready":
            self.unscale_(optimizer)
        found = self._stages[id(optimizer)][1]
        out = None if found else optimizer.step(*args, **kwargs)
        self._stages[id(optimizer)] = ("stepped", found)
        return out

    def update(self, new_scale=None):
        """Back off after an overflow, grow after growth_interval clean steps (or set it)."""
        if not self._enabled:
            return
        self._check("update")
        if new_scale is not None:
            self._scale.array[...] = float(new_scale)
        else:
            if not self._stages:
                raise AssertionError("No inf checks were recorded prior to update.")
            scale = self._scale.array
            if any(found for _, found in self._stages.values()):
                scale *= np.float32(self._backoff_factor)
                self._growth_tracker = 0
            elif self._growth_tracker + 1 == self._growth_interval:
                grown = scale * np.float32(self._growth_factor)
                if math.isfinite(grown):                    # never grow into infinity
                    scale[...] = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
        self._stages = {}

    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.array)

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def is_enabled(self):
        return self._enabled

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._scale is None else self._growth_tracker

    def state_dict(self):
        """PyTorch's keys; empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.array[...] = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._scale is not None:
            self._growth_tracker = state_dict["_growth_tracker"]


class _CudaAmp:
    """torch.cuda.amp: the deprecated spellings of autocast("cuda") and GradScaler("cuda")."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        return autocast("cuda", dtype, enabled, cache_enabled)

    @staticmethod
    def GradScaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                   growth_interval=2000, enabled=True):
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        return GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                          enabled)


cuda.amp = _CudaAmp                    # device.py sits below this module and cannot import it
