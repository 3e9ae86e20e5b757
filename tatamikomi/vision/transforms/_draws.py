"""A batch's worth of the one-word draws random transforms make, taken in one call.

torch.randint(0, n, (1,)) for n below 2^28 is one 32-bit word w of the generator, as w % n;
torch.rand(1) is one word, as (w & 0xFFFFFF) / 2^24 in float32. Compose's batch path asks for
all of a batch's words at once, in the order the per-sample path would draw them, instead of
a tensor-making call per draw (~70 us each).
"""
import numpy as np

from ... import random
from ...kernels import mt19937

SMALL = 1 << 28                       # spans below this take one word (kernels/sampling.py)


def words(n, generator=None):
    """The generator's next n 32-bit words. Shapes: -> (n,) uint32."""
    e = (generator or random.default_generator)._engine
    out = np.empty(n, np.uint32)
    if n:
        mt19937.fill32(e.mt, e.pos, out)
    return out


def below(w, n):
    """randint(0, n) from words w (n < 2^28). Shapes: w (k,) -> (k,) int64."""
    return (w % np.uint32(n)).astype(np.int64)


def uniform01(w):
    """rand(1) from words w, in float32. Shapes: w (k,) -> (k,) float32."""
    return (w & np.uint32(0xFFFFFF)).astype(np.float32) * np.float32(2.0 ** -24)
