package dev.loftq.simd;

/**
 * A quantized [rows, cols] weight in the layout the fused matmul kernels read ({@link QuantMatmul}).
 * Each row holds cols / blockSize whole blocks (cols must be a multiple of blockSize). A block of
 * {@code blockSize} codes of {@code bits} ∈ {2, 4, 8} bits takes {@code blockSize·bits/8} bytes, "split" so
 * that byte j carries codes j, j + s, j + 2s, … with s = blockSize·bits/8, the first in the lowest bits:
 * for 4 bits, element j in the low nibble and element j + blockSize/2 in the high one. Loading a run of
 * bytes thus yields codes of consecutive elements without any lane shuffle.
 *
 * @param data   the split-layout codes, rows · cols · bits / 8 bytes
 * @param scales fp32 scale per block, row-major (rows · cols / blockSize)
 * @param table  code → value (ascending code-book order); 8-bit tables must be affine (uniform INT8)
 */
public record PackedMatrix(byte[] data, float[] scales, int rows, int cols, int blockSize, int bits, float[] table) {
    public PackedMatrix {
        if (bits != 2 && bits != 4 && bits != 8) throw new IllegalArgumentException("fused kernels take 2, 4 or 8 bits, got " + bits);
        if (cols % blockSize != 0) throw new IllegalArgumentException("cols " + cols + " is not a multiple of the block size " + blockSize);
        if ((long) rows * cols * bits / 8 != data.length) throw new IllegalArgumentException("data has " + data.length + " bytes");
        if ((long) rows * cols / blockSize != scales.length) throw new IllegalArgumentException("scales has " + scales.length + " entries");
        if (table.length != 1 << bits) throw new IllegalArgumentException("table needs " + (1 << bits) + " entries");
        if (bits == 8 && !isAffine(table)) throw new IllegalArgumentException("8-bit fused kernels need an affine (uniform) table");
    }

    /** Whether the fused kernels can take this shape and code book. */
    public static boolean supports(int cols, int blockSize, int bits, float[] table) {
        return (bits == 2 || bits == 4 || (bits == 8 && isAffine(table))) && cols % blockSize == 0;
    }

    /**
     * Repacks a big-endian bit stream of codes ({@link BitPacking}; for 4 bits the bitsandbytes order,
     * element 2k in the high nibble) into the split layout.
     */
    public static PackedMatrix fromStream(byte[] stream, int rows, int cols, int blockSize, int bits, float[] scales, float[] table) {
        int per = 8 / bits, seg = blockSize / per;
        byte[] data = new byte[(int) ((long) rows * cols * bits / 8)];
        byte[] codes = new byte[blockSize];
        long blocks = (long) rows * cols / blockSize;
        for (long b = 0; b < blocks; b++) {
            BitPacking.unpack(stream, 0, b * blockSize, blockSize, bits, codes);
            int base = (int) (b * seg);
            for (int j = 0; j < seg; j++) {
                int v = 0;
                for (int q = 0; q < per; q++) v |= (codes[j + q * seg] & 0xFF) << (q * bits);
                data[base + j] = (byte) v;
            }
        }
        return new PackedMatrix(data, scales, rows, cols, blockSize, bits, table);
    }

    /** Table spacing (affine 8-bit decode: value = (code − zeroCode)·step). */
    public float step() {
        return (table[table.length - 1] - table[0]) / (table.length - 1);
    }

    /** The (half-)integer code where the affine table crosses zero: 127.5 for linspace(−1, 1, 256). */
    public float zeroCode() {
        return (float) (Math.rint(-2.0 * table[0] / step()) / 2);
    }

    /** The code of element (row, col). */
    public int code(int row, int col) {
        int per = 8 / bits, seg = blockSize / per;
        int block = col / blockSize, in = col % blockSize;
        int b = data[(int) (((long) row * cols / blockSize + block) * seg) + in % seg] & 0xFF;
        return (b >>> ((in / seg) * bits)) & ((1 << bits) - 1);
    }

    static boolean isAffine(float[] t) {
        double step = (t[t.length - 1] - (double) t[0]) / (t.length - 1);
        for (int i = 0; i < t.length; i++) if (Math.abs(t[0] + step * i - t[i]) > 1e-6 * Math.max(1, Math.abs(t[i]))) return false;
        return true;
    }
}
