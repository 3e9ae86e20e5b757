"""The random generators: one default that manual_seed resets; init, dropout and shuffle use it."""
import numpy as np


class Generator:
    """A seeded source of random numbers (wraps numpy's PCG64)."""

    def __init__(self, device="cpu"):
        self._seed = 67280421310721                       # PyTorch's default seed, for flavour
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.np.bit_generator.state

    def set_state(self, state):
        self.np.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed):
    """Make every later random draw reproducible."""
    return default_generator.manual_seed(seed)


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)
