package dev.loftq.quant;

import dev.loftq.simd.BitPacking;
import dev.loftq.simd.Parallel;
import dev.loftq.simd.QuantKernels;

/**
 * Blockwise quantization with bitsandbytes semantics (see {@link QuantKernels} for the exact rounding
 * and tie rules): flatten row-major, one scale per block of {@code blockSize} values, nearest code.
 * Work is split into chunks of whole blocks that run in parallel; the bytes do not depend on threads.
 */
public final class BlockQuantizer {
    private BlockQuantizer() {}

    public static final int DEFAULT_BLOCK_SIZE = 64;

    /** Quantizes w ([rows, cols] row-major) without double quantization. */
    public static QuantizedTensor quantize(float[] w, int rows, int cols, Codebook codebook, int blockSize) {
        return quantize(w, rows, cols, codebook, blockSize, false);
    }

    /**
     * Quantizes w ([rows, cols] row-major).
     *
     * @throws NonFiniteValueException if w holds NaN or ±Inf (names the first such position)
     * @throws IllegalArgumentException for a block size that is not a power of two in 16..4096
     */
    public static QuantizedTensor quantize(float[] w, int rows, int cols, Codebook codebook, int blockSize,
                                           boolean doubleQuant) {
        checkBlockSize(blockSize);
        long size = (long) rows * cols;
        if (w.length < size) throw new IllegalArgumentException("array has " + w.length + " values, shape needs " + size);
        int n = (int) size;
        float[] scales = new float[QuantizedTensor.numBlocks(n, blockSize)];
        byte[] packed = new byte[Math.toIntExact(BitPacking.packedBytes(n, codebook.bits()))];
        float[] mids = codebook.midsShared();
        int bits = codebook.bits();

        Parallel.forChunks(n, chunk(blockSize), (start, end) -> computeScales(w, start, end - start, blockSize, codebook, scales));
        checkFinite(w, cols, scales, blockSize);
        Parallel.forChunks(n, chunk(blockSize), (start, end) -> {
            int len = end - start, firstBlock = start / blockSize;
            if (bits == 4) {
                QuantKernels.encode4(w, start, len, blockSize, scales, firstBlock, mids, packed, start / 2);
            } else {
                byte[] codes = new byte[len];
                QuantKernels.encodeCodes(w, start, len, blockSize, scales, firstBlock, mids, codes, 0);
                // chunk() keeps start a multiple of 8 values, so it begins on a whole byte for every width.
                BitPacking.pack(codes, len, bits, packed, (int) BitPacking.packedBytes(start, bits));
            }
        });
        if (!doubleQuant) return new QuantizedTensor(codebook, rows, cols, blockSize, packed, scales, null);
        DoubleQuantizedScales dq = DoubleQuantizedScales.quantize(scales);
        return new QuantizedTensor(codebook, rows, cols, blockSize, packed, dq.dequantize(), dq);
    }

    /** dequantize(quantize(w)) into out, without keeping the quantized form. */
    public static void roundTrip(float[] w, int rows, int cols, Codebook codebook, int blockSize, boolean doubleQuant,
                                 float[] out) {
        quantize(w, rows, cols, codebook, blockSize, doubleQuant).dequantizeInto(out);
    }

    /** @throws IllegalArgumentException unless blockSize is a power of two from 16 to 4096 */
    public static void checkBlockSize(int blockSize) {
        if (blockSize < 16 || blockSize > 4096 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size must be a power of two from 16 to 4096, got " + blockSize);
        }
    }

    /** Values per parallel chunk: whole blocks, at least 64 Ki values. */
    static int chunk(int blockSize) {
        return Math.max(blockSize, 1 << 16);
    }

    private static void computeScales(float[] w, int start, int len, int blockSize, Codebook codebook, float[] scales) {
        int firstBlock = start / blockSize;
        if (codebook.scaleRule() == Codebook.ScaleRule.ABSMAX) {
            QuantKernels.absmaxBlocks(w, start, len, blockSize, scales, firstBlock);
            return;
        }
        for (int b = 0; b * blockSize < len; b++) {
            int from = start + b * blockSize, count = Math.min(blockSize, len - b * blockSize);
            double sum = 0, sq = 0;
            for (int i = 0; i < count; i++) sum += w[from + i];
            double mean = sum / count;
            for (int i = 0; i < count; i++) sq += (w[from + i] - mean) * (w[from + i] - mean);
            double std = count > 1 ? Math.sqrt(sq / (count - 1)) : 0;
            scales[firstBlock + b] = (float) (Math.abs(mean) + 2.5 * std);
        }
    }

    private static void checkFinite(float[] w, int cols, float[] scales, int blockSize) {
        for (int b = 0; b < scales.length; b++) {
            if (Float.isFinite(scales[b])) continue;
            for (int i = b * blockSize; i < Math.min(w.length, (long) (b + 1) * blockSize); i++) {
                if (!Float.isFinite(w[i])) throw new NonFiniteValueException(w[i], i / cols, i % cols);
            }
            // A finite block whose scale overflowed (|mean| + 2.5·std beyond fp32): reject it just as clearly.
            throw new NonFiniteValueException(scales[b], b * blockSize / cols, b * blockSize % cols);
        }
    }

    /** NaN or ±Inf where a weight was expected. */
    public static final class NonFiniteValueException extends IllegalArgumentException {
        private final int row, col;

        NonFiniteValueException(float value, int row, int col) {
            super("non-finite value " + value + " at [" + row + ", " + col + "]");
            this.row = row;
            this.col = col;
        }

        public int row() { return row; }
        public int col() { return col; }
    }
}
