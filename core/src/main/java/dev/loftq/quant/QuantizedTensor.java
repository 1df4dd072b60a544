package dev.loftq.quant;

import dev.loftq.simd.BitPacking;
import dev.loftq.simd.Parallel;
import dev.loftq.simd.QuantKernels;

/**
 * A blockwise-quantized [rows, cols] matrix: the row-major flattening is cut into blocks of
 * {@code blockSize} values (the last may be partial), each with one fp32 scale; every value is a code
 * into {@link Codebook#values()} (ascending order), bit-packed big-endian ({@link BitPacking}: for 4 bits,
 * element 2k in the high nibble). Value i decodes to {@code table[code_i] · scales[i / blockSize]}.
 *
 * <p>With double quantization the scales themselves are stored 8-bit ({@link DoubleQuantizedScales}) and
 * {@link #scales()} holds their decoded values, which are the ones the codes are decoded with.
 */
public final class QuantizedTensor {
    private final Codebook codebook;
    private final int rows, cols, blockSize;
    private final byte[] packed;
    private final float[] scales;
    private final DoubleQuantizedScales doubleQuant;

    QuantizedTensor(Codebook codebook, int rows, int cols, int blockSize, byte[] packed, float[] scales,
                    DoubleQuantizedScales doubleQuant) {
        this.codebook = codebook;
        this.rows = rows;
        this.cols = cols;
        this.blockSize = blockSize;
        this.packed = packed;
        this.scales = scales;
        this.doubleQuant = doubleQuant;
    }

    /** Wraps existing packed codes and scales (e.g. read from a file); validates their sizes. */
    public static QuantizedTensor of(Codebook codebook, int rows, int cols, int blockSize, byte[] packed,
                                     float[] scales, DoubleQuantizedScales doubleQuant) {
        BlockQuantizer.checkBlockSize(blockSize);
        long n = (long) rows * cols;
        if (packed.length != BitPacking.packedBytes(n, codebook.bits())) {
            throw new IllegalArgumentException("packed codes have " + packed.length + " bytes, " + rows + "x" + cols
                    + " at " + codebook.bits() + " bits needs " + BitPacking.packedBytes(n, codebook.bits()));
        }
        if (scales.length != numBlocks(n, blockSize)) {
            throw new IllegalArgumentException("got " + scales.length + " scales, need " + numBlocks(n, blockSize));
        }
        return new QuantizedTensor(codebook, rows, cols, blockSize, packed, scales, doubleQuant);
    }

    public static int numBlocks(long n, int blockSize) {
        return (int) ((n + blockSize - 1) / blockSize);
    }

    public Codebook codebook() { return codebook; }
    public int rows() { return rows; }
    public int cols() { return cols; }
    public int blockSize() { return blockSize; }
    public long size() { return (long) rows * cols; }
    /** Packed codes, shared (do not modify). */
    public byte[] packed() { return packed; }
    /** fp32 scale per block, shared (do not modify). */
    public float[] scales() { return scales; }
    /** The 8-bit scale representation, or null without double quantization. */
    public DoubleQuantizedScales doubleQuant() { return doubleQuant; }

    /** Storage cost in bits per weight: code bits plus scale bits (8-bit + nested fp32 with double quant). */
    public double bitsPerWeight() {
        return bitsPerWeight(codebook.bits(), blockSize, doubleQuant != null);
    }

    public static double bitsPerWeight(int bits, int blockSize, boolean doubleQuant) {
        return doubleQuant
                ? bits + 8.0 / blockSize + 32.0 / ((double) blockSize * DoubleQuantizedScales.NESTED_BLOCK)
                : bits + 32.0 / blockSize;
    }

    /** Decoded values as a new row-major [rows, cols] array. */
    public float[] dequantize() {
        float[] out = new float[Math.toIntExact(size())];
        dequantizeInto(out);
        return out;
    }

    /** Decodes into out[0 .. rows·cols), in parallel chunks. */
    public void dequantizeInto(float[] out) {
        int n = Math.toIntExact(size());
        float[] table = codebook.valuesShared();
        int bits = codebook.bits();
        Parallel.forChunks(n, BlockQuantizer.chunk(blockSize), (start, end) -> {
            if (bits == 4) {
                QuantKernels.decode4(packed, start / 2, end - start, blockSize, scales, start / blockSize, table, out, start);
            } else {
                byte[] codes = new byte[end - start];
                BitPacking.unpack(packed, 0, start, end - start, bits, codes);
                QuantKernels.decodeCodes(codes, 0, end - start, blockSize, scales, start / blockSize, table, out, start);
            }
        });
    }

    /** The codes (ascending-table indices) of all values, one per byte. */
    public byte[] codes() {
        int n = Math.toIntExact(size());
        byte[] codes = new byte[n];
        BitPacking.unpack(packed, 0, 0, n, codebook.bits(), codes);
        return codes;
    }
}
