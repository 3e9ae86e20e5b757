"""Separable image resampling as weight matrices: y = Wh @ x @ Ww.T over the last two axes.

The rules are torch's interpolate(align_corners=False): nearest takes floor(i * scale);
bilinear and bicubic (a = -0.75) interpolate at (i + 0.5) * scale - 0.5. With antialias the
filter is Pillow's (Pillow's and torch's antialiased kernels share it): centred on
(i + 0.5) * scale, stretched by the scale when shrinking so every input pixel counts, and
normalised over the pixels it covers; its bicubic uses a = -0.5.
"""
import numpy as np


def _cubic(x, a):
    x = np.abs(x)
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))


def _aa_matrix(n_in, n_out, mode):
    """Pillow's antialiased filter weights. Shapes: -> (n_out, n_in)."""
    scale = n_in / n_out
    fscale = max(scale, 1.0)
    support = (1.0 if mode == "bilinear" else 2.0) * fscale
    w = np.zeros((n_out, n_in), np.float64)
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        x = (np.arange(lo, hi) - center + 0.5) / fscale
        k = np.maximum(0.0, 1.0 - np.abs(x)) if mode == "bilinear" else _cubic(x, -0.5)
        total = k.sum()
        w[i, lo:hi] = k / total if total != 0 else k
    return w


def _plain_matrix(n_in, n_out, mode):
    """torch's non-antialiased weights (align_corners=False). Shapes: -> (n_out, n_in)."""
    scale = n_in / n_out
    w = np.zeros((n_out, n_in), np.float64)
    rows = np.arange(n_out)
    if mode == "nearest":
        w[rows, np.minimum(np.floor(rows * scale).astype(np.int64), n_in - 1)] = 1
        return w
    if mode == "nearest-exact":
        w[rows, np.minimum(np.floor((rows + 0.5) * scale).astype(np.int64), n_in - 1)] = 1
        return w
    src = (rows + 0.5) * scale - 0.5
    if mode == "bilinear":
        src = np.maximum(src, 0.0)
        i0 = np.floor(src).astype(np.int64)
        lam = src - i0
        i1 = np.minimum(i0 + 1, n_in - 1)
        np.add.at(w, (rows, i0), 1 - lam)
        np.add.at(w, (rows, i1), lam)
        return w
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    for k in range(-1, 3):                            # four taps, borders replicated
        idx = np.clip(i0 + k, 0, n_in - 1)
        np.add.at(w, (rows, idx), _cubic(t - k, -0.75))
    return w


def weights(n_in, n_out, mode, antialias):
    if antialias and mode in ("bilinear", "bicubic"):
        return _aa_matrix(n_in, n_out, mode)
    return _plain_matrix(n_in, n_out, mode)


def resample_hw(x, size, mode, antialias):
    """x resized over its last two axes. Shapes: (..., H, W) -> (..., OH, OW), x's dtype."""
    OH, OW = size
    H, W = x.shape[-2:]
    wh = weights(H, OH, mode, antialias).astype(x.dtype)
    ww = weights(W, OW, mode, antialias).astype(x.dtype)
    return np.matmul(wh, np.matmul(x, ww.T))
