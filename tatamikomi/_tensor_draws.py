"""Tensor's in-place random draws: PyTorch's values and order (kernels/mt19937.py, sampling.py).

A mixin of Tensor: x.uniform_(), normal_(), bernoulli_(), exponential_(), random_() fill x's
own memory from the default (or a given) generator's engine, as PyTorch's CPU kernels do.
"""
import warnings

import numpy as np

from . import dtypes
from .kernels import mt19937, sampling


class Draws:
    """The draws every Tensor has; they use its _check_inplace, array, dtype and _bump."""

    def _draw(self, fill, *args, generator=None, floating=None):
        """fill(engine, array, *args) in place; floating names the kernel ints lack."""
        self._check_inplace()
        if floating and not self.dtype.is_floating_point:
            raise NotImplementedError(f"\"{floating}\" not implemented for "
                                      f"'{self.dtype.torch_name}'")
        engine = mt19937.DEFAULT if generator is None else generator._engine
        fill(engine, self.array, *args)
        self._bump()
        return self

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        if a > b:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={a:g} > to={b:g}")
        return self._draw(sampling.uniform_, a, b, generator=generator,
                          floating="check_uniform_bounds")

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        return self._draw(sampling.normal_, mean, std, generator=generator,
                          floating="normal_kernel_cpu")

    def bernoulli_(self, p=0.5, *, generator=None):
        if hasattr(p, "array"):                     # a tensor of probabilities
            if not ((p.array >= 0) & (p.array <= 1)).all():
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  "
                                   "(Could this error message be improved?  If so, please "
                                   "report an enhancement request to PyTorch.)")
            p = np.broadcast_to(p.array, self.array.shape)
        elif not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        return self._draw(sampling.bernoulli_, p, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"Exponential distribution is a continuous probability "
                               f"distribution. dtype must be a floating point but you specified "
                               f"{self.dtype.torch_name}")
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
        return self._draw(sampling.exponential_, lambd, generator=generator)

    def random_(self, *bounds, generator=None):
        """random_(): the dtype's whole range; random_(to), random_(from, to): [from, to)."""
        if not bounds:
            return self._draw(sampling.random_full_, generator=generator)
        low, high = (0,) + bounds if len(bounds) == 1 else bounds
        if high is None:                    # up to the dtype's largest exact integer
            high = sampling.FULL_RANGE[self.array.dtype] - (not self.dtype.is_floating_point)
        if low >= high:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={low} >= to={high}")
        _random_bounds(self.dtype, low, high)
        return self._draw(sampling.random_, low, high, generator=generator)


def _random_bounds(dt, low, high):
    """PyTorch's limits on random_(from, to): errors for integers, a warning for floats."""
    if dt.is_floating_point:
        digits = {2: 11, 4: 24, 8: 53}[dt.itemsize]
        for name, v in (("from", low), ("to - 1", high - 1)):
            if not -2 ** digits <= v <= 2 ** digits:
                warnings.warn(f"{name} is out of bounds [-(2^{digits}), 2^{digits}]. Due to "
                              f"precision limitations {dt.c_name} can support discrete uniform "
                              f"distribution only within this range. This warning will become "
                              f"an error in version 1.7 release, please fix the code in "
                              f"advance", stacklevel=3)
        return
    info = np.iinfo(dt.np) if dt != dtypes.bool else np.iinfo(np.uint8)
    top = 1 if dt == dtypes.bool else info.max
    if low < info.min:
        raise RuntimeError(f"from is out of bounds for {dt.c_name}")
    if high - 1 > top:
        raise RuntimeError(f"to - 1 is out of bounds for {dt.c_name}")
