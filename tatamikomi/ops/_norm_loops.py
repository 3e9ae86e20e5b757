"""Numba loops for group and layer normalization on big maps: statistics, normalization and the
affine map in one pass over each group, instead of NumPy's half-dozen full-size temporaries.

Both norms are one shape here: x viewed as (N, G, K, S), statistics per (n, g) over (K, S),
weight and bias per (g, k). GroupNorm is (N, groups, C / groups, H*W); LayerNorm is (rows, 1,
normalized size, 1). Sums run in float64 whatever x's dtype (PyTorch's float32 kernels use a
cascade sum for the same reason: a float32 running sum over 10^5 terms drifts). The formulas
are ops/norm.py's, which stays the reference for small or strided input.
"""
import math

import numpy as np

from ..kernels._jit import njit, run_tasks

MIN_SIZE = 1 << 14


@njit
def _forward(t0, t1, x, w, b, eps, y, mean, rstd):
    N, G, K, S = x.shape
    for ng in range(t0, t1):
        n, g = ng // G, ng % G
        s = 0.0
        for k in range(K):
            for j in range(S):
                s += x[n, g, k, j]
        m = s / (K * S)
        v = 0.0
        for k in range(K):
            for j in range(S):
                d = x[n, g, k, j] - m
                v += d * d
        r = 1.0 / math.sqrt(v / (K * S) + eps)
        mean[n, g], rstd[n, g] = m, r
        for k in range(K):
            a, c = r * w[g, k], b[g, k]
            for j in range(S):
                y[n, g, k, j] = (x[n, g, k, j] - m) * a + c


@njit
def _backward(t0, t1, x, gy, w, mean, rstd, gx, gw, gb):
    """gx, and per-sample partial sums of gw and gb (the caller sums them over N), for the
    (n, g) groups [t0, t1)."""
    N, G, K, S = x.shape
    for ng in range(t0, t1):
        n, g = ng // G, ng % G
        m, r = mean[n, g], rstd[n, g]
        sg, sgx = 0.0, 0.0                   # sums of g = gy * w and of g * xhat
        for k in range(K):
            pw, pb = 0.0, 0.0
            for j in range(S):
                xhat = (x[n, g, k, j] - m) * r
                d = gy[n, g, k, j]
                pw += d * xhat
                pb += d
            gw[n, g, k], gb[n, g, k] = pw, pb
            sg += pb * w[g, k]
            sgx += pw * w[g, k]
        M = K * S
        for k in range(K):
            for j in range(S):
                xhat = (x[n, g, k, j] - m) * r
                gx[n, g, k, j] = r * (gy[n, g, k, j] * w[g, k] - sg / M - xhat * sgx / M)


def usable(*arrays):
    a = arrays[0]
    return (a.size >= MIN_SIZE and a.dtype in (np.float32, np.float64) and
            all(t.dtype == a.dtype and t.flags.c_contiguous for t in arrays))


def forward(x4, w, b, eps):
    """y, mean, rstd. Shapes: x4 (N, G, K, S), w and b (G, K) or None -> y like x4, mean and
    rstd (N, G) float64."""
    N, G, K, _ = x4.shape
    w = np.ones((G, K), x4.dtype) if w is None else w.reshape(G, K)
    b = np.zeros((G, K), x4.dtype) if b is None else b.reshape(G, K)
    y = np.empty_like(x4)
    mean, rstd = np.empty((N, G)), np.empty((N, G))
    run_tasks(_forward, N * G, x4, w, b, float(eps), y, mean, rstd)
    return y, mean, rstd


def backward(x4, gy4, w, mean, rstd):
    """gx, gw, gb. Shapes: x4, gy4 (N, G, K, S), w (G, K) or None -> gx like x4, gw and gb
    (G, K)."""
    N, G, K, _ = x4.shape
    w = np.ones((G, K), x4.dtype) if w is None else w.reshape(G, K)
    gx = np.empty_like(gy4)
    gw, gb = np.empty((N, G, K)), np.empty((N, G, K))
    run_tasks(_backward, N * G, x4, gy4, w, mean, rstd, gx, gw, gb)
    return gx, gw.sum(axis=0).astype(x4.dtype), gb.sum(axis=0).astype(x4.dtype)
