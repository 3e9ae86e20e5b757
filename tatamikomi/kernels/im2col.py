"""im2col + GEMM: copy every receptive field into a column matrix, then one matmul does the conv.

The copy (im2col) and its adjoint (col2im, a scatter-add) are parallel Numba loops over (n, c);
the GEMMs are NumPy matmul (OpenBLAS). Runs every spec: stride, uneven padding, dilation, groups.
Work one call can hand the next of the same conv goes through `kept` (KEEPS): the forward's
columns of x, which grad_weight needs again, and gy in the GEMMs' layout, which both gradients
make.
"""
import numpy as np

from . import direct
from ._finite import finite, nan_free
from ._jit import njit, run_tasks
from ._scratch import Lease, scratch
from .spec import ConvSpec

# forward, grad_input and grad_weight take kept=, a dict that the caller keeps for one conv from
# its forward to its backward (kernels/__init__.py); they work the same without it.
KEEPS = True

# The column matrix holds KH*KW copies of the input, so the batch is processed in chunks whose
# column buffer stays under this cap: a large input costs at most this much extra memory, and the
# buffer is reused across calls (a fresh one this size would page-fault on every call). 16 MiB
# beat 64, 32, 8 and 4 MiB and one sample per chunk (fwd | gx | gw ms, one run): tutorial
# 20x16x50x100 3x3 9.4 | 7.6 | 9.6 at 16 MiB, 13.8 | 8.3 | 10.3 at 64; the 7x7/2 stem
# 15.8 | 15.1 | 19.8 against 23.9 | 19.9 | 22.1; ResNet 8x64x56x56 11.9 | 10.5 | 11.9 against
# 13.9 | 11.0 | 11.8; smaller chunks lost again (more, thinner GEMMs). One sample always fits,
# so a single huge image may exceed the cap.
# The column layout (G, R, N*P) makes each chunk one GEMM per group. Per-sample GEMMs would
# land in NCHW without the transposes of y and gy, but many thin BLAS calls, each a barrier of
# the thread pool, ran 2-30x slower whenever the shared 2-core machine was busy (measured);
# the transposes are memory-bound copies worth a few % of the GEMM.
WORKSPACE_BYTES = 16 << 20

# Waking the threads costs more than copying a column buffer smaller than this (elements):
# the 1x4x5x5 case ran 3-10x faster serial on this 2-core machine.
PARALLEL_MIN = 1 << 15

# From this many output pixels per sample the batch goes one sample at a time, whatever the cap:
# a sample's columns then stay in cache from the copy to the GEMM, and the GEMM writes its
# output in place (fwd | gx ms, one run): first layer 8x3x224x224 -> 64 42.2 | 27.6 chunked,
# 21.9 | 14.1 per sample; 7x7/2 stem 14.9 | 14.9, 13.1 | 13.7. At 3136 pixels (ResNet 56x56)
# it was even, at 4704 (the tutorial's 48x98) and 196 (MNIST) slower.
PER_SAMPLE_P = 8192

# grad_weight's GEMM orientation: at most this many outputs per group take the transposed form.
THIN_O = 64


def supports(spec: ConvSpec) -> bool:
    """Every valid spec."""
    return True


@njit
def _span(n_out, pad, tap_off, step, n_in):
    """The outputs o in [lo, hi) whose input o * step + tap_off - pad lies in [0, n_in)."""
    lo = max(0, -(-(pad - tap_off) // step))
    hi = min(n_out, -(-(n_in + pad - tap_off) // step))
    return lo, max(lo, hi)


@njit
def _im2col_plane(x, col, n, c, geom, rs):
    """col[n*rs_n + g*rs_g + r*rs_r, oh*OW + ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw].

    r = (c % (C//G)) * KH*KW + i*KW + j, matching w.reshape(O, -1); out-of-image pixels are 0.
    Shapes: x (N, C, H, W) -> col (rows, OH * OW).
    """
    _, C, H, W = x.shape
    KH, KW, sh, sw, dh, dw, pt, pl, G, OH, OW = geom
    Cg = C // G
    for i in range(KH):
        oh0, oh1 = _span(OH, pt, i * dh, sh, H)
        for j in range(KW):
            ow0, ow1 = _span(OW, pl, j * dw, sw, W)
            d = col[n * rs[0] + (c // Cg) * rs[1] + ((c % Cg) * KH * KW + i * KW + j) * rs[2]]
            d[:oh0 * OW] = 0
            d[oh1 * OW:] = 0
            iw0 = ow0 * sw + j * dw - pl
            for oh in range(oh0, oh1):
                s = x[n, c, oh * sh + i * dh - pt, iw0:]
                o = d[oh * OW: (oh + 1) * OW]
                o[:ow0] = 0
                o[ow1:] = 0
                o = o[ow0:ow1]
                if sw == 1:                 # unit stride: a plain copy that vectorises
                    for k in range(ow1 - ow0):
                        o[k] = s[k]
                elif sw == 2:               # a constant stride vectorises too (shuffles)
                    for k in range(ow1 - ow0):
                        o[k] = s[2 * k]
                else:
                    for k in range(ow1 - ow0):
                        o[k] = s[k * sw]


@njit
def _col2im_plane(col, gx, n, c, geom, rs):
    """The adjoint of _im2col_plane: gx[n, c] sums the column entries that copied each pixel.

    Shapes: col (rows, OH * OW) -> gx (N, C, H, W).
    """
    _, C, H, W = gx.shape
    KH, KW, sh, sw, dh, dw, pt, pl, G, OH, OW = geom
    Cg = C // G
    gx[n, c] = 0
    for i in range(KH):
        oh0, oh1 = _span(OH, pt, i * dh, sh, H)
        for j in range(KW):
            ow0, ow1 = _span(OW, pl, j * dw, sw, W)
            d = col[n * rs[0] + (c // Cg) * rs[1] + ((c % Cg) * KH * KW + i * KW + j) * rs[2]]
            iw0 = ow0 * sw + j * dw - pl
            for oh in range(oh0, oh1):
                t = gx[n, c, oh * sh + i * dh - pt, iw0:]
                s = d[oh * OW + ow0: oh * OW + ow1]
                if sw == 1:
                    for k in range(ow1 - ow0):
                        t[k] += s[k]
                elif sw == 2:
                    for k in range(ow1 - ow0):
                        t[2 * k] += s[k]
                else:
                    for k in range(ow1 - ow0):
                        t[k * sw] += s[k]


# Each (n, c) plane is one task: im2col writes disjoint rows, and col2im's scatter-add stays
# inside one plane of gx, so the parallel loops need no atomics.
@njit
def _im2col_run(nc0, nc1, x, col, geom, rs):
    for nc in range(nc0, nc1):
        _im2col_plane(x, col, nc // x.shape[1], nc % x.shape[1], geom, rs)


@njit
def _col2im_run(nc0, nc1, col, gx, geom, rs):
    for nc in range(nc0, nc1):
        _col2im_plane(col, gx, nc // gx.shape[1], nc % gx.shape[1], geom, rs)


def _im2col(x, col, geom, rs):
    """Shapes: x (Nc, C, H, W) -> col (rows, OH * OW), in place."""
    run_tasks(_im2col_run, x.shape[0] * x.shape[1], x, col, geom, rs,
              parallel=col.size >= PARALLEL_MIN)


def _col2im(col, gx, geom, rs):
    """Shapes: col (rows, OH * OW) -> gx (Nc, C, H, W), in place."""
    run_tasks(_col2im_run, gx.shape[0] * gx.shape[1], col, gx, geom, rs,
              parallel=col.size >= PARALLEL_MIN)


def _chunks(spec, dtype):
    """Yield (n0, n1, col, rs, geom): a column buffer for samples [n0, n1), its row strides.

    Layout col (G, R, Nc, P), seen as (rows, P): one GEMM per group covers the whole chunk.
    Shapes: R = C//G * KH * KW, P = OH * OW.
    """
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    G, R, P = spec.groups, spec.C // spec.groups * spec.KH * spec.KW, spec.OH * spec.OW
    geom = (spec.KH, spec.KW, sh, sw, dh, dw, pt, pl, G, spec.OH, spec.OW)
    per_sample = max(1, G * R * P * np.dtype(dtype).itemsize)     # R = 0 without channels
    chunk = max(1, min(spec.N, WORKSPACE_BYTES // per_sample))
    if P >= PER_SAMPLE_P:
        chunk = 1
    for n0 in range(0, spec.N, chunk):
        Nc = min(chunk, spec.N - n0)
        col = scratch("im2col", (Nc * G * R * P,), dtype).reshape(-1, P)
        yield n0, n0 + Nc, col, (1, R * Nc, Nc), geom


def _to_groups(a, G):
    """The chunk of an NCHW array as GEMM operands, one per group (a transposed copy).

    Shapes: (Nc, G * K, P) -> (G, K, Nc * P).
    """
    Nc, GK, P = a.shape
    return np.ascontiguousarray(a.reshape(Nc, G, GK // G, P).transpose(1, 2, 0, 3)).reshape(
        G, GK // G, Nc * P)


def forward(x, w, spec, kept=None):
    """y = w @ im2col(x), one GEMM per chunk and group.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW) -> y (N, O, OH, OW).
    """
    if any(spec.padding) and not finite(w):     # padding's zero columns times inf would be NaN
        return direct.forward(x, w, spec)
    G, O, P = spec.groups, spec.O, spec.OH * spec.OW
    x0, x, wg = x, np.ascontiguousarray(x), w.reshape(G, O // G, -1)
    y = np.empty((spec.N, O, P), x.dtype)
    for n0, n1, col, rs, geom in _chunks(spec, x.dtype):
        _im2col(x[n0:n1], col, geom, rs)
        cg = col.reshape(G, -1, (n1 - n0) * P)
        if n1 - n0 == 1:                                # one sample: the GEMM lands in NCHW
            np.matmul(wg, cg, out=y[n0].reshape(G, O // G, P))
        else:
            yc = np.matmul(wg, cg)                                        # (G, O//G, Nc*P)
            y[n0:n1] = yc.reshape(O, n1 - n0, P).transpose(1, 0, 2)
        if kept is not None and n1 - n0 == spec.N:     # the whole batch's, while they last
            kept["columns"] = (x0, Lease("im2col", col))
    return y.reshape(spec.y_shape)


def _gy_groups(gy0, gy, spec, n0, n1, kept):
    """gy[n0:n1] as the GEMMs' operand (G, O // G, Nc * P). Made once per gy where both
    gradients can use it: the whole batch in one chunk, no bigger than the workspace.

    Shapes: gy (N, O, P) -> (G, O // G, (n1 - n0) * P).
    """
    held = kept.get("gy_groups") if kept is not None else None
    if held is not None and held[0] is gy0:
        return held[1]
    gyg = _to_groups(gy[n0:n1], spec.groups)
    if kept is not None and n1 - n0 == spec.N and gyg.nbytes <= WORKSPACE_BYTES:
        kept["gy_groups"] = (gy0, gyg)
    return gyg


def grad_input(gy, w, spec, kept=None):
    """gx = col2im(w^T @ gy): the transpose of the forward GEMM, then the scatter-add.

    Shapes: gy (N, O, OH, OW), w (O, C // groups, KH, KW) -> gx (N, C, H, W).
    """
    G, O, P = spec.groups, spec.O, spec.OH * spec.OW
    wt = w.reshape(G, O // G, -1).transpose(0, 2, 1)                    # (G, R, O//G), no copy
    gy0, gy = gy, gy.reshape(spec.N, O, P)
    # One output channel per group (depthwise) makes the GEMM an outer product: a broadcast
    # multiply is ~4x faster than the many tiny GEMMs matmul would dispatch (measured).
    product = np.multiply if O == G else np.matmul
    gx = np.empty(spec.x_shape, gy.dtype)
    for n0, n1, col, rs, geom in _chunks(spec, gy.dtype):
        gyg = _gy_groups(gy0, gy, spec, n0, n1, kept)
        product(wt, gyg, out=col.reshape(G, -1, (n1 - n0) * P))
        _col2im(col, gx[n0:n1], geom, rs)
    return gx


def grad_weight(x, gy, spec, kept=None):
    """gw = sum over chunks of gy @ im2col(x)^T; with few outputs per group, im2col(x) @ gy^T.

    Both are GEMMs with a long K = N * OH * OW. With O // groups <= THIN_O OpenBLAS ran the
    transposed product 1.2-2x faster (116 against 54 GFLOP/s for groups 4 with 16 outputs each,
    221 against 178 for O = 64 at K = 25088); at 8x256x14x14 -> 256 it was slower (9.8 against
    7.9 ms). gw is small, so transposing it back is cheap.
    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C // groups, KH, KW).
    """
    G, O, P = spec.groups, spec.O, spec.OH * spec.OW
    R, thin = spec.C // G * spec.KH * spec.KW, O // G <= THIN_O
    x0, x, gy0, gy = x, np.ascontiguousarray(x), gy, gy.reshape(spec.N, O, P)
    acc = np.zeros((G, R, O // G) if thin else (G, O // G, R), x.dtype)
    held = kept.get("columns") if kept is not None else None
    if held is not None and held[0] is x0 and held[1].intact():    # the forward's, untouched
        chunks = [(0, spec.N, held[1].array, None, None)]
    else:
        chunks = _chunks(spec, x.dtype)
    for n0, n1, col, rs, geom in chunks:
        if geom is not None:
            _im2col(x[n0:n1], col, geom, rs)
        gyg, colg = _gy_groups(gy0, gy, spec, n0, n1, kept), col.reshape(G, -1, (n1 - n0) * P)
        if thin:                                        # transposed views: BLAS reads them as is
            acc += np.matmul(colg, gyg.transpose(0, 2, 1))
        else:
            acc += np.matmul(gyg, colg.transpose(0, 2, 1))
    gw = np.ascontiguousarray(acc.transpose(0, 2, 1) if thin else acc).reshape(spec.w_shape)
    if any(spec.padding) and not nan_free(gw):  # perhaps gy's inf times padding's zero columns
        return direct.grad_weight(x, gy0, spec)
    return gw
