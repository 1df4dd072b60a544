package dev.loftq.simd;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused dequantize-matmul for {@link PackedMatrix} weights W [out, in] with an optional LoRA term:
 * {@code y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ}, A [r, in], B [out, r], activations and outputs fp32, batch-major
 * (x [batch, in], y [batch, out]). GEMV decodes codes in registers and never materialises W; GEMM
 * decodes a tile of rows once into fp32 and reuses it across the batch. Rows (tiles) run in parallel.
 * Species come from {@code SPECIES_PREFERRED} (512, 256 or 128 bits); measured allocation-free (JMH -prof gc)
 * on 512-bit and on 256-bit (-XX:UseAVX=2) vectors.
 * Scalar twins follow.
 */
public final class QuantMatmul {
    private QuantMatmul() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int IL = I.length();
    /** Bytes per load: one int vector's worth of codes, at least 8 (the smallest byte species). */
    private static final VectorSpecies<Byte> BS = IL >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    private static final int BL = BS.length(), PARTS = BL / IL;

    /** Whether the vector path can run this matrix (each block's byte segment a multiple of the load size). */
    static boolean vectorizable(PackedMatrix w) {
        return (w.blockSize() * w.bits() / 8) % BL == 0;
    }

    // ---- GEMV ---------------------------------------------------------------------------------------

    /** y[o] = Σ_i x[i]·W[o, i] (+ s·Σ_c B[o, c]·(A·x)[c] when a is not null). */
    public static void gemv(PackedMatrix w, float[] x, float[] y, float[] a, float[] b, int r, float s) {
        if (!vectorizable(w)) {
            gemvScalar(w, x, y, a, b, r, s);
            return;
        }
        float[] t = loraIn(x, 1, w.cols(), a, r);
        int[] lut = lut(w);
        // The 2-row kernel only where one selectFrom holds the table (16 int lanes): an 8-lane version of it
        // fell back to boxed vectors (200 MB/op under -XX:UseAVX=2); 8-lane machines get dotRow4Lanes8.
        boolean pairs = w.bits() == 4 && IL >= 16;
        Parallel.forChunks(w.rows(), 64, (r0, r1) -> {
            int o = r0;
            if (pairs) {
                for (; o + 3 < r1; o += 4) dot4Rows4(w, o, lut, x, y);
                for (; o + 1 < r1; o += 2) dot2Rows4(w, o, lut, x, y);
            }
            for (; o < r1; o++) y[o] = w.bits() == 4 && IL == 8 ? dotRow4Lanes8(w, o, lut, x) : dotRow(w, o, lut, x, 0);
            if (t != null) for (o = r0; o < r1; o++) y[o] += s * Gemm.dot(b, o * r, t, 0, r);
        });
    }

    /**
     * The 4-bit GEMV kernel for 16-lane ints: rows o and o + 1 at once (x loads shared), low and high nibbles
     * in separate accumulators (four independent FMA chains), the 16-entry table in one register.
     */
    static void dot2Rows4(PackedMatrix w, int o, int[] lut, float[] x, float[] y) {
        int bs = w.blockSize(), seg = bs / 2, blocks = w.cols() / bs;
        IntVector table = IntVector.fromArray(I, lut, 0);
        byte[] data = w.data();
        float[] scales = w.scales();
        FloatVector t0 = FloatVector.zero(F), t1 = t0;
        for (int blk = 0, rb0 = o * blocks, rb1 = rb0 + blocks; blk < blocks; blk++) {
            FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
            int base0 = (rb0 + blk) * seg, base1 = (rb1 + blk) * seg, xb = blk * bs;
            for (int j = 0; j < seg; j += BL) {
                ByteVector bytes0 = ByteVector.fromArray(BS, data, base0 + j), bytes1 = ByteVector.fromArray(BS, data, base1 + j);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xlo = FloatVector.fromArray(F, x, xb + j + p * IL), xhi = FloatVector.fromArray(F, x, xb + seg + j + p * IL);
                    IntVector c0 = (IntVector) bytes0.castShape(I, p), c1 = (IntVector) bytes1.castShape(I, p);
                    a0 = c0.and(15).selectFrom(table).reinterpretAsFloats().fma(xlo, a0);
                    b0 = c0.lanewise(VectorOperators.LSHR, 4).and(15).selectFrom(table).reinterpretAsFloats().fma(xhi, b0);
                    a1 = c1.and(15).selectFrom(table).reinterpretAsFloats().fma(xlo, a1);
                    b1 = c1.lanewise(VectorOperators.LSHR, 4).and(15).selectFrom(table).reinterpretAsFloats().fma(xhi, b1);
                }
            }
            t0 = a0.add(b0).fma(FloatVector.broadcast(F, scales[rb0 + blk]), t0);
            t1 = a1.add(b1).fma(FloatVector.broadcast(F, scales[rb1 + blk]), t1);
        }
        y[o] = Gemm.sumLanes(t0);
        y[o + 1] = Gemm.sumLanes(t1);
    }

    /** {@link #dot2Rows4} for rows o .. o + 3: each x load feeds four rows; eight independent FMA chains. */
    static void dot4Rows4(PackedMatrix w, int o, int[] lut, float[] x, float[] y) {
        int bs = w.blockSize(), seg = bs / 2, blocks = w.cols() / bs;
        IntVector table = IntVector.fromArray(I, lut, 0);
        byte[] data = w.data();
        float[] scales = w.scales();
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int blk = 0, rb0 = o * blocks; blk < blocks; blk++) {
            FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
            int s0 = (rb0 + blk) * seg, step = blocks * seg, xb = blk * bs;
            for (int j = 0; j < seg; j += BL) {
                ByteVector r0 = ByteVector.fromArray(BS, data, s0 + j), r1 = ByteVector.fromArray(BS, data, s0 + step + j);
                ByteVector r2 = ByteVector.fromArray(BS, data, s0 + 2 * step + j), r3 = ByteVector.fromArray(BS, data, s0 + 3 * step + j);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xlo = FloatVector.fromArray(F, x, xb + j + p * IL), xhi = FloatVector.fromArray(F, x, xb + seg + j + p * IL);
                    IntVector c = (IntVector) r0.castShape(I, p);
                    a0 = c.and(15).selectFrom(table).reinterpretAsFloats().fma(xlo, a0);
                    b0 = c.lanewise(VectorOperators.LSHR, 4).and(15).selectFrom(table).reinterpretAsFloats().fma(xhi, b0);
                    c = (IntVector) r1.castShape(I, p);
                    a1 = c.and(15).selectFrom(table).reinterpretAsFloats().fma(xlo, a1);
                    b1 = c.lanewise(VectorOperators.LSHR, 4).and(15).selectFrom(table).reinterpretAsFloats().fma(xhi, b1);
                    c = (IntVector) r2.castShape(I, p);
                    a2 = c.and(15).selectFrom(table).reinterpretAsFloats().fma(xlo, a2);
                    b2 = c.lanewise(VectorOperators.LSHR, 4).and(15).selectFrom(table).reinterpretAsFloats().fma(xhi, b2);
                    c = (IntVector) r3.castShape(I, p);
                    a3 = c.and(15).selectFrom(table).reinterpretAsFloats().fma(xlo, a3);
                    b3 = c.lanewise(VectorOperators.LSHR, 4).and(15).selectFrom(table).reinterpretAsFloats().fma(xhi, b3);
                }
            }
            t0 = a0.add(b0).fma(FloatVector.broadcast(F, scales[rb0 + blk]), t0);
            t1 = a1.add(b1).fma(FloatVector.broadcast(F, scales[rb0 + blocks + blk]), t1);
            t2 = a2.add(b2).fma(FloatVector.broadcast(F, scales[rb0 + 2 * blocks + blk]), t2);
            t3 = a3.add(b3).fma(FloatVector.broadcast(F, scales[rb0 + 3 * blocks + blk]), t3);
        }
        y[o] = Gemm.sumLanes(t0);
        y[o + 1] = Gemm.sumLanes(t1);
        y[o + 2] = Gemm.sumLanes(t2);
        y[o + 3] = Gemm.sumLanes(t3);
    }

    /**
     * The 4-bit GEMV kernel for 8-lane ints (AVX2): the table's two halves in two registers, looked up with
     * two selectFrom and a blend on code ≥ 8, low and high nibbles in separate accumulators.
     */
    static float dotRow4Lanes8(PackedMatrix w, int o, int[] lut, float[] x) {
        int bs = w.blockSize(), seg = bs / 2, blocks = w.cols() / bs;
        IntVector lower = IntVector.fromArray(I, lut, 0), upper = IntVector.fromArray(I, lut, 8);
        byte[] data = w.data();
        float[] scales = w.scales();
        FloatVector total = FloatVector.zero(F);
        for (int blk = 0, rb = o * blocks; blk < blocks; blk++) {
            FloatVector a = FloatVector.zero(F), b = a;
            int base = (rb + blk) * seg, xb = blk * bs;
            for (int j = 0; j < seg; j += 8) {
                IntVector c = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_64, data, base + j).castShape(I, 0);
                IntVector lo = c.and(15), hi = c.lanewise(VectorOperators.LSHR, 4).and(15);
                IntVector lo7 = lo.and(7), hi7 = hi.and(7);
                IntVector vlo = lo7.selectFrom(lower).blend(lo7.selectFrom(upper), lo.compare(VectorOperators.GE, 8));
                IntVector vhi = hi7.selectFrom(lower).blend(hi7.selectFrom(upper), hi.compare(VectorOperators.GE, 8));
                a = vlo.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xb + j), a);
                b = vhi.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xb + seg + j), b);
            }
            total = a.add(b).fma(FloatVector.broadcast(F, scales[rb + blk]), total);
        }
        return Gemm.sumLanes(total);
    }

    /** Σ_i x[xOff + i]·W[o, i], decoding W's row in registers block by block. */
    static float dotRow(PackedMatrix w, int o, int[] lut, float[] x, int xOff) {
        int bs = w.blockSize(), bits = w.bits(), per = 8 / bits, seg = bs / per, mask = (1 << bits) - 1;
        int blocks = w.cols() / bs, rowBlock = o * blocks;
        float step = w.step(), zero = w.zeroCode();
        byte[] data = w.data();
        FloatVector total = FloatVector.zero(F);
        for (int blk = 0; blk < blocks; blk++) {
            FloatVector acc = FloatVector.zero(F);
            int base = (rowBlock + blk) * seg, xb = xOff + blk * bs;
            for (int j = 0; j < seg; j += BL) {
                ByteVector bytes = ByteVector.fromArray(BS, data, base + j);
                for (int p = 0; p < PARTS; p++) {
                    IntVector c = (IntVector) bytes.castShape(I, p);
                    for (int q = 0; q < per; q++) {
                        FloatVector v = values(c, q * bits, mask, lut, zero, step);
                        acc = v.fma(FloatVector.fromArray(F, x, xb + q * seg + j + p * IL), acc);
                    }
                }
            }
            total = acc.fma(FloatVector.broadcast(F, w.scales()[rowBlock + blk]), total);
        }
        return Gemm.sumLanes(total);
    }

    public static void gemvScalar(PackedMatrix w, float[] x, float[] y, float[] a, float[] b, int r, float s) {
        float[] t = a == null ? null : new float[r];
        if (t != null) Gemm.multTransBScalar(a, r, w.cols(), x, 1, t);
        float[] row = new float[w.cols()];
        for (int o = 0; o < w.rows(); o++) {
            decodeRowScalar(w, o, row, 0);
            float v = 0;
            for (int i = 0; i < w.cols(); i++) v += row[i] * x[i];
            if (t != null) for (int c = 0; c < r; c++) v += s * b[o * r + c] * t[c];
            y[o] = v;
        }
    }

    // ---- GEMM ---------------------------------------------------------------------------------------

    /** y[n, o] = Σ_i x[n, i]·W[o, i] (+ LoRA) for n &lt; batch: x [batch, in], y [batch, out]. */
    public static void gemm(PackedMatrix w, float[] x, int batch, float[] y, float[] a, float[] b, int r, float s) {
        int rows = w.rows(), cols = w.cols(), tile = 16;
        float[] t = loraIn(x, batch, cols, a, r);
        int[] lut = lut(w);
        Parallel.forChunks(rows, tile, (r0, r1) -> {
            int h = r1 - r0;
            float[] dec = new float[h * cols], out = new float[batch * h];
            for (int o = r0; o < r1; o++) decodeRow(w, o, lut, dec, (o - r0) * cols);
            Gemm.multTransB(x, batch, cols, dec, h, out);
            float[] lora = null;
            if (t != null) {                         // (x·Aᵀ)·Bᵀ for this tile's rows, as one small GEMM
                lora = new float[batch * h];
                Gemm.multTransB(t, batch, r, java.util.Arrays.copyOfRange(b, r0 * r, r1 * r), h, lora);
            }
            for (int n = 0; n < batch; n++) {
                for (int o = r0; o < r1; o++) {
                    float v = out[n * h + o - r0];
                    y[n * rows + o] = lora == null ? v : v + s * lora[n * h + o - r0];
                }
            }
        });
    }

    /** out[outOff ..] = row o of W, decoded (vector path when the layout allows). */
    static void decodeRow(PackedMatrix w, int o, float[] out, int outOff) {
        decodeRow(w, o, lut(w), out, outOff);
    }

    /** {@link #decodeRow(PackedMatrix, int, float[], int)} with the table's lookup bits built once by the caller. */
    static void decodeRow(PackedMatrix w, int o, int[] lut, float[] out, int outOff) {
        if (!vectorizable(w)) {
            decodeRowScalar(w, o, out, outOff);
            return;
        }
        int bs = w.blockSize(), bits = w.bits(), per = 8 / bits, seg = bs / per, mask = (1 << bits) - 1;
        int blocks = w.cols() / bs, rowBlock = o * blocks;
        float step = w.step(), zero = w.zeroCode();
        for (int blk = 0; blk < blocks; blk++) {
            float scale = w.scales()[rowBlock + blk];
            int base = (rowBlock + blk) * seg, ob = outOff + blk * bs;
            for (int j = 0; j < seg; j += BL) {
                ByteVector bytes = ByteVector.fromArray(BS, w.data(), base + j);
                for (int p = 0; p < PARTS; p++) {
                    IntVector c = (IntVector) bytes.castShape(I, p);
                    for (int q = 0; q < per; q++) {
                        values(c, q * bits, mask, lut, zero, step).mul(scale).intoArray(out, ob + q * seg + j + p * IL);
                    }
                }
            }
        }
    }

    /** Table values of the codes in bits [shift, shift + bits) of each lane: lookup, or affine for 8 bits (lut null). */
    private static FloatVector values(IntVector packed, int shift, int mask, int[] lut, float zero, float step) {
        IntVector code = packed.lanewise(VectorOperators.LSHR, shift).and(mask);
        return lut == null
                ? ((FloatVector) code.convert(VectorOperators.I2F, 0)).sub(zero).mul(step)
                : QuantKernels.lookup(code, lut).reinterpretAsFloats();
    }

    /** The scalar decode both twins agree with: 8-bit codes decode affinely, (c − zeroCode)·step. */
    static void decodeRowScalar(PackedMatrix w, int o, float[] out, int outOff) {
        float step = w.step(), zero = w.zeroCode();
        int blocks = w.cols() / w.blockSize();
        for (int i = 0; i < w.cols(); i++) {
            int code = w.code(o, i);
            float v = w.bits() == 8 ? (code - zero) * step : w.table()[code];
            out[outOff + i] = v * w.scales()[o * blocks + i / w.blockSize()];
        }
    }

    public static void gemmScalar(PackedMatrix w, float[] x, int batch, float[] y, float[] a, float[] b, int r, float s) {
        float[] xn = new float[w.cols()], yn = new float[w.rows()];
        for (int n = 0; n < batch; n++) {
            System.arraycopy(x, n * w.cols(), xn, 0, w.cols());
            gemvScalar(w, xn, yn, a, b, r, s);
            System.arraycopy(yn, 0, y, n * w.rows(), w.rows());
        }
    }

    /** The table's bits for in-register lookup; null for 8-bit codes, which decode affinely. */
    private static int[] lut(PackedMatrix w) {
        return w.bits() == 8 ? null : QuantKernels.lutBits(w.table());
    }

    /** x·Aᵀ [batch, r], or null without LoRA. */
    private static float[] loraIn(float[] x, int batch, int cols, float[] a, int r) {
        if (a == null) return null;
        float[] t = new float[batch * r];
        Gemm.multTransB(x, batch, cols, a, r, t);
        return t;
    }
}
