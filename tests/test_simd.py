"""The generated register tiles behind the blocked kernel, lane by lane against NumPy, for the
tile of every ISA (NEON's and AVX2's compiled for this CPU: exact here, fast only there)."""
import numpy as np
import pytest

from tatamikomi.kernels import _simd
from tatamikomi.kernels._jit import njit
from tatamikomi.kernels._simd import Tile, fwd_tile, gw_tile, tile_rows, tile_vecs

TILES = [Tile(8, 3, 64), Tile(4, 3, 32), Tile(6, 2, 32), Tile(8, 3, 16), Tile(4, 2, 16)]


@njit
def _fwd(token, xp, xb, offs, wp, wi, bp, bi, y, yi, plane, n_out, dm):
    fwd_tile(token, xp, xb, offs, wp, wi, bp, bi, y, yi, plane, n_out, dm)
    return tile_rows(token), tile_vecs(token)


@njit
def _gw(token, xp, xb, offs, r0, gy, i, RL, q0, q1, part, p):
    gw_tile(token, xp, xb, offs, r0, gy, i, RL, q0, q1, part, p)


def _chosen(L, mask):
    return [lane for lane in range(L) if mask >> lane & 1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("tile", TILES, ids=repr)
def test_forward_tile_sums_and_stores_the_valid_lanes(tile, dtype):
    rows, vecs, L = tile.rows, tile.vecs, tile.lanes(dtype)
    rng = np.random.default_rng(0)
    R, xb, wi, bi = 5, 3, 2, 1                              # unaligned on purpose
    offs = rng.permutation(40)[:R].astype(np.int64)
    xp = rng.standard_normal(xb + 40 + vecs * L).astype(dtype)
    wp = rng.standard_normal(wi + R * rows).astype(dtype)
    bp = rng.standard_normal(bi + rows).astype(dtype)
    plane, yi, n_out = vecs * L + 7, 4, rows - 1            # the last row is padding: not stored
    full = (1 << L) - 1
    masks = [full, 0b101 & full, 0][:vecs] + [full] * (vecs - 3)
    dm = np.array([v for k, m in enumerate(masks) for v in (k * L + 1, m)], np.int64)
    y = np.full(yi + rows * plane + L, -7, dtype)
    assert _fwd(tile.token, xp, xb, offs, wp, wi, bp, bi, y, yi, plane, n_out, dm) == (rows,
                                                                                       vecs)
    expect = np.full_like(y, -7)
    for j in range(n_out):
        for v, m in enumerate(masks):
            sums = bp[bi + j].astype(np.float64) + sum(
                wp[wi + r * rows + j].astype(np.float64) * xp[xb + offs[r] + v * L:][:L]
                for r in range(R))
            at = yi + j * plane + v * L + 1
            lanes = _chosen(L, m)
            expect[at:at + len(lanes)] = sums[lanes]
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(y, expect, rtol=tol, atol=tol)
    np.testing.assert_array_equal(y == -7, expect == -7)    # nothing else written


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("tile", TILES, ids=repr)
def test_grad_weight_tile_adds_lane_wise_partial_sums(tile, dtype):
    rows, vecs, L = tile.rows, tile.vecs, tile.lanes(dtype)
    rng = np.random.default_rng(1)
    R, r0, xb, RL, i, p = vecs + 1, 2, 5, 6 * L, 3, 2      # taps past R repeat the last one
    offs = rng.permutation(30)[:R].astype(np.int64)
    q0, q1 = L, 5 * L
    xp = rng.standard_normal(xb + 30 + RL).astype(dtype)
    gy = rng.standard_normal(i + rows * RL + L).astype(dtype)
    part = rng.standard_normal(p + rows * vecs * L + 3).astype(dtype)
    before = part.copy()
    _gw(tile.token, xp, xb, offs, r0, gy, i, RL, q0, q1, part, p)
    expect = before.astype(np.float64)
    for j in range(rows):
        for v in range(vecs):
            r = min(r0 + v, R - 1)
            for q in range(q0, q1, L):
                expect[p + (j * vecs + v) * L:][:L] += (gy[i + j * RL + q:][:L].astype(np.float64)
                                                        * xp[xb + offs[r] + q:][:L])
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(part, expect, rtol=tol, atol=tol)


def test_an_empty_reduction_leaves_the_bias_and_the_partial_sums():
    tile, L = Tile(4, 2, 32), 8
    y, dm = np.zeros(4 * 16, np.float32), np.array([0, 255, 8, 255], np.int64)
    bp = np.arange(1, 5, dtype=np.float32)
    _fwd(tile.token, np.zeros(64, np.float32), 0, np.zeros(0, np.int64), np.zeros(1, np.float32),
         0, bp, 0, y, 0, 16, 4, dm)
    np.testing.assert_array_equal(y.reshape(4, 16), np.repeat(bp, 16).reshape(4, 16))
    part = np.arange(4 * 2 * L, dtype=np.float32)
    _gw(tile.token, np.zeros(64, np.float32), 0, np.zeros(1, np.int64), 0,
        np.zeros(64, np.float32), 0, 8, 8, 8, part, 0)                   # q0 == q1
    np.testing.assert_array_equal(part, np.arange(4 * 2 * L, dtype=np.float32))


def test_tile_shapes_and_their_registers():
    assert Tile(8, 3, 64).lanes(np.float32) == 16 and Tile(8, 3, 64).lanes(np.float64) == 8
    assert Tile(4, 3, 32).registers() == 16 and Tile(8, 3, 64).registers() == 28
    assert Tile(8, 3, 16) == Tile(8, 3, 16) and Tile(8, 3, 16) != Tile(8, 3, 64)
    for name, tile in (("avx512", Tile(8, 3, 64)), ("avx2", Tile(4, 3, 32)),
                       ("neon", Tile(8, 3, 16))):
        width, registers = _simd.ISAS[name]
        assert tile.width == width and tile.registers() <= registers


def test_isa_reads_numba_target_features(monkeypatch):
    from numba.core import config
    monkeypatch.setattr(config, "CPU_FEATURES", "+avx,+avx2,+fma")
    assert _simd.isa() == "avx2"
    monkeypatch.setattr(config, "CPU_FEATURES", "+avx,+avx2")               # no FMA
    assert _simd.isa() in (None, "neon")                # neon only on an AArch64 host
    monkeypatch.setattr(config, "CPU_FEATURES", "+avx2,+fma,+avx512f,+avx512vl")
    assert _simd.isa() == "avx512"
