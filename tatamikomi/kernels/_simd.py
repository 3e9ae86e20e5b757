"""Register tiles generated for the vector ISA Numba compiles for: a Tile says how many rows and
vectors of accumulators, and how wide a vector is; the intrinsics below emit its loop as LLVM IR.

Numba vectorises loops by itself, but not a register-blocked micro-kernel: a tile of
accumulators that lives in registers across a whole reduction is invisible to its loop
vectoriser (a draft of the direct conv written with arrays for accumulators ran at 45 GFLOP/s,
against 250-290 with register tiles). Here the reduction loop is written in LLVM IR for the
tile's shape, each accumulator a phi of an LLVM vector, so they stay in registers wherever the
tile fits the register file: rows * vecs accumulators, vecs input vectors and one broadcast
(AVX-512: 8 x 3 of 16 float32 lanes in 32 registers; AVX2: 4 x 3 of 8 in 16; NEON: 8 x 3 of
4 in 32). A Tile's token is an argument of the kernels, typed by its shape, so each shape is its own
specialisation and its own cache entry. Each output lane is one fused multiply-add chain in
the order of its reduction, so a tile's shape never changes a forward result.
"""
import numba
import numpy as np
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic

# name -> (vector bytes, vector registers) of the ISAs with a tile of their own
ISAS = {"avx512": (64, 32), "avx2": (32, 16), "neon": (16, 32)}


def isa():
    """The vector ISA Numba compiles for: "avx512" (AVX-512F), "avx2" (with FMA), "neon"
    (AArch64), or None. NUMBA_CPU_FEATURES, where set, says which features it targets."""
    if numba.config.CPU_FEATURES is not None:
        have = {f[1:] for f in numba.config.CPU_FEATURES.split(",") if f.startswith("+")}
    else:
        have = {k for k, on in binding.get_host_cpu_features().items() if on}
    if "avx512f" in have:
        return "avx512"
    if {"avx2", "fma"} <= have:
        return "avx2"
    if binding.get_process_triple().startswith(("aarch64", "arm64")) or "neon" in have:
        return "neon"
    return None


class Tile:
    """rows x vecs accumulators, vectors of `width` bytes (width // itemsize lanes).

    Kernels take tile.token, a NumPy structured dtype whose field names spell the shape: Numba
    types it from its C fast path, in the signature, where a Python object of its own cost 7 us
    a call to type (measured). tile_rows, tile_vecs and the tiles read the shape from that type.
    """

    __slots__ = ("rows", "vecs", "width", "token")

    def __init__(self, rows, vecs, width):
        self.rows, self.vecs, self.width = rows, vecs, width
        self.token = np.dtype([(f"rows{rows}", "u1"), (f"vecs{vecs}", "u1"),
                               (f"width{width}", "u1")])

    def lanes(self, dtype):
        """How many values of a NumPy dtype one vector holds."""
        return self.width // np.dtype(dtype).itemsize

    def registers(self):
        """Vector registers the tile's loop keeps busy: accumulators, inputs, one broadcast."""
        return self.rows * self.vecs + self.vecs + 1

    def __repr__(self):
        return f"Tile({self.rows}, {self.vecs}, {self.width})"

    def __eq__(self, other):
        return isinstance(other, Tile) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


def _dims(token):
    """(rows, vecs, width) from the Numba type of a Tile's token."""
    names = list(getattr(getattr(token, "dtype", None), "fields", None) or ())
    if len(names) != 3 or not names[0].startswith("rows"):
        raise errors.TypingError(f"expected a Tile's token, got {token}")
    return tuple(int(n.removeprefix(p)) for n, p in zip(names, ("rows", "vecs", "width")))


@intrinsic
def tile_rows(typingctx, token):
    """The tile's rows, a constant."""
    rows = _dims(token)[0]
    return types.int64(token), lambda context, builder, sig, args: ir.Constant(
        ir.IntType(64), rows)


@intrinsic
def tile_vecs(typingctx, token):
    """The tile's vectors per row, a constant."""
    vecs = _dims(token)[1]
    return types.int64(token), lambda context, builder, sig, args: ir.Constant(
        ir.IntType(64), vecs)


# ---- IR helpers ---------------------------------------------------------------------------------

def _vector(token, dtype):
    el = ir.FloatType() if dtype == types.float32 else ir.DoubleType()
    return ir.VectorType(el, _dims(token)[2] * 8 // dtype.bitwidth)


def _data(context, builder, aryty, ary):
    return context.make_array(aryty)(context, builder, ary).data


def _at(builder, data, idx, ty):
    """A ty* to data[idx] (unchecked: callers keep idx in bounds)."""
    return builder.bitcast(builder.gep(data, [idx]), ty.as_pointer())


def _load(builder, data, idx, ty):
    return builder.load(_at(builder, data, idx, ty), align=1)


def _splat(builder, vty, s):
    one = builder.insert_element(ir.Constant(vty, ir.Undefined), s, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vty.count), [0] * vty.count)
    return builder.shuffle_vector(one, ir.Constant(vty, ir.Undefined), zeros)


def _fma(builder, a, b, c):
    """a * b + c lane by lane, rounded once."""
    bits = 32 if a.type.element == ir.FloatType() else 64
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(a.type, [a.type] * 3),
                                        f"llvm.fma.v{a.type.count}f{bits}")
    return builder.call(fn, [a, b, c])


def _i64(context, builder, sig, args, k):
    return context.cast(builder, args[k], sig.args[k], types.int64)


def _loop(builder, start, stop, step, carried, body):
    """The values `carried` through `for k in range(start, stop, step)` (step > 0), each
    iteration body(k, values) -> new values, as phis: the loop's state lives in registers."""
    before = builder.block
    head, loop, end = (builder.append_basic_block(f"tile.{n}") for n in ("head", "body", "end"))
    builder.branch(head)
    builder.position_at_end(head)
    k = builder.phi(start.type)
    k.add_incoming(start, before)
    phis = [builder.phi(v.type) for v in carried]
    for phi, v in zip(phis, carried):
        phi.add_incoming(v, before)
    builder.cbranch(builder.icmp_signed("<", k, stop), loop, end)
    builder.position_at_end(loop)
    new = body(k, phis)
    latch = builder.block
    k.add_incoming(builder.add(k, step), latch)
    for phi, v in zip(phis, new):
        phi.add_incoming(v, latch)
    builder.branch(head)
    builder.position_at_end(end)
    return phis


def _store_packed(builder, v, ptr, mask):
    """Store the lanes of v whose bit is set in the i64 mask, packed together from ptr on
    (llvm.masked.compressstore: vcompressps on AVX-512, scalar stores elsewhere)."""
    vty = v.type
    bits = 32 if vty.element == ir.FloatType() else 64
    m = builder.bitcast(builder.trunc(mask, ir.IntType(vty.count)),
                        ir.VectorType(ir.IntType(1), vty.count))
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [vty, ptr.type, m.type]),
        f"llvm.masked.compressstore.v{vty.count}f{bits}")
    builder.call(fn, [v, ptr, m])


# ---- the tiles ----------------------------------------------------------------------------------

@intrinsic
def fwd_tile(typingctx, tile, xp, xb, offs, wp, wi, bp, bi, y, yi, plane, n_out, dm):
    """The forward tile: for row j < rows and vector v < vecs, the sum
        bp[bi + j] + sum over r of wp[wi + r*rows + j] * xp[xb + offs[r] + v*L : + L],
    stored for rows j < n_out at y.flat[yi + j*plane + dm[2v]:], whole where the mask dm[2v+1]
    has all L bits, else its set lanes packed. Shapes: flat xp, offs, wp, bp; y any C array;
    dm (2 * vecs,) int64. Unchecked: callers keep every index in bounds.
    """
    def codegen(context, builder, sig, args):
        t, dtype = sig.args[0], sig.args[1].dtype
        vty, el = _vector(t, dtype), context.get_value_type(dtype)
        (R, V, _), L = _dims(t), vty.count
        xd, od, wd, bd, yd, md = (_data(context, builder, sig.args[k], args[k])
                                  for k in (1, 3, 4, 6, 8, 12))
        xb_, wi_, bi_, yi_, plane_, n_out_ = (_i64(context, builder, sig, args, k)
                                              for k in (2, 5, 7, 9, 10, 11))
        nr = builder.extract_value(context.make_array(sig.args[3])(
            context, builder, args[3]).shape, 0)
        i64 = ir.IntType(64)
        acc = []
        for j in range(R):
            b = _splat(builder, vty, builder.load(builder.gep(bd, [builder.add(
                bi_, ir.Constant(i64, j))])))
            acc += [b] * V

        def step(r, acc):
            base = builder.add(xb_, builder.load(builder.gep(od, [r])))
            xs = [_load(builder, xd, builder.add(base, ir.Constant(i64, v * L)), vty)
                  for v in range(V)]
            w0 = builder.add(wi_, builder.mul(r, ir.Constant(i64, R)))
            out = []
            for j in range(R):
                w = _splat(builder, vty, builder.load(builder.gep(wd, [builder.add(
                    w0, ir.Constant(i64, j))])))
                out += [_fma(builder, w, xs[v], acc[j * V + v]) for v in range(V)]
            return out
        acc = _loop(builder, ir.Constant(i64, 0), nr, ir.Constant(i64, 1), acc, step)
        full, zero = ir.Constant(i64, (1 << L) - 1), ir.Constant(i64, 0)
        dms = [builder.load(builder.gep(md, [ir.Constant(i64, k)])) for k in range(2 * V)]
        end = builder.append_basic_block("tile.stored")
        for j in range(R):                      # rows j < n_out, in order, then out
            row = builder.append_basic_block(f"tile.row{j}")
            builder.cbranch(builder.icmp_signed("<", ir.Constant(i64, j), n_out_), row, end)
            builder.position_at_end(row)
            at = builder.add(yi_, builder.mul(plane_, ir.Constant(i64, j)))
            for v in range(V):
                d, m = dms[2 * v], dms[2 * v + 1]
                ptr = builder.gep(yd, [builder.add(at, d)])
                with builder.if_else(builder.icmp_signed("==", m, full)) as (whole, part):
                    with whole:
                        builder.store(acc[j * V + v], builder.bitcast(ptr, vty.as_pointer()),
                                      align=1)
                    with part:
                        with builder.if_then(builder.icmp_signed("!=", m, zero)):
                            _store_packed(builder, acc[j * V + v],
                                          builder.bitcast(ptr, el.as_pointer()), m)
        builder.branch(end)
        builder.position_at_end(end)
        return context.get_dummy_value()
    return types.none(tile, xp, xb, offs, wp, wi, bp, bi, y, yi, plane, n_out, dm), codegen


@intrinsic
def gw_tile(typingctx, tile, xp, xb, offs, r0, gy, i, RL, q0, q1, part, p):
    """The grad_weight tile: for row j < rows and tap v < vecs (tap r0 + v, the last tap
    repeated past the end of offs), lane-wise partial sums over q in [q0, q1), step L,
        part[p + (j*vecs + v)*L : + L] += gy.flat[i + j*RL + q : + L] * xp[xb + offs[r] + q : + L].
    Shapes: flat xp, offs, part; gy any C array. Unchecked, as fwd_tile.
    """
    def codegen(context, builder, sig, args):
        t, dtype = sig.args[0], sig.args[1].dtype
        vty = _vector(t, dtype)
        (R, V, _), L = _dims(t), vty.count
        xd, od, gd, pd = (_data(context, builder, sig.args[k], args[k]) for k in (1, 3, 5, 10))
        xb_, r0_, i_, RL_, q0_, q1_, p_ = (_i64(context, builder, sig, args, k)
                                           for k in (2, 4, 6, 7, 8, 9, 11))
        i64 = ir.IntType(64)
        last = builder.sub(builder.extract_value(context.make_array(sig.args[3])(
            context, builder, args[3]).shape, 0), ir.Constant(i64, 1))
        offs_ = []
        for v in range(V):
            r = builder.add(r0_, ir.Constant(i64, v))
            r = builder.select(builder.icmp_signed("<", r, last), r, last)
            offs_.append(builder.add(xb_, builder.load(builder.gep(od, [r]))))
        rows = [builder.add(i_, builder.mul(RL_, ir.Constant(i64, j))) for j in range(R)]
        slots = [builder.add(p_, ir.Constant(i64, k * L)) for k in range(R * V)]
        acc = [_load(builder, pd, s, vty) for s in slots]

        def step(q, acc):
            xs = [_load(builder, xd, builder.add(o, q), vty) for o in offs_]
            out = []
            for j in range(R):
                g = _load(builder, gd, builder.add(rows[j], q), vty)
                out += [_fma(builder, g, xs[v], acc[j * V + v]) for v in range(V)]
            return out
        acc = _loop(builder, q0_, q1_, ir.Constant(i64, L), acc, step)
        for s, a in zip(slots, acc):
            builder.store(a, _at(builder, pd, s, vty), align=1)
        return context.get_dummy_value()
    return types.none(tile, xp, xb, offs, r0, gy, i, RL, q0, q1, part, p), codegen
