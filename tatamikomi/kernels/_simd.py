"""Whole-register vector values inside Numba code: load, store, broadcast, fused multiply-add,
and a masked store that packs the chosen lanes together.

Numba vectorises loops by itself, but not a register-blocked micro-kernel: a tile of
accumulators that lives in registers across a whole reduction is invisible to its loop
vectoriser (a draft of the direct conv written with arrays for accumulators ran at 45 GFLOP/s,
against 250-290 written with these). A `vec` value is an LLVM vector of 64 bytes (16 float32 or
8 float64), the width of one AVX-512 register; LLVM splits it into two or four registers on a
narrower CPU, so the code stays correct everywhere and is fast where the registers are this wide.
Every intrinsic takes an array first only to learn the element type.
"""
import numba
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

VEC_BYTES = 64


class VecType(types.Type):
    """A vector of `lanes` values of `dtype` (a Numba float type), held in registers."""

    def __init__(self, dtype, lanes):
        self.dtype, self.lanes = dtype, lanes
        super().__init__(name=f"vec({dtype}x{lanes})")


@register_model(VecType)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        el = ir.FloatType() if fe_type.dtype == types.float32 else ir.DoubleType()
        super().__init__(dmm, fe_type, ir.VectorType(el, fe_type.lanes))


def registers_fit():
    """Whether Numba compiles for AVX-512F, whose 32 registers of 64 bytes hold a 24-vector tile.

    Elsewhere the vectors split and the tiles spill to the stack: same results, but the blocked
    kernel ran 3.3x slower with AVX2 code on this machine (NUMBA_CPU_NAME=haswell and AVX2
    features) than with AVX-512 code.
    """
    if numba.config.CPU_FEATURES is not None:                 # NUMBA_CPU_FEATURES overrides
        return "+avx512f" in numba.config.CPU_FEATURES.split(",")
    return bool(binding.get_host_cpu_features().get("avx512f"))


def lanes(dtype):
    """How many values of a NumPy dtype one vector holds."""
    return VEC_BYTES // dtype.itemsize


def _vec(arr):
    return VecType(arr.dtype, VEC_BYTES * 8 // arr.dtype.bitwidth)


def _ptr(context, builder, arrty, arr, idx, vty):
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [idx]), vty.as_pointer())


@intrinsic
def vload(typingctx, arr, idx):
    """arr.flat[idx : idx + lanes], unaligned and unchecked: callers keep idx in bounds."""
    vt = _vec(arr)

    def codegen(context, builder, sig, args):
        vty = context.get_value_type(vt)
        return builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], vty), align=1)
    return vt(arr, idx), codegen


@intrinsic
def vstore(typingctx, arr, idx, v):
    """arr.flat[idx : idx + lanes] = v, unaligned and unchecked."""
    def codegen(context, builder, sig, args):
        builder.store(args[2], _ptr(context, builder, sig.args[0], args[0], args[1],
                                    args[2].type), align=1)
        return context.get_dummy_value()
    return types.none(arr, idx, v), codegen


@intrinsic
def vsplat(typingctx, arr, s):
    """A vector with every lane s (cast to arr's element type)."""
    vt = _vec(arr)

    def codegen(context, builder, sig, args):
        vty = context.get_value_type(vt)
        one = builder.insert_element(ir.Constant(vty, ir.Undefined),
                                     context.cast(builder, args[1], sig.args[1], vt.dtype),
                                     ir.Constant(ir.IntType(32), 0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vt.lanes), [0] * vt.lanes)
        return builder.shuffle_vector(one, ir.Constant(vty, ir.Undefined), mask)
    return vt(arr, s), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """a * b + c lane by lane, rounded once (llvm.fma)."""
    def codegen(context, builder, sig, args):
        vty = args[0].type
        bits = 32 if vty.element == ir.FloatType() else 64
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3),
                                            f"llvm.fma.v{vty.count}f{bits}")
        return builder.call(fn, args)
    return a(a, b, c), codegen


@intrinsic
def vstore_packed(typingctx, arr, idx, v, mask):
    """Store the lanes of v whose bit is set in the integer mask, packed together, from
    arr.flat[idx] on (llvm.masked.compressstore: vcompressps on AVX-512); unchecked."""
    def codegen(context, builder, sig, args):
        vty = args[2].type
        bits = 32 if vty.element == ir.FloatType() else 64
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        ptr = builder.gep(data, [args[1]])
        m = builder.bitcast(builder.trunc(args[3], ir.IntType(vty.count)),
                            ir.VectorType(ir.IntType(1), vty.count))
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [vty, ptr.type, m.type]),
            f"llvm.masked.compressstore.v{vty.count}f{bits}")
        builder.call(fn, [args[2], ptr, m])
        return context.get_dummy_value()
    return types.none(arr, idx, v, mask), codegen
