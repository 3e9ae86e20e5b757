"""The vector intrinsics behind the blocked kernel, lane by lane against NumPy."""
import numpy as np
import pytest

from tatamikomi.kernels import _simd
from tatamikomi.kernels._jit import njit
from tatamikomi.kernels._simd import vfma, vload, vsplat, vstore, vstore_packed


@njit
def _fma_at(a, b, c, out, i, s):
    """out[i:i+L] = fma(a, b, c) over [i, i+L); out[i+L:i+2L] = s."""
    vstore(out, i, vfma(vload(a, i), vload(b, i), vload(c, i)))
    vstore(out, i + _lanes_of(out), vsplat(out, s))


@njit
def _lanes_of(a):
    return 64 // a.itemsize


@njit
def _packed(a, out, i, mask):
    vstore_packed(out, i, vload(a, 0), mask)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lanes_load_store_splat_and_fused_multiply_add(dtype):
    L = _simd.lanes(np.dtype(dtype))
    assert L == 64 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(3 * L + 3).astype(dtype) for _ in range(3))
    out = np.full(3 * L + 3, -7, dtype)
    _fma_at(a, b, c, out, 3, 2.5)                         # unaligned on purpose
    # one rounding: the exact product-sum, rounded once (float64 products of float32 are exact)
    exact = (a[3:3 + L].astype(np.float64) * b[3:3 + L] + c[3:3 + L]).astype(dtype)
    if dtype == "float32":
        np.testing.assert_array_equal(out[3:3 + L], exact)
    else:
        np.testing.assert_allclose(out[3:3 + L], a[3:3 + L] * b[3:3 + L] + c[3:3 + L], rtol=1e-15)
    np.testing.assert_array_equal(out[3 + L:3 + 2 * L], np.full(L, 2.5, dtype))
    np.testing.assert_array_equal(out[:3], np.full(3, -7, dtype))     # nothing else written
    np.testing.assert_array_equal(out[3 + 2 * L:], np.full(L, -7, dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mask", [0, 1, 0b1011, -1])
def test_packed_store_writes_only_the_chosen_lanes_packed(dtype, mask):
    L = _simd.lanes(np.dtype(dtype))
    mask &= (1 << L) - 1
    a = np.arange(1, L + 1, dtype=dtype)
    out = np.zeros(2 * L, dtype)
    _packed(a, out, 2, mask)
    chosen = a[[lane for lane in range(L) if mask >> lane & 1]]
    expect = np.zeros(2 * L, dtype)
    expect[2:2 + len(chosen)] = chosen
    np.testing.assert_array_equal(out, expect)
