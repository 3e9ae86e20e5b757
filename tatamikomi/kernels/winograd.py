"""Winograd F(4x4, 3x3): 36 multiplies per 4x4 output tile instead of 144 (Lavin & Gray, 2016).

y = A^T [ (G w G^T) . (B^T d B) ] A for each 6x6 input tile d (tiles overlap by 2). The channel
sum of the elementwise product is a batch of 36 GEMMs, one per tile position k:
M[k] (O, T) = U[k] (O, C) @ V[k] (C, T), T = tiles in the chunk. Groups add a batch axis.
The transforms are parallel Numba loops over (n, c) and (n, o) planes; inside a plane every loop
runs over all of its tiles at once, so they vectorise.
grad_input of a 3x3 stride-1 conv is itself one (gy convolved with the flipped, transposed
weight, padding 2 - p per side), so it reuses forward. grad_weight is im2col's.

The matrices come from the finite interpolation points and infinity: A^T and G by the Toom-Cook
formulas, B^T solved from the identity the algorithm must satisfy (see _matrices), so the same
code runs F(2x2, 3x3) (m = 2, points 0, 1, -1). For F(4x4) the points 0, 1, -1, 1/2, -2 are
used, not Lavin's 0, 1, -1, 2, -2: float32 error, max |ours - direct| / max |direct| against
the float64 oracle at 4x128x28x28, standard-normal data, was 3.3e-6 against 1.0e-5 (forward).
Measured the same way (forward | grad_input, float32): 8x64x56x56 F(4x4) 2.7e-6 | 2.7e-6,
F(2x2) 3.3e-7 | 3.7e-7, im2col 5.9e-7 | 2.3e-7; 8x256x14x14 F(4x4) 5.0e-6 | 4.3e-6; float64
<= 1.5e-14. Inside the parity tests' float32 rtol 1e-4, but 5-10x im2col's error.

Speed (ms, float32, 2 threads, forward | grad_input, `python benchmarks/conv.py` shapes, one
run): 8x64x56x56 -> 64 F(4x4) 11.3 | 11.3, F(2x2) 12.6 | 12.3, im2col 14.7 | 11.0; grouped
g=4 F(4x4) 7.2 | 7.2, im2col 9.7 | 7.2; 8x256x14x14 F(4x4) 32 | 33, im2col 8.4 | 7.1 (36 GEMMs
of (256, 256) @ (256, 128) ran at ~45 GFLOP/s); 64x32x14x14 F(4x4) 11.4, im2col 3.7. Once
im2col took 16 MiB chunks its forward caught up (12.7-13.6 ms at 8x64x56x56) and forward +
backward ran faster (37.5-39.5 against 42.1-43.3 ms), so the rules do not pick Winograd: its
36 GEMMs with K = C run at ~90 GFLOP/s against ~200 for im2col's one, and the transforms
(3-5 ms each way) eat the 4x fewer multiplies.
"""
import numpy as np

from . import im2col
from ._finite import finite
from ._jit import njit, run_tasks
from ._scratch import scratch
from .spec import ConvSpec

TILE = 4                        # output tile side m; the input tile is m + 2
POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 0.5, -2)}      # finite points; infinity is implied

# V and M are reused across calls (fresh arrays this size page-fault on every call, see
# _scratch.py), and the batch is chunked so both stay under this cap together.
WORKSPACE_BYTES = 64 << 20

grad_weight = im2col.grad_weight


def _matrices(m, r=3):
    """A^T (m, a), G (a, r), B^T (a, a) of F(m, r), a = m + r - 1, in float64.

    A^T[i, k] = p_k^i and G[k, j] = p_k^j / prod_{l != k} (p_k - p_l) for the finite points;
    the point at infinity adds a column e_{m-1} to A^T and a row e_{r-1} to G. B^T is then the
    unique solution of sum_k A^T[i, k] G[k, j] B^T[k, s] = [s == i + j] for all i, j, s, which
    says y_i = sum_j g_j d_{i+j} for every g and d.
    """
    p = np.array(POINTS[m], float)
    a = m + r - 1
    AT = np.zeros((m, a))
    AT[:, :-1] = p[None, :] ** np.arange(m)[:, None]
    AT[-1, -1] = 1
    G = np.zeros((a, r))
    for k, pk in enumerate(p):
        G[k] = pk ** np.arange(r) / np.prod([pk - pl for pl in p if pl != pk])
    G[-1, -1] = 1
    coef = np.einsum("ik,kj->ijk", AT, G).reshape(m * r, a)       # rows (i, j), columns k
    rhs = np.zeros((m * r, a))
    for i in range(m):
        for j in range(r):
            rhs[i * r + j, i + j] = 1
    BT, *_ = np.linalg.lstsq(coef, rhs, rcond=None)               # (a, a): row k, column s
    assert np.allclose(coef @ BT, rhs, atol=1e-12)                # exactly solvable, not a fit
    return AT, G, np.round(BT, 12)


_MATS = {m: _matrices(m) for m in POINTS}


def supports(spec: ConvSpec) -> bool:
    """3x3, stride 1, dilation 1, padding <= 2 per side (so grad_input is one too); any groups."""
    return (spec.kernel_size == (3, 3) and spec.stride == (1, 1) and spec.dilation == (1, 1)
            and max(spec.padding) <= 2)


# Both transforms work on one plane at a time with every loop running over all th * tw tiles of
# the plane: V and M keep a plane's tiles contiguous, so the inner loops are long and vectorise.
# (Loops over one tile row, 14 tiles at 56x56, stayed scalar and took 3x longer.) The four
# row-combining stages repeat one loop shape on purpose: a shared helper needs strided 2-d
# views (T[:, s], V[k*a:(k+1)*a, c]), whose rows Numba does not know to be contiguous, and the
# transforms then ran 2-2.5x slower (in 3.4 -> 8.7 ms, out 1.7 -> 3.7 at 8x64x56x56).
@njit
def _in_plane(x, V, n, c, pt, pl, th, tw, BT, buf, X, T):
    """V[:, c, tiles of sample n] = B^T d B for every tile d of the zero-padded plane x[n, c].

    Shapes: x (Nc, C, H, W) -> V (a * a, C, Nc * th * tw).
    """
    a = BT.shape[0]
    m, TT = a - 2, th * tw
    H, W = x.shape[2], x.shape[3]
    buf[:] = 0                                                     # covers the padded input
    buf[pt:pt + H, pl:pl + W] = x[n, c]
    for r in range(a):
        for s in range(a):
            dst = X[r * a + s]
            for ty in range(th):
                src = buf[m * ty + r, s:]
                for tx in range(tw):
                    dst[ty * tw + tx] = src[m * tx]
    T[:] = 0                                                       # T = B^T d
    for k in range(a):
        for r in range(a):
            b = BT[k, r]
            if b != 0:
                for s in range(a):
                    dst, src = T[k * a + s], X[r * a + s]
                    for t in range(TT):
                        dst[t] += b * src[t]
    base = n * TT
    for k in range(a):                                             # V = (B^T d) B
        for l in range(a):
            dst = V[k * a + l, c, base:base + TT]
            dst[:] = 0
            for s in range(a):
                b = BT[l, s]
                if b != 0:
                    src = T[k * a + s]
                    for t in range(TT):
                        dst[t] += b * src[t]


@njit
def _out_plane(M, y, n, o, n0, th, tw, AT, S, Y):
    """y[n, o] = A^T m A for each tile m = M[:, o, tile]; tiles past the edge are cropped.

    Shapes: M (a * a, O, Nc * th * tw) -> y (N, O, OH, OW).
    """
    m, a = AT.shape
    TT = th * tw
    OH, OW = y.shape[2], y.shape[3]
    base = (n - n0) * TT
    S[:] = 0                                                       # S = A^T m
    for i in range(m):
        for k in range(a):
            b = AT[i, k]
            if b != 0:
                for j in range(a):
                    dst, src = S[i * a + j], M[k * a + j, o, base:base + TT]
                    for t in range(TT):
                        dst[t] += b * src[t]
    Y[:] = 0                                                       # Y = (A^T m) A
    for i in range(m):
        for jj in range(m):
            dst = Y[i * m + jj]
            for j in range(a):
                b = AT[jj, j]
                if b != 0:
                    src = S[i * a + j]
                    for t in range(TT):
                        dst[t] += b * src[t]
    for i in range(m):                                             # interleave, crop
        for ty in range(th):
            oh = m * ty + i
            if oh < OH:
                row = y[n, o, oh]
                for jj in range(m):
                    src = Y[i * m + jj, ty * tw:]
                    for tx in range(-(-(OW - jj) // m)):
                        row[m * tx + jj] = src[tx]


# The planes are dealt out in BLOCKS contiguous runs, each with its own scratch arrays: one
# allocation per plane cost as much as the transform of a 14x14 plane.
BLOCKS = 16


@njit
def _transform_in(b0, b1, x, V, pt, pl, th, tw, BT):
    a, C, P = BT.shape[0], x.shape[1], x.shape[0] * x.shape[1]
    for blk in range(b0, b1):
        buf = np.empty(((a - 2) * th + 2, (a - 2) * tw + 2), x.dtype)
        X, T = np.empty((a * a, th * tw), x.dtype), np.empty((a * a, th * tw), x.dtype)
        for nc in range(blk * P // BLOCKS, (blk + 1) * P // BLOCKS):
            _in_plane(x, V, nc // C, nc % C, pt, pl, th, tw, BT, buf, X, T)


@njit
def _transform_out(b0, b1, M, y, n0, n1, th, tw, AT):
    m, a, O = AT.shape[0], AT.shape[1], y.shape[1]
    P = (n1 - n0) * O
    for blk in range(b0, b1):
        S, Y = np.empty((m * a, th * tw), M.dtype), np.empty((m * m, th * tw), M.dtype)
        for no in range(blk * P // BLOCKS, (blk + 1) * P // BLOCKS):
            _out_plane(M, y, n0 + no // O, no % O, n0, th, tw, AT, S, Y)


def forward(x, w, spec, m=None):
    """y = A^T [U . V] A, the channel sum as a GEMM per tile position and group.

    A tile's transform mixes all its inputs, so a NaN or inf would reach every output of the
    tile: such calls go to im2col. The check is a pass over x: 0.3 ms of 12.9 at 8x64x56x56,
    0.07 of 12.2 at 64x32x14x14 (float32).
    Shapes: x (N, C, H, W), w (O, C // groups, 3, 3) -> y (N, O, OH, OW).
    """
    if not (finite(w) and finite(x)):
        return im2col.forward(x, w, spec)
    return _forward(x, w, spec, m)


def _forward(x, w, spec, m=None):
    """forward without the check (x, w finite). Shapes: as forward."""
    m = m or TILE
    AT, Gm, BT = _MATS[m]
    a, G, C, O = m + 2, spec.groups, spec.C, spec.O
    th, tw = -(-spec.OH // m), -(-spec.OW // m)
    # U[o, c, k, l] = sum_ij G[k, i] w[o, c, i, j] G[l, j]: i first (axes end as j, k), then j
    U = np.tensordot(np.tensordot(w.astype(np.float64), Gm, ([2], [1])), Gm, ([2], [1]))
    U = U.reshape(G, O // G, C // G, a * a).transpose(3, 0, 1, 2).astype(x.dtype)
    per_sample = a * a * th * tw * max(C, O)
    chunk = max(1, min(spec.N, WORKSPACE_BYTES // (2 * per_sample * x.dtype.itemsize)))
    x = np.ascontiguousarray(x)
    y = np.empty(spec.y_shape, x.dtype)
    BT, AT = BT.astype(x.dtype), AT.astype(x.dtype)
    for n0 in range(0, spec.N, chunk):
        n1 = min(spec.N, n0 + chunk)
        T = (n1 - n0) * th * tw
        V = scratch("winograd.V", (a * a, C, T), x.dtype)
        run_tasks(_transform_in, BLOCKS, x[n0:n1], V, spec.padding[0], spec.padding[2], th, tw,
                  BT)
        M = scratch("winograd.M", (a * a, G, O // G, T), x.dtype)
        np.matmul(U, V.reshape(a * a, G, C // G, T), out=M)
        run_tasks(_transform_out, BLOCKS, M.reshape(a * a, O, T), y, n0, n1, th, tw, AT)
    return y


def grad_input(gy, w, spec, m=None):
    """gx = gy convolved with w flipped and transposed per group, padding 2 - p per side.

    Shapes: gy (N, O, OH, OW), w (O, C // groups, 3, 3) -> gx (N, C, H, W).
    """
    if not (finite(w) and finite(gy)):              # as in forward
        return im2col.grad_input(gy, w, spec)
    pt, pb, pl, pr = spec.padding
    G, C, O = spec.groups, spec.C, spec.O
    back = ConvSpec(spec.N, O, spec.OH, spec.OW, C, 3, 3, padding=(2 - pt, 2 - pb, 2 - pl, 2 - pr),
                    groups=G, dtype=spec.dtype)
    wt = w.reshape(G, O // G, C // G, 3, 3)[..., ::-1, ::-1].transpose(0, 2, 1, 3, 4)
    return _forward(gy, wt.reshape(C, O // G, 3, 3), back, m)
