"""1x1 convolutions as plain GEMMs: no column buffer, the input already is the column matrix.

A 1x1 conv with zero padding is y[n] = W (O, C) @ x[n] (C, H*W); stride s first keeps every s-th
pixel (x[:, :, ::sh, ::sw]), and dilation never matters with one tap. Groups become a batch of
per-group GEMMs through np.matmul's broadcasting.
"""
import numpy as np

from .spec import ConvSpec

# The batch is folded into one GEMM over (C, N*P) whenever N > 1, though that costs a transposed
# copy on each side: per-sample GEMMs land in NCHW with no copies, but each BLAS call is a
# barrier of its thread pool, and while another process keeps the second core busy every barrier
# waits for a time slice. Measured on 8x64x56x56 -> 256 (machine busy): 8
# per-sample GEMMs 128 ms for grad_input and 64 ms for grad_weight, im2col's single GEMM 32/24 ms.
FOLD_MIN_N = 2


def supports(spec: ConvSpec) -> bool:
    """1x1 kernels without padding; any stride, dilation and groups."""
    return spec.kernel_size == (1, 1) and spec.padding == (0, 0, 0, 0)


def _pixels(x, spec):
    """The pixels a strided 1x1 conv reads, per group, as GEMM operands (a copy only if strided).

    Shapes: x (N, C, H, W) -> (N, G, C // G, OH * OW).
    """
    sh, sw = spec.stride
    if (sh, sw) != (1, 1):
        x = x[:, :, ::sh, ::sw]
    x = np.ascontiguousarray(x)
    return x.reshape(spec.N, spec.groups, spec.C // spec.groups, spec.OH * spec.OW)


def _fold(a):
    """Shapes: (N, G, K, P) -> (G, K, N * P), a transposed copy."""
    N, G, K, P = a.shape
    return np.ascontiguousarray(a.transpose(1, 2, 0, 3)).reshape(G, K, N * P)


def _unfold(a, N):
    """Shapes: (G, K, N * P) -> (N, G, K, P), C-contiguous."""
    G, K, NP = a.shape
    return np.ascontiguousarray(a.reshape(G, K, N, NP // N).transpose(2, 0, 1, 3))


def _product(a, b, spec):
    """Batched a @ b over (N, G) with a (G, M, K), b (N, G, K, P): one GEMM per group."""
    if spec.N >= FOLD_MIN_N:
        return _unfold(np.matmul(a, _fold(b)), spec.N)
    return np.matmul(a, b)


def forward(x, w, spec):
    """y[n, g] = w[g] @ x[n, g, :, ::sh, ::sw] flattened.

    Shapes: x (N, C, H, W), w (O, C // groups, 1, 1) -> y (N, O, OH, OW).
    """
    G = spec.groups
    wg = w.reshape(G, spec.O // G, spec.C // G).astype(x.dtype, copy=False)
    return _product(wg, _pixels(x, spec), spec).reshape(spec.y_shape)


def grad_input(gy, w, spec):
    """gx[n, g] = w[g]^T @ gy[n, g], scattered back onto every sh-th row and sw-th column.

    Shapes: gy (N, O, OH, OW), w (O, C // groups, 1, 1) -> gx (N, C, H, W).
    """
    G, P = spec.groups, spec.OH * spec.OW
    wt = w.reshape(G, spec.O // G, spec.C // G).transpose(0, 2, 1).astype(gy.dtype, copy=False)
    gyg = np.ascontiguousarray(gy).reshape(spec.N, G, spec.O // G, P)
    gxs = _product(wt, gyg, spec).reshape(spec.N, spec.C, spec.OH, spec.OW)
    sh, sw = spec.stride
    if (sh, sw) == (1, 1):
        return gxs
    gx = np.zeros(spec.x_shape, gy.dtype)                   # pixels a stride skips get no grad
    gx[:, :, ::sh, ::sw] = gxs
    return gx


def grad_weight(x, gy, spec):
    """gw[g] = sum over n of gy[n, g] @ x[n, g]^T: per sample, or one GEMM over the folded batch.

    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C // groups, 1, 1).
    """
    G, P = spec.groups, spec.OH * spec.OW
    xs = _pixels(x, spec)
    gyg = np.ascontiguousarray(gy).reshape(spec.N, G, spec.O // G, P)
    if spec.N >= FOLD_MIN_N:
        gw = np.matmul(_fold(gyg), _fold(xs).transpose(0, 2, 1))  # K = N * P: one long GEMM
    else:
        gw = np.matmul(gyg, xs.transpose(0, 1, 3, 2)).sum(axis=0)  # (N, G, O/G, C/G) is small
    return np.ascontiguousarray(gw, dtype=x.dtype).reshape(spec.w_shape)
