package dev.loftq.simd;

import dev.loftq.quant.Codebook;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Vector kernels against their scalar twins, bit for bit. */
class QuantKernelsTest {
    static final int[] AWKWARD = {1, 2, 15, 16, 17, 31, 63, 64, 65, 127, 1000, 4097, 12345};

    static float[] data(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian();
            x[i] = switch (r.nextInt(10)) {
                case 0 -> (float) (g * 1e30);          // huge
                case 1 -> (float) (g * 1e-30);         // tiny
                case 2 -> 0f;
                case 3 -> (float) (g * 40);            // outliers
                default -> (float) g;
            };
        }
        // whole zero blocks and a block of subnormals
        for (int i = 0; i < Math.min(n, 64); i++) x[i] = 0f;
        for (int i = 64; i < Math.min(n, 128); i++) x[i] = Float.MIN_VALUE * (i - 90);
        return x;
    }

    @ParameterizedTest
    @ValueSource(ints = {16, 32, 64, 256, 4096})
    void absmaxMatchesScalar(int bs) {
        for (int n : AWKWARD) {
            float[] x = data(n + 3, n);
            int blocks = (n + bs - 1) / bs;
            float[] v = new float[blocks + 1], s = new float[blocks + 1];
            QuantKernels.absmaxBlocks(x, 3, n, bs, v, 1);
            QuantKernels.absmaxBlocksScalar(x, 3, n, bs, s, 1);
            assertArrayEquals(s, v, "n=" + n);
        }
    }

    @Test
    void absmaxPropagatesNaNAndInfinity() {
        for (int pos : new int[]{0, 5, 16, 63}) {
            float[] x = new float[64];
            x[pos] = Float.NaN;
            float[] out = new float[1];
            QuantKernels.absmaxBlocks(x, 0, 64, 64, out, 0);
            assertTrue(Float.isNaN(out[0]), "NaN at " + pos);
            x[pos] = Float.NEGATIVE_INFINITY;
            QuantKernels.absmaxBlocks(x, 0, 64, 64, out, 0);
            assertEquals(Float.POSITIVE_INFINITY, out[0]);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"nf4", "fp4", "int4"})
    void encode4AndDecode4MatchScalar(String book) {
        Codebook cb = Codebook.parse(book);
        for (int bs : new int[]{16, 64, 128}) {
            for (int n : AWKWARD) {
                float[] x = data(n, 31L * n + bs);
                float[] scales = new float[(n + bs - 1) / bs];
                QuantKernels.absmaxBlocksScalar(x, 0, n, bs, scales, 0);
                byte[] pv = new byte[(n + 1) / 2 + 2], ps = new byte[(n + 1) / 2 + 2];
                QuantKernels.encode4(x, 0, n, bs, scales, 0, cb.mids(), pv, 1);
                QuantKernels.encode4Scalar(x, 0, n, bs, scales, 0, cb.mids(), ps, 1);
                assertArrayEquals(ps, pv, book + " bs=" + bs + " n=" + n);
                float[] dv = new float[n + 2], ds = new float[n + 2];
                QuantKernels.decode4(pv, 1, n, bs, scales, 0, cb.values(), dv, 2);
                QuantKernels.decode4Scalar(ps, 1, n, bs, scales, 0, cb.values(), ds, 2);
                assertArrayEquals(ds, dv, book + " decode bs=" + bs + " n=" + n);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"nf2", "nf3", "int2", "int8", "nf8", "nf4"})
    void encodeCodesAndDecodeCodesMatchScalar(String book) {
        Codebook cb = Codebook.parse(book);
        int bs = 64;
        for (int n : AWKWARD) {
            float[] x = data(n, n + 7);
            float[] scales = new float[(n + bs - 1) / bs];
            QuantKernels.absmaxBlocksScalar(x, 0, n, bs, scales, 0);
            byte[] cv = new byte[n], cs = new byte[n];
            QuantKernels.encodeCodes(x, 0, n, bs, scales, 0, cb.mids(), cv, 0);
            QuantKernels.encodeCodesScalar(x, 0, n, bs, scales, 0, cb.mids(), cs, 0);
            assertArrayEquals(cs, cv, book + " n=" + n);
            float[] dv = new float[n], ds = new float[n];
            QuantKernels.decodeCodes(cv, 0, n, bs, scales, 0, cb.values(), dv, 0);
            QuantKernels.decodeCodesScalar(cs, 0, n, bs, scales, 0, cb.values(), ds, 0);
            assertArrayEquals(ds, dv, book + " decode n=" + n);
        }
    }

    @Test
    void midpointTiesTakeTheLowerCode() {
        float[] mids = Codebook.normalFloat(4).mids();
        for (int k = 0; k < mids.length; k++) {
            assertEquals(k, QuantKernels.nearest(mids[k], mids));
            assertEquals(k + 1, QuantKernels.nearest(Math.nextUp(mids[k]), mids));
        }
        // through the vector path too: scale 1, values exactly on the midpoints
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) x[i] = mids[i % 15];
        byte[] packed = new byte[16];
        QuantKernels.encode4(x, 0, 32, 16, new float[]{1f, 1f}, 0, mids, packed, 0);
        for (int i = 0; i < 32; i++) {
            int code = (i & 1) == 0 ? (packed[i / 2] >> 4) & 15 : packed[i / 2] & 15;
            assertEquals(i % 15, code, "element " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 8})
    void bitPackingRoundTrips(int bits) {
        Random r = new Random(bits);
        for (int n : AWKWARD) {
            byte[] codes = new byte[n];
            for (int i = 0; i < n; i++) codes[i] = (byte) r.nextInt(1 << bits);
            byte[] packed = new byte[(int) BitPacking.packedBytes(n, bits)];
            BitPacking.pack(codes, n, bits, packed, 0);
            byte[] back = new byte[n];
            BitPacking.unpack(packed, 0, 0, n, bits, back);
            assertArrayEquals(codes, back);
            if (n > 9) {
                byte[] tail = new byte[n - 9];
                BitPacking.unpack(packed, 0, 9, n - 9, bits, tail);
                for (int i = 0; i < tail.length; i++) assertEquals(codes[9 + i], tail[i]);
            }
        }
    }

    @Test
    void fourBitPackingPutsTheEvenElementInTheHighNibble() {
        byte[] packed = new byte[1];
        BitPacking.pack(new byte[]{0xA, 0x3}, 2, 4, packed, 0);
        assertEquals((byte) 0xA3, packed[0]);
        BitPacking.pack(new byte[]{1, 2, 3, 0}, 4, 2, packed, 0);
        assertEquals((byte) 0b01_10_11_00, packed[0]);
    }
}
