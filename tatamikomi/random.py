"""torch.random: Generator, manual_seed, seed, the default generator's state and fork_rng.

Every draw in the library goes through PyTorch's CPU engine (an mt19937, kernels/mt19937.py) and
its transforms (kernels/sampling.py), so after manual_seed(s) the library draws PyTorch's
numbers: the same weights, dropout masks and shuffles, and a seeded program trains to the same
digits. States are PyTorch's 5056-byte uint8 tensors and move between the two libraries.
"""
import contextlib
import os

import numpy as np

from . import dtypes
from .device import device as _device
from .kernels import mt19937
from .tensor import Tensor

SEED_RANGE = (-2 ** 63, 2 ** 64 - 1)
OVERFLOW = "Overflow when unpacking long long"


class Generator:
    """A source of random numbers with its own state; pass it as `generator=` to any draw."""

    def __init__(self, device="cpu"):
        self._device = _device(device)
        self._engine = mt19937.Engine()

    @classmethod
    def _around(cls, engine):
        g = cls.__new__(cls)
        g._device, g._engine = _device("cpu"), engine
        return g

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed):
        """Reseed; a negative seed counts from 2^64 (PyTorch's two's complement)."""
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {dtypes.type_name(seed)}")
        if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
            raise ValueError(OVERFLOW)
        self._engine.manual_seed(int(seed) % 2 ** 64)
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the new seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self._engine.manual_seed(s)
        return s

    def initial_seed(self):
        return self._engine.initial_seed

    def get_state(self):
        """The state as PyTorch lays it out: a uint8 tensor of 5056 bytes."""
        return Tensor._make(self._engine.to_bytes())

    def set_state(self, new_state):
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a tatamikomi.ByteTensor, but got "
                            f"{dtypes.type_name(new_state)}")
        if new_state.dtype != dtypes.uint8:
            raise TypeError("RNG state must be a tatamikomi.ByteTensor")
        if new_state.numel() != mt19937.STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size "
                               f"{mt19937.STATE_BYTES} but found the input RNG state size to be "
                               f"{new_state.numel()}")
        if not self._engine.from_bytes(new_state.array.reshape(-1)):
            raise RuntimeError("Invalid mt19937 state")
        return self

    def __reduce__(self):                       # pickle and deepcopy keep the state
        return _rebuild, (str(self._device), self._engine.to_bytes().tobytes())


def _rebuild(device, state):
    g = Generator(device)
    g._engine.from_bytes(np.frombuffer(state, np.uint8))
    return g


default_generator = Generator._around(mt19937.DEFAULT)


def manual_seed(seed):
    """Seed the default generator; returns it. Any int-convertible seed (int(seed))."""
    return default_generator.manual_seed(int(seed))


def seed():
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type=None):
    """Restore the default generator's state on exit (CPU only: there is no other device)."""
    if not enabled or device_type == "meta":
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
