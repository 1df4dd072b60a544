package dev.loftq.simd;

/**
 * Packs codes of 1..8 bits into a big-endian bit stream: element 0 takes the most significant bits of
 * byte 0, the next element the bits right after it, and so on; the last byte is zero-padded.
 * For 4-bit codes this is the bitsandbytes order (element 2k in the high nibble), for 2-bit codes element
 * 4k sits in bits 7–6, for 3-bit codes eight elements fill three bytes.
 */
public final class BitPacking {
    private BitPacking() {}

    /** Bytes needed for n codes of {@code bits} bits. */
    public static long packedBytes(long n, int bits) {
        return (n * bits + 7) / 8;
    }

    /** Packs codes[0..n) (each &lt; 2^bits) into out[outOff ..]. */
    public static void pack(byte[] codes, int n, int bits, byte[] out, int outOff) {
        if (bits == 8) {
            System.arraycopy(codes, 0, out, outOff, n);
            return;
        }
        int acc = 0, filled = 0, o = outOff;
        for (int i = 0; i < n; i++) {
            acc = acc << bits | (codes[i] & ((1 << bits) - 1));
            filled += bits;
            if (filled >= 8) {
                filled -= 8;
                out[o++] = (byte) (acc >>> filled);
                acc &= (1 << filled) - 1;
            }
        }
        if (filled > 0) out[o] = (byte) (acc << (8 - filled));
    }

    /** Unpacks n codes of {@code bits} bits starting at element {@code first} of the stream at in[inOff]. */
    public static void unpack(byte[] in, int inOff, long first, int n, int bits, byte[] codes) {
        int mask = (1 << bits) - 1;
        long bit = first * bits;
        for (int i = 0; i < n; i++, bit += bits) {
            int byteIndex = inOff + (int) (bit >>> 3), shift = (int) (bit & 7);
            // Read two bytes so a code that straddles a byte boundary (3-bit) comes out whole.
            int window = (in[byteIndex] & 0xFF) << 8 | (byteIndex + 1 < in.length ? in[byteIndex + 1] & 0xFF : 0);
            codes[i] = (byte) ((window >>> (16 - shift - bits)) & mask);
        }
    }
}
