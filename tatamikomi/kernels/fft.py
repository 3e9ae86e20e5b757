"""FFT convolution: rfft2 the planes, contract channels per frequency as a batched GEMM, irfft2.

A stride-1 conv costs KH*KW multiplies per output in the pixel domain and O(log(FH FW)) per
output in the frequency domain, where the channel sum becomes one small GEMM per frequency:
Y[f] (N, O) = X[f] (N, C) @ conj(V[f]) (C, O), groups a batch axis. All three functions share
one grid (FH, FW), the padded input (H+pt+pb, W+pl+pr) rounded up to a 2-3-5 size, and the
same weight spectrum V. Claims stride 1, dilation 1, any padding and groups, 5x5 and up.

Speed (ms, float32, 2 threads, median of 5, one process; forward | grad_input | grad_weight):
8x16x64x64 -> 32, 11x11, padding 5 (75x75 grid), three runs in a row:
    fft     13.6-15.9 | 17.0-17.4 | 14.0-17.5   (sum 45-50)
    im2col  42.4-44.8 | 36.4-39.8 | 37.1-37.9   (sum 117-120)
    torch   23.5-24.8 forward, 38.0-41.4 forward+backward
Measured by a throwaway script, in one process: x, w, gy = standard-normal float32 arrays of
spec.x_shape, w_shape, y_shape for spec = ConvSpec.make((8, 16, 64, 64), (32, 16, 11, 11),
padding=(5, 5)); each of fft's and im2col's forward(x, w, spec), grad_input(gy, w, spec),
grad_weight(x, gy, spec), torch's F.conv2d(x, w, padding=5) under no_grad and
F.conv2d(...).backward(gy) with torch.set_num_threads(2): one warm-up call, then the median
of 5 time.perf_counter() timings. The machine is shared: in its busy episodes every kernel
here ran 5-15x slower, so compare rows of one run.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import im2col
from ._finite import finite
from ._scratch import scratch
from .spec import ConvSpec

# numpy's FFTs are single-threaded but release the GIL, so blocks of planes run on a thread
# pool. For the docstring's spec (75x75 grid) the spectra of x (128 planes, with their copy to
# frequency-major) took 4.1 ms on one thread, 2.6 on two; the irfft2 of y (256 planes) 6.3 and 4.0.
THREADS = os.cpu_count() or 1
# Below this many grid points a batch stays on the calling thread: the pool's hand-offs cost more
# than the FFTs of a few small planes (2x3x12x12 -> 4, 11x11 pad 5: forward 0.45-0.86 ms on the
# pool, 0.33 serial).
PARALLEL_MIN = 1 << 16
# The spectra and products live in per-thread buffers reused across calls: fresh arrays this
# size page-fault on every call (see _scratch.py): before they were reused, the forward pass of
# the docstring's spec took 28-30 ms, 19-21 with glibc's mmap and trim thresholds raised to 1 GiB.
# A buffer above this cap is allocated fresh, not kept.
WORKSPACE_BYTES = 256 << 20

_pool = None
_pool_lock = threading.Lock()


def supports(spec: ConvSpec) -> bool:
    """Stride 1, dilation 1, kernels of at least 25 taps (5x5 and up); any padding and groups."""
    return (spec.stride == (1, 1) and spec.dilation == (1, 1) and spec.KH * spec.KW >= 25
            and spec.dtype in ("float32", "float64"))


def _fast_size(n):
    """The smallest m >= n whose only prime factors are 2, 3 and 5 (pocketfft's fast lengths)."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def _grid(spec):
    pt, pb, pl, pr = spec.padding
    return _fast_size(spec.H + pt + pb), _fast_size(spec.W + pl + pr)


# The index bookkeeping, in one dimension (the other is the same with pl for pt):
# y[i] = sum_a xpad[i + a] w[a] = sum_a x[i + a - pt] w[a], with x zero outside [0, H).
# Substitute b = a - pt: y[i] = sum_b x[i + b] v[b], where v[b] = w[b + pt], b in [-pt, KH-1-pt].
# So we lay the weight out circularly on the grid with tap a at position (a - pt) mod FH (v), and
# x unshifted at [0, H) with zeros up to FH. Then y is the circular correlation of x with v,
# Y = X conj(V), cropped to [0, OH): no shift on the output side.
# No wrap-around: for i in [0, OH) the x indices i + b span [-pt, H + pb - 1], H + pt + pb <= FH
# distinct positions mod FH, and the negative ones land at FH - pt >= H, in the zeros.
# grad_input is the adjoint: gx[h] = sum_b gy[h - b] v[b], a circular convolution GX = GY V on
# the same grid (its gy indices span [pt - KH + 1, H - 1 + pt]: the negative ones land at
# >= FH + pt - KH + 1 >= OH, the large ones are < FH, so every stray index reads a zero), cropped
# to [0, H). grad_weight: gw[a] = sum_i gy[i] x[i + a - pt] = z[a - pt mod FH] where z is the
# circular correlation of x with gy, Z = X conj(GY); its x indices are those of the forward.


def _executor():
    """The FFT thread pool, started on first use (by one thread, if two convolve at once)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="tatamikomi-fft")
    return _pool


def _workspace(name, shape, dtype):
    """A reused array for an intermediate (contents are garbage); fresh above the cap."""
    if int(np.prod(shape)) * np.dtype(dtype).itemsize > WORKSPACE_BYTES:
        return np.empty(shape, dtype)
    return scratch("fft." + name, shape, dtype)


def _map_planes(fn, a, out):
    """fn(a[i:j], out[i:j]) for blocks of the planes, split over the pool when the batch is big.

    Shapes: a (P, ...) -> out (P, ...).
    """
    P = a.shape[0]
    k = min(THREADS, P) if P * out[0].size >= PARALLEL_MIN else 1
    cut = [P * i // k for i in range(k + 1)]

    def block(i):
        fn(a[cut[i]:cut[i + 1]], out[cut[i]:cut[i + 1]])

    if k == 1:
        block(0)
    else:
        list(_executor().map(block, range(k)))        # list(): re-raises a block's error here
    return out


def _rfft2(b, out, FW):
    """rfft2 of the planes b zero-extended to the (FH, FW) grid, scaled by 1 / (FH FW), into out.

    Shapes: b (P, h, w) real -> out (P, FH, FW // 2 + 1) complex.
    """
    # Rows first, only the h that hold data (zero rows transform to zeros), then the columns in
    # place. float32 stays complex64 (numpy >= 2). norm="forward" scales by 1 / n, which the
    # callers undo on the small operand: with the default norm numpy 2.4 passes the scale as
    # the integer 1 and its complex64 loops ran 4x slower (rfft2 of 128 75x75 planes 13.6 ms
    # against 3.4), while the inverse's default 1 / n is fast.
    h = b.shape[1]
    out[:, h:] = 0
    np.fft.rfft(b, FW, axis=-1, norm="forward", out=out[:, :h])
    np.fft.fft(out, axis=-2, norm="forward", out=out)


def _spectra(a, G, FH, FW, slot, channels_first=False):
    """rfft2 of planes zero-extended to the grid / (FH FW), frequency-major for the batched GEMM.

    Shapes: a (N, G * K, h, w) -> (F, G, N, K), F = FH * (FW // 2 + 1); (F, G, K, N) if
    channels_first, for grad_weight's GEMM, which ran 2x slower with a transposed view.
    """
    N, GK, h, w = a.shape
    ctype = np.result_type(a.dtype, np.complex64)
    A = _workspace("planes", (N * GK, FH, FW // 2 + 1), ctype)
    _map_planes(lambda b, o: _rfft2(b, o, FW), a.reshape(N * GK, h, w), A)
    # This transposed copy is cheap (0.3 ms for 128 planes): its rows are read whole.
    order = (3, 1, 2, 0) if channels_first else (3, 1, 0, 2)
    At = A.reshape(N, G, GK // G, -1).transpose(order)
    out = _workspace(slot, At.shape, ctype)
    np.copyto(out, At)
    return out


def _dft(rows, n, taps, shift, sign, dtype):
    """exp(sign 2 pi i k (t - shift) / n) for k < rows, t < taps; k (t - shift) taken mod n exactly.

    Shapes: -> (rows, taps).
    """
    kt = np.outer(np.arange(rows), np.arange(taps) - shift) % n
    return np.exp(sign * 2j * np.pi * kt / n).astype(np.result_type(dtype, np.complex64))


# The weight's spectrum and grad_weight's taps are direct DFTs, two small GEMMs each, instead of
# FFTs: the weight has only KH*KW nonzeros on the grid and grad_weight needs only KH*KW points of
# its inverse, yet it has O*C//groups planes, often more than the N*C of the input. At
# 8x16x64x64 -> 32, 11x11 on a 75x75 grid the rfft2 of the 512 zero-padded weight planes took
# 38 ms, the two GEMMs 1.5 ms.
def _weight_spectrum(w, spec, FH, FW, dtype, sign=-1):
    """FH FW V[k, l], V = sum_ab w[a, b] e^(sign 2 pi i (k (a - pt) / FH + l (b - pl) / FW)).

    V is v's rfft2, and sign=+1 gives conj(V) at no extra cost (w is real); the factor FH FW
    undoes the 1 / (FH FW) of _spectra.
    Shapes: w (O, C // groups, KH, KW) -> (F, G, C // groups, O // groups).
    """
    pt, _, pl, _ = spec.padding
    G, O, Cg, KH, KW = spec.groups, spec.O, spec.C // spec.groups, spec.KH, spec.KW
    wt = w.reshape(G, O // G, Cg, KH, KW).transpose(3, 4, 0, 2, 1).reshape(KH, KW, -1)
    T = (_dft(FW // 2 + 1, FW, KW, pl, sign, dtype) * (FH * FW)) @ wt.astype(dtype)
    V = _workspace("weight", (FH, T.shape[1] * T.shape[2]), T.dtype)
    np.matmul(_dft(FH, FH, KH, pt, sign, dtype), T.reshape(KH, -1), out=V)
    return V.reshape(-1, G, Cg, O // G)


# numpy copies a transposed view in the order of the output, so with the frequency axis leaving
# the rows every read strides G*N*K elements and misses the cache: 5.7 ms for (2850, 256)
# complex64 against 0.7 ms for this copy in blocks of 64 rows.
def _unstack(Z):
    """The frequency-major products back as planes, a blocked transposed copy.

    Shapes: Z (F, G, N, K) -> (N, G * K, F).
    """
    F, G, N, K = Z.shape
    Z2, out = Z.reshape(F, -1), _workspace("planes", (G, N, K, F), Z.dtype)
    out2 = out.reshape(-1, F)
    for f0 in range(0, F, 64):
        out2[:, f0:f0 + 64] = Z2[f0:f0 + 64].T
    return out.transpose(1, 0, 2, 3).reshape(N, G * K, F)     # a copy only for groups > 1


def _irfft2(b, out, FW):
    """irfft2 on the (FH, FW) grid, cropped to out's top-left h x w; b is overwritten.

    Shapes: b (P, FH, FW // 2 + 1) complex -> out (P, h, w) real.
    """
    h, w = out.shape[1:]
    np.fft.ifft(b, axis=-2, out=b)                  # columns first, then only the h rows kept
    if w == FW:
        np.fft.irfft(b[:, :h], FW, axis=-1, out=out)
    else:
        out[...] = np.fft.irfft(b[:, :h], FW, axis=-1)[:, :, :w]


def _planes(Z, FH, FW, h, w, dtype):
    """irfft2 of frequency-major products, cropped to the top-left h x w of the grid.

    Shapes: Z (F, G, N, K) -> (N, G * K, h, w), a fresh array.
    """
    N, GK = Z.shape[2], Z.shape[1] * Z.shape[3]
    z = np.empty((N * GK, h, w), dtype)
    _map_planes(lambda b, o: _irfft2(b, o, FW),
                _unstack(Z).reshape(N * GK, FH, FW // 2 + 1), z)
    return z.reshape(N, GK, h, w)


# A spectrum mixes every pixel of its plane, so a NaN or inf would reach all the plane's outputs
# (PyTorch: only those that read it). X[0], frequency (0, 0), is each plane's pixel sum scaled:
# non-finite exactly when a pixel is (or the sum overflows), so the check is free. Such calls go
# to im2col; so does grad_weight where its result is not finite (non-finite x or gy).
def forward(x, w, spec):
    """y = irfft2(X @ conj(V)) cropped to (OH, OW): one (N, C) @ (C, O) GEMM per frequency.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW) -> y (N, O, OH, OW).
    """
    if spec.C == 0:                                 # no channels to sum: zeros, as PyTorch's
        return np.zeros(spec.y_shape, x.dtype)
    FH, FW = _grid(spec)
    X = _spectra(x, spec.groups, FH, FW, "a")
    if not (finite(w) and np.isfinite(X[0]).all()):    # see above
        return im2col.forward(x, w, spec)
    Vc = _weight_spectrum(w, spec, FH, FW, x.dtype, sign=1)                # conj(V)
    Y = np.matmul(X, Vc, out=_workspace("prod", X.shape[:3] + Vc.shape[3:], X.dtype))
    return _planes(Y, FH, FW, spec.OH, spec.OW, x.dtype)


def grad_input(gy, w, spec):
    """gx = irfft2(GY @ V^T) cropped to (H, W): the same grid and weight spectrum, unconjugated.

    Shapes: gy (N, O, OH, OW), w (O, C // groups, KH, KW) -> gx (N, C, H, W).
    """
    if spec.C == 0:                                 # no input channels: nothing to compute
        return np.empty(spec.x_shape, gy.dtype)
    FH, FW = _grid(spec)
    GY = _spectra(gy, spec.groups, FH, FW, "a")
    if not (finite(w) and np.isfinite(GY[0]).all()):   # see above forward
        return im2col.grad_input(gy, w, spec)
    V = _weight_spectrum(w, spec, FH, FW, gy.dtype)
    Vt = V.swapaxes(-1, -2)
    GX = np.matmul(GY, Vt, out=_workspace("prod", GY.shape[:3] + Vt.shape[3:], GY.dtype))
    return _planes(GX, FH, FW, spec.H, spec.W, gy.dtype)


def grad_weight(x, gy, spec):
    """gw = the inverse DFT of conj(GY)^T @ X, evaluated only at the taps (a - pt, b - pl).

    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C // groups, KH, KW).
    """
    if spec.C == 0:                                 # no input channels: gw has no elements
        return np.empty(spec.w_shape, x.dtype)
    pt, _, pl, _ = spec.padding
    FH, FW = _grid(spec)
    G, O, Cg, KH, KW = spec.groups, spec.O, spec.C // spec.groups, spec.KH, spec.KW
    X, GYt = _spectra(x, G, FH, FW, "a"), _spectra(gy, G, FH, FW, "b", channels_first=True)
    Z = np.matmul(np.conj(GYt, out=GYt), X,
                  out=_workspace("prod", GYt.shape[:3] + X.shape[3:], X.dtype))  # (F, G, O/G, Cg)
    # irfft2 of the half spectrum: z = Re sum_kl c_l Z[k, l] e^(2 pi i (k m / FH + l n / FW))
    # / (FH FW), c_l = 2 for the columns whose mirror image rfft2 dropped (0 < l < FW / 2), else 1.
    # Both spectra came scaled by 1 / (FH FW), so the 1 / (FH FW) becomes FH FW.
    FWr = FW // 2 + 1
    c = np.where((np.arange(FWr) > 0) & (2 * np.arange(FWr) < FW), 2.0, 1.0) * (FH * FW)
    T = _dft(FH, FH, KH, pt, 1, x.dtype).T @ Z.reshape(FH, -1)                 # (KH, FWr * M)
    U = (_dft(FWr, FW, KW, pl, 1, x.dtype) * c[:, None].astype(x.dtype)).T @ T.reshape(KH, FWr, -1)
    gw = U.real.reshape(KH, KW, G, O // G, Cg).transpose(2, 3, 4, 0, 1)   # U: (KH, KW, M)
    gw = np.ascontiguousarray(gw.reshape(O, Cg, KH, KW), x.dtype)
    return gw if np.isfinite(gw).all() else im2col.grad_weight(x, gy, spec)    # see above forward
