package dev.loftq.simd;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Blockwise quantization kernels over flat fp32 arrays, each followed by its scalar twin.
 *
 * <p>Conventions shared by every kernel:
 * <ul>
 *   <li>Values are a flat row-major run {@code x[off .. off+len)} split into blocks of {@code blockSize}
 *       consecutive values; the last block may be partial. {@code scales[scalesOff + b]} belongs to block b.
 *   <li>A code is the index into an ascending table. Encoding compares {@code v = x · (1/scale)} (fp32
 *       multiply by the reciprocal, as bitsandbytes does) with the ascending fp32 midpoints {@code mids}
 *       ({@code table.length − 1} of them): code = number of midpoints strictly below v. A value exactly on
 *       a midpoint therefore takes the lower code.
 *   <li>A block whose scale is below {@link Float#MIN_NORMAL} (zero included) encodes with reciprocal 0,
 *       i.e. every value as if it were 0; it decodes to {@code table[code] · scale}, which is ±0.
 *   <li>4-bit codes are packed two per byte, element 2k in the high nibble (bitsandbytes order);
 *       {@code packedOff} is in bytes and {@code off} must be even.
 * </ul>
 * Vector and scalar twins give bit-identical results: both use the same fp32 operations per value.
 * Species come from {@code SPECIES_PREFERRED}, so 128-, 256- and 512-bit machines all run native code.
 */
public final class QuantKernels {
    private QuantKernels() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;
    /** 8 packed bytes = 16 four-bit codes: the unit every 4-bit kernel steps by. */
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    private static final int FL = F.length();
    /** Float vectors per 16 weights (1 on AVX-512, 2 on AVX2, 4 on 128-bit). */
    private static final int PARTS = 16 / FL;
    private static final int LOG2_IL = Integer.numberOfTrailingZeros(I.length());

    /** Reciprocal used for encoding; 0 for zero or subnormal scales (see class doc). */
    public static float reciprocal(float scale) {
        return scale >= Float.MIN_NORMAL ? 1f / scale : 0f;
    }

    // ---- absmax per block -------------------------------------------------------------------

    /** scales[scalesOff + b] = max |x| over block b of x[off .. off+len). NaN propagates. */
    public static void absmaxBlocks(float[] x, int off, int len, int blockSize, float[] scales, int scalesOff) {
        for (int start = 0, b = scalesOff; start < len; start += blockSize, b++) {
            int n = Math.min(blockSize, len - start), base = off + start, i = 0;
            FloatVector acc = FloatVector.zero(F);
            for (int upper = F.loopBound(n); i < upper; i += FL) {
                acc = acc.max(FloatVector.fromArray(F, x, base + i).abs());
            }
            float m = acc.reduceLanes(VectorOperators.MAX);
            for (; i < n; i++) m = Math.max(m, Math.abs(x[base + i]));
            scales[b] = m;
        }
    }

    public static void absmaxBlocksScalar(float[] x, int off, int len, int blockSize, float[] scales, int scalesOff) {
        for (int start = 0, b = scalesOff; start < len; start += blockSize, b++) {
            int n = Math.min(blockSize, len - start);
            float m = 0f;
            for (int i = 0; i < n; i++) m = Math.max(m, Math.abs(x[off + start + i]));
            scales[b] = m;
        }
    }

    // ---- 4-bit encode + pack ------------------------------------------------------------------

    /**
     * Encodes x[off .. off+len) to 4-bit codes against {@code mids} (at most 15, ascending) and packs
     * them into packed[packedOff ..], two per byte, element 2k in the high nibble. blockSize must be a
     * multiple of 16. An odd len leaves the low nibble of the last byte 0.
     */
    public static void encode4(float[] x, int off, int len, int blockSize, float[] scales, int scalesOff,
                               float[] mids, byte[] packed, int packedOff) {
        int full = len & ~15;
        for (int i = 0; i < full; i += 16) {
            float inv = reciprocal(scales[scalesOff + i / blockSize]);
            ByteVector bytes = ByteVector.zero(B8);
            for (int p = 0; p < PARTS; p++) {
                FloatVector v = FloatVector.fromArray(F, x, off + i + p * FL).mul(inv);
                FloatVector count = FloatVector.zero(F);
                for (float m : mids) count = count.add(1f, v.compare(VectorOperators.GT, m));
                // Lanes (c0, c1) seen as one long c0 | c1 << 32: its low byte becomes c0 << 4 | c1.
                LongVector pairs = count.convert(VectorOperators.F2I, 0).reinterpretAsLongs();
                LongVector nibbles = pairs.lanewise(VectorOperators.LSHL, 4).or(pairs.lanewise(VectorOperators.LSHR, 32));
                bytes = bytes.or(nibbles.castShape(B8, -p));
            }
            bytes.intoArray(packed, packedOff + i / 2);
        }
        encode4Scalar(x, off + full, len - full, blockSize, scales, scalesOff, full, mids, packed, packedOff + full / 2);
    }

    public static void encode4Scalar(float[] x, int off, int len, int blockSize, float[] scales, int scalesOff,
                                     float[] mids, byte[] packed, int packedOff) {
        encode4Scalar(x, off, len, blockSize, scales, scalesOff, 0, mids, packed, packedOff);
    }

    /** Scalar 4-bit encoder for a run that starts {@code skip} values into the block grid. */
    private static void encode4Scalar(float[] x, int off, int len, int blockSize, float[] scales, int scalesOff,
                                      int skip, float[] mids, byte[] packed, int packedOff) {
        for (int i = 0; i < len; i += 2) {
            int hi = nearest(x[off + i] * reciprocal(scales[scalesOff + (skip + i) / blockSize]), mids);
            int lo = i + 1 < len ? nearest(x[off + i + 1] * reciprocal(scales[scalesOff + (skip + i + 1) / blockSize]), mids) : 0;
            packed[packedOff + i / 2] = (byte) (hi << 4 | lo);
        }
    }

    // ---- encode, one code per byte (any width up to 8 bits) -----------------------------------

    /** codes[codesOff + i] = code of x[off + i]; vectorised for tables of at most 16 entries. */
    public static void encodeCodes(float[] x, int off, int len, int blockSize, float[] scales, int scalesOff,
                                   float[] mids, byte[] codes, int codesOff) {
        if (mids.length > 15 || blockSize % FL != 0) {
            encodeCodesScalar(x, off, len, blockSize, scales, scalesOff, mids, codes, codesOff);
            return;
        }
        int i = 0;
        for (int upper = F.loopBound(len); i < upper; i += FL) {
            FloatVector v = FloatVector.fromArray(F, x, off + i).mul(reciprocal(scales[scalesOff + i / blockSize]));
            FloatVector count = FloatVector.zero(F);
            for (float m : mids) count = count.add(1f, v.compare(VectorOperators.GT, m));
            count.convert(VectorOperators.F2B, 0).reinterpretAsBytes().intoArray(codes, codesOff + i,
                    VectorMask.fromLong(ByteVector.SPECIES_PREFERRED, (1L << FL) - 1));
        }
        for (; i < len; i++) {
            codes[codesOff + i] = (byte) nearest(x[off + i] * reciprocal(scales[scalesOff + i / blockSize]), mids);
        }
    }

    public static void encodeCodesScalar(float[] x, int off, int len, int blockSize, float[] scales, int scalesOff,
                                         float[] mids, byte[] codes, int codesOff) {
        for (int i = 0; i < len; i++) {
            codes[codesOff + i] = (byte) nearest(x[off + i] * reciprocal(scales[scalesOff + i / blockSize]), mids);
        }
    }

    /** Number of ascending {@code mids} strictly below v (binary search). */
    public static int nearest(float v, float[] mids) {
        int lo = 0, hi = mids.length;
        while (lo < hi) {
            int m = (lo + hi) >>> 1;
            if (v > mids[m]) lo = m + 1; else hi = m;
        }
        return lo;
    }

    // ---- 4-bit unpack + dequantize ------------------------------------------------------------

    /**
     * out[off + i] = table[code_i] · scales[block of i] for the 4-bit codes packed at packed[packedOff ..]
     * (element 2k in the high nibble). table has 16 entries; blockSize a multiple of 16.
     */
    public static void decode4(byte[] packed, int packedOff, int len, int blockSize, float[] scales, int scalesOff,
                               float[] table, float[] out, int off) {
        int[] lut = lutBits(table);
        int full = len & ~15;
        for (int i = 0; i < full; i += 16) {
            float scale = scales[scalesOff + i / blockSize];
            ByteVector bytes = ByteVector.fromArray(B8, packed, packedOff + i / 2);
            for (int p = 0; p < PARTS; p++) {
                LongVector b = (LongVector) bytes.castShape(L, p);
                // Each long becomes (high nibble) | (low nibble) << 32: as ints, codes in element order.
                LongVector pairs = b.lanewise(VectorOperators.LSHR, 4).and(15L).or(b.and(15L).lanewise(VectorOperators.LSHL, 32));
                IntVector codes = pairs.reinterpretAsInts();
                lookup(codes, lut).reinterpretAsFloats().mul(scale).intoArray(out, off + i + p * FL);
            }
        }
        decode4Scalar(packed, packedOff + full / 2, len - full, blockSize, scales, scalesOff, full, table, out, off + full);
    }

    public static void decode4Scalar(byte[] packed, int packedOff, int len, int blockSize, float[] scales, int scalesOff,
                                     float[] table, float[] out, int off) {
        decode4Scalar(packed, packedOff, len, blockSize, scales, scalesOff, 0, table, out, off);
    }

    private static void decode4Scalar(byte[] packed, int packedOff, int len, int blockSize, float[] scales,
                                      int scalesOff, int skip, float[] table, float[] out, int off) {
        for (int i = 0; i < len; i++) {
            int b = packed[packedOff + i / 2];
            int code = (i & 1) == 0 ? (b >>> 4) & 15 : b & 15;
            out[off + i] = table[code] * scales[scalesOff + (skip + i) / blockSize];
        }
    }

    // ---- dequantize, one code per byte ----------------------------------------------------------

    /** out[off + i] = table[codes[codesOff + i] & 0xFF] · scale of its block; vectorised for ≤ 16 entries. */
    public static void decodeCodes(byte[] codes, int codesOff, int len, int blockSize, float[] scales, int scalesOff,
                                   float[] table, float[] out, int off) {
        if (table.length > 16 || blockSize % FL != 0) {
            decodeCodesScalar(codes, codesOff, len, blockSize, scales, scalesOff, table, out, off);
            return;
        }
        int[] lut = lutBits(table);
        int i = 0;
        for (int upper = F.loopBound(len); i < upper; i += FL) {
            IntVector c = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_PREFERRED, codes, codesOff + i,
                    VectorMask.fromLong(ByteVector.SPECIES_PREFERRED, (1L << FL) - 1)).castShape(I, 0);
            lookup(c, lut).reinterpretAsFloats().mul(scales[scalesOff + i / blockSize]).intoArray(out, off + i);
        }
        for (; i < len; i++) out[off + i] = table[codes[codesOff + i] & 0xFF] * scales[scalesOff + i / blockSize];
    }

    public static void decodeCodesScalar(byte[] codes, int codesOff, int len, int blockSize, float[] scales,
                                         int scalesOff, float[] table, float[] out, int off) {
        for (int i = 0; i < len; i++) out[off + i] = table[codes[codesOff + i] & 0xFF] * scales[scalesOff + i / blockSize];
    }

    // ---- table lookup ------------------------------------------------------------------------------

    /** The table's float bits, padded to a whole number of int vectors. */
    static int[] lutBits(float[] table) {
        int[] lut = new int[Math.max(I.length(), (table.length + I.length() - 1) / I.length() * I.length())];
        for (int k = 0; k < table.length; k++) lut[k] = Float.floatToRawIntBits(table[k]);
        return lut;
    }

    /**
     * Per-lane lut[code] with the table held in registers: one {@code selectFrom} when it fits one vector
     * (16 ints on AVX-512), else one per vector-sized slice, blended by the code's high bits.
     */
    static IntVector lookup(IntVector codes, int[] lut) {
        int il = I.length();
        IntVector low = codes.and(il - 1);
        IntVector result = low.selectFrom(IntVector.fromArray(I, lut, 0));
        for (int k = 1, slices = lut.length / il; k < slices; k++) {
            VectorMask<Integer> inSlice = codes.lanewise(VectorOperators.LSHR, LOG2_IL).compare(VectorOperators.EQ, k);
            result = result.blend(low.selectFrom(IntVector.fromArray(I, lut, k * il)), inSlice);
        }
        return result;
    }
}
