"""PyTorch's CPU random engine, bit for bit: a 32-bit Mersenne Twister (Matsumoto & Nishimura,
1998) with PyTorch's seeding and its 5056-byte state layout.

The twister's state is 624 words `mt` plus PyTorch's two counters `pos = [left, next]`: the next
draw regenerates all 624 words when `left` falls to 0, then returns word `next`. A seed reaches
the twister through its low 32 bits only (PyTorch keeps all 64 for initial_seed()). A 64-bit draw
is two 32-bit ones, the first in the high half. Distributions built on these draws live in
kernels/sampling.py.
"""
import numpy as np

from ._jit import njit

N, M = 624, 397
DEFAULT_SEED = 67280421310721           # PyTorch's default CPU seed
STATE_BYTES = 5056                      # the size of PyTorch's CPU generator state


@njit
def seed(mt, pos, s):
    """Fill mt from a 32-bit seed (Knuth's multiplier, as the reference init_genrand)."""
    x = np.uint64(s) & np.uint64(0xFFFFFFFF)
    mt[0] = x
    for j in range(1, N):
        x = (np.uint64(1812433253) * (x ^ (x >> np.uint64(30))) + np.uint64(j)) \
            & np.uint64(0xFFFFFFFF)
        mt[j] = x
    pos[0] = 1                          # left = 1: the first draw regenerates first
    pos[1] = 0


@njit
def _twist(mt):
    """Regenerate all N words: word i mixes its top bit with word i+1's low 31, through the
    word M ahead (wrapping). Three loops instead of index wrapping let LLVM vectorise."""
    for i in range(N - M):
        mt[i] = _mix(mt[i], mt[i + 1], mt[i + M])
    for i in range(N - M, N - 1):
        mt[i] = _mix(mt[i], mt[i + 1], mt[i + M - N])
    mt[N - 1] = _mix(mt[N - 1], mt[0], mt[M - 1])


@njit
def _mix(a, b, far):
    y = (np.uint32(a) & np.uint32(0x80000000)) | (np.uint32(b) & np.uint32(0x7FFFFFFF))
    odd = np.uint32(0x9908B0DF) if y & np.uint32(1) else np.uint32(0)
    return np.uint32(far) ^ (y >> np.uint32(1)) ^ odd


@njit
def _temper(w):
    y = np.uint32(w)
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    return y ^ (y >> np.uint32(18))


@njit
def draw(mt, left, nxt):
    """One tempered 32-bit word as uint64, and the counters after it: (word, left, next)."""
    left -= 1
    if left == 0:
        _twist(mt)
        left, nxt = N, 0
    return np.uint64(_temper(mt[nxt])), left, nxt + 1


@njit
def draw64(mt, left, nxt):
    """Two draws as one 64-bit word, the first in the high half: (word, left, next)."""
    hi, left, nxt = draw(mt, left, nxt)
    lo, left, nxt = draw(mt, left, nxt)
    return (hi << np.uint64(32)) | lo, left, nxt


@njit
def fill32(mt, pos, out):
    """out[i] = the next 32-bit draws, in order. Shapes: out (n,) uint32.

    Whole runs of the words that remain before the next regeneration are tempered in one loop.
    """
    left, nxt = pos[0], pos[1]
    i, n = 0, out.size
    while i < n:
        if left == 1:                   # the next draw regenerates; it then takes word 0
            _twist(mt)
            left, nxt = N + 1, 0
        k = min(left - 1, n - i)
        for j in range(k):
            out[i + j] = _temper(mt[nxt + j])
        i, left, nxt = i + k, left - k, nxt + k
    pos[0], pos[1] = left, nxt


def fill64(mt, pos, out):
    """out[i] = the next 64-bit draws, in order. Shapes: out (n,) uint64, C-contiguous."""
    fill32(mt, pos, out.view(np.uint32))
    if np.little_endian:                # draw 2i landed in the low half; it belongs in the high
        np.bitwise_or(out << np.uint64(32), out >> np.uint64(32), out=out)


class Engine:
    """One generator's whole state: the twister, its seed and the cached second normal.

    Box-Muller makes normals in pairs; PyTorch's one-at-a-time normal keeps the second in the
    generator (`normal = [valid, value]`), so it belongs to the state that get/set carry. A
    float32 twin of that cache (`normal[2:]`) is never drawn on the CPU but travels with the
    state as PyTorch's does.
    """

    __slots__ = ("mt", "pos", "normal", "initial_seed")

    def __init__(self, s=DEFAULT_SEED):
        self.mt = np.empty(N, np.uint32)
        self.pos = np.zeros(2, np.int64)
        self.normal = np.zeros(4, np.float64)
        self.manual_seed(s)

    def manual_seed(self, s):
        """Reseed from a 64-bit unsigned seed; forgets any cached normal."""
        self.initial_seed = int(s)
        seed(self.mt, self.pos, s & 0xFFFFFFFF)
        self.normal[:] = 0.0

    def copy(self):
        twin = Engine.__new__(Engine)
        twin.mt, twin.pos, twin.normal = self.mt.copy(), self.pos.copy(), self.normal.copy()
        twin.initial_seed = self.initial_seed
        return twin

    def to_bytes(self):
        """PyTorch's layout (little-endian, C struct padding): seed u64, left i32, seeded i32,
        next u64, 624 words as u64, three legacy doubles (the second is the cached normal), its
        valid flag i32, 4 bytes padding, the float32 normal and its bool flag, 3 bytes padding."""
        b = np.zeros(STATE_BYTES, np.uint8)
        b[0:8] = np.frombuffer(np.uint64(self.initial_seed).tobytes(), np.uint8)
        b[8:16] = np.frombuffer(np.array([self.pos[0], 1], "<i4").tobytes(), np.uint8)
        b[16:24] = np.frombuffer(np.array([self.pos[1]], "<u8").tobytes(), np.uint8)
        b[24:5016] = np.frombuffer(self.mt.astype("<u8").tobytes(), np.uint8)
        if self.normal[0]:
            b[5024:5032] = np.frombuffer(np.array([self.normal[1]], "<f8").tobytes(), np.uint8)
            b[5040:5044] = np.frombuffer(np.array([1], "<i4").tobytes(), np.uint8)
        if self.normal[2]:
            b[5048:5052] = np.frombuffer(np.array([self.normal[3]], "<f4").tobytes(), np.uint8)
            b[5052] = 1
        return b

    def from_bytes(self, b):
        """Load a state from to_bytes' layout; False (and no change) if it is not a valid one."""
        b = np.ascontiguousarray(b, np.uint8).tobytes()
        left, seeded = np.frombuffer(b, "<i4", 2, 8)
        nxt = int(np.frombuffer(b, "<u8", 1, 16)[0])
        if not (seeded and 0 < left <= N and nxt <= N):
            return False
        self.initial_seed = int(np.frombuffer(b, "<u8", 1, 0)[0])
        self.pos[:] = left, nxt
        self.mt[:] = np.frombuffer(b, "<u8", N, 24) & 0xFFFFFFFF
        self.normal[:] = 0.0
        if np.frombuffer(b, "<i4", 1, 5040)[0]:
            self.normal[:2] = 1.0, np.frombuffer(b, "<f8", 1, 5024)[0]
        if b[5052]:
            self.normal[2:] = 1.0, np.frombuffer(b, "<f4", 1, 5048)[0]
        return True


DEFAULT = Engine()                      # the engine behind torch.default_generator
