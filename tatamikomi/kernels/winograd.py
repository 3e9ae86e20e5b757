"""Winograd F(2x2, 3x3): 16 multiplies per 2x2 output tile instead of 36 (Lavin & Gray, 2016).

y = A^T [ (G w G^T) . (B^T d B) ] A per 4x4 input tile d; the channel sum of the elementwise
product is a batch of 16 GEMMs (one per tile position): M[k] (O, T) = U[k] (O, C) @ V[k] (C, T).
The input and output transforms are parallel Numba loops over (n, c) and (n, o) planes.
grad_input of a 3x3 stride-1 conv is itself one: gy convolved with the flipped, transposed
weight and padding 2 - p per side, so it reuses forward. grad_weight is im2col's: Winograd's
dW form needs transforms of gy as big as the GEMM saves, not worth having here.

F(2x2, 3x3) only: its transforms are adds and halvings, so the error is that of a conv with
a few more additions. Measured max |ours - direct| / max |direct| against the float64 oracle
(standard-normal data, forward | grad_input): float32 3.2e-7 | 3.4e-7 at
2x64x56x56 (im2col 5.2e-7 | 2.1e-7), 6.4e-7 | 5.8e-7 at 2x256x14x14 (im2col 4.1e-7 | 3.4e-7);
float64 <= 1.5e-15. Well inside the parity tests' float32 rtol 1e-4. F(4x4, 3x3) was not built.
Speed: its 16 GEMMs are 16 BLAS calls, each a barrier of the thread pool; on the busy shared
machine each cost a ~16 ms time slice (8x64x56x56: 256 ms for the 16 vs 16 ms for one), so
the rules do not pick it; `backends.conv.benchmark` may, when the machine is quiet.
"""
import numpy as np

from . import im2col
from ._jit import njit, prange
from .spec import ConvSpec

# G, the 4x3 weight transform of F(2, 3) with interpolation points 0, 1, -1 and infinity.
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

grad_weight = im2col.grad_weight      # no Winograd form worth having for dW, and we say so


def supports(spec: ConvSpec) -> bool:
    """3x3, stride 1, dilation 1, groups 1, padding <= 2 per side (so grad_input is one too)."""
    return (spec.kernel_size == (3, 3) and spec.stride == (1, 1) and spec.dilation == (1, 1)
            and spec.groups == 1 and max(spec.padding) <= 2)


@njit
def _in_plane(x, V, n, c, pt, pl, th, tw):
    """V[:, c, tiles of sample n] = B^T d B for every 4x4 tile d of the padded plane x[n, c]."""
    H, W = x.shape[2], x.shape[3]
    buf = np.zeros((max(2 * th + 2, pt + H), max(2 * tw + 2, pl + W)), x.dtype)
    buf[pt:pt + H, pl:pl + W] = x[n, c]
    t = np.empty((4, 4), x.dtype)
    for ty in range(th):
        base = (n * th + ty) * tw
        for tx in range(tw):
            d = buf[2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4]
            for j in range(4):                               # t = B^T d (rows)
                t[0, j] = d[0, j] - d[2, j]
                t[1, j] = d[1, j] + d[2, j]
                t[2, j] = d[2, j] - d[1, j]
                t[3, j] = d[1, j] - d[3, j]
            for i in range(4):                               # (B^T d) B (columns)
                V[4 * i, c, base + tx] = t[i, 0] - t[i, 2]
                V[4 * i + 1, c, base + tx] = t[i, 1] + t[i, 2]
                V[4 * i + 2, c, base + tx] = t[i, 2] - t[i, 1]
                V[4 * i + 3, c, base + tx] = t[i, 1] - t[i, 3]


@njit
def _out_plane(M, y, n, o, th, tw):
    """y[n, o] tile by tile: A^T m A for each 4x4 m = M[:, o, tile]; tiles past the edge crop."""
    OH, OW = y.shape[2], y.shape[3]
    s = np.empty((2, 4), M.dtype)
    for ty in range(th):
        base = (n * th + ty) * tw
        for tx in range(tw):
            for j in range(4):                               # s = A^T m
                m0, m1 = M[j, o, base + tx], M[4 + j, o, base + tx]
                m2, m3 = M[8 + j, o, base + tx], M[12 + j, o, base + tx]
                s[0, j] = m0 + m1 + m2
                s[1, j] = m1 - m2 - m3
            for i in range(2):
                oh = 2 * ty + i
                if oh < OH:
                    y[n, o, oh, 2 * tx] = s[i, 0] + s[i, 1] + s[i, 2]
                    if 2 * tx + 1 < OW:
                        y[n, o, oh, 2 * tx + 1] = s[i, 1] - s[i, 2] - s[i, 3]


@njit(parallel=True)
def _transform_in(x, V, pt, pl, th, tw):
    for nc in prange(x.shape[0] * x.shape[1]):
        _in_plane(x, V, nc // x.shape[1], nc % x.shape[1], pt, pl, th, tw)


@njit(parallel=True)
def _transform_out(M, y, th, tw):
    for no in prange(y.shape[0] * y.shape[1]):
        _out_plane(M, y, no // y.shape[1], no % y.shape[1], th, tw)


def forward(x, w, spec):
    """y = A^T [U . V] A with the channel sum as 16 GEMMs over the tile positions.

    Shapes: x (N, C, H, W), w (O, C, 3, 3) -> y (N, O, OH, OW).
    """
    th, tw = -(-spec.OH // 2), -(-spec.OW // 2)
    V = np.empty((16, spec.C, spec.N * th * tw), x.dtype)
    _transform_in(np.ascontiguousarray(x), V, spec.padding[0], spec.padding[2], th, tw)
    U = np.einsum("ai,ocij,bj->aboc", _G, w, _G).reshape(16, spec.O, spec.C).astype(x.dtype)
    y = np.empty(spec.y_shape, x.dtype)
    _transform_out(np.matmul(U, V), y, th, tw)
    return y


def grad_input(gy, w, spec):
    """gx = gy convolved with w flipped and transposed, padding 2 - p per side.

    Shapes: gy (N, O, OH, OW), w (O, C, 3, 3) -> gx (N, C, H, W).
    """
    pt, pb, pl, pr = spec.padding
    back = ConvSpec(spec.N, spec.O, spec.OH, spec.OW, spec.C, 3, 3,
                    padding=(2 - pt, 2 - pb, 2 - pl, 2 - pr), dtype=spec.dtype)
    wt = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return forward(gy, wt, back)
