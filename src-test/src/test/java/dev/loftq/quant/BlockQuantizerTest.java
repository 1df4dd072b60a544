package dev.loftq.quant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class BlockQuantizerTest {
    static float[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian() * 0.02f;
        return x;
    }

    static double relErr(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) * (double) (a[i] - b[i]);
            den += a[i] * (double) a[i];
        }
        return Math.sqrt(num / den);
    }

    /** The bitsandbytes rule written independently: absmax per block, v = x·(1/absmax), nearest, ties low. */
    static int[] referenceCodes(float[] x, int bs, float[] table) {
        int[] codes = new int[x.length];
        for (int b = 0; b * bs < x.length; b++) {
            float absmax = 0;
            for (int i = b * bs; i < Math.min(x.length, (b + 1) * bs); i++) absmax = Math.max(absmax, Math.abs(x[i]));
            float inv = 1f / absmax;
            for (int i = b * bs; i < Math.min(x.length, (b + 1) * bs); i++) {
                float v = x[i] * inv;
                int best = 0;
                for (int c = 1; c < table.length; c++) {
                    float mid = (table[c - 1] + table[c]) / 2f;
                    if (v > mid) best = c;
                }
                codes[i] = best;
            }
        }
        return codes;
    }

    @ParameterizedTest
    @ValueSource(ints = {16, 64, 256, 4096})
    void nf4CodesFollowBitsandbytesSemantics(int bs) {
        float[] w = gaussian(96 * 77, bs);
        QuantizedTensor q = BlockQuantizer.quantize(w, 96, 77, Codebook.normalFloat(4), bs);
        int[] ref = referenceCodes(w, bs, CodebookTest.BNB_NF4);
        byte[] codes = q.codes();
        for (int i = 0; i < w.length; i++) assertEquals(ref[i], codes[i], "element " + i);
        assertEquals((96 * 77 + bs - 1) / bs, q.scales().length);   // partial last block
    }

    @ParameterizedTest
    @CsvSource({"nf4,0.11", "fp4,0.13", "int4,0.14", "nf3,0.21", "nf2,0.60", "int2,0.60", "int8,0.05", "nf8,0.01"})
    void roundTripErrorIsBounded(String book, double bound) {
        float[] w = gaussian(256 * 300, 7);
        Codebook cb = Codebook.parse(book);
        float[] back = BlockQuantizer.quantize(w, 256, 300, cb, 64).dequantize();
        double err = relErr(w, back);
        assertTrue(err < bound, book + " relative error " + err);
        assertTrue(err > bound / 4, book + " suspiciously small error " + err);
    }

    @ParameterizedTest
    @ValueSource(strings = {"nf4", "nf2", "nf3", "fp4", "nf8"})
    void requantizingDequantizedValuesGivesTheSameCodes(String book) {
        float[] w = gaussian(130 * 70, 11);
        Codebook cb = Codebook.parse(book);
        QuantizedTensor q = BlockQuantizer.quantize(w, 130, 70, cb, 64);
        QuantizedTensor again = BlockQuantizer.quantize(q.dequantize(), 130, 70, cb, 64);
        assertArrayEquals(q.scales(), again.scales());
        assertArrayEquals(q.dequantize(), again.dequantize(), 0f);   // delta 0: equal values, -0 == +0
        // FP4 holds both -0 and +0: a +0 comes back as the lower (-0) code, same value.
        if (!book.equals("fp4")) assertArrayEquals(q.packed(), again.packed());
    }

    @Test
    void zeroBlocksDecodeToZero() {
        float[] w = gaussian(64 * 5, 3);
        for (int i = 64; i < 192; i++) w[i] = 0f;
        for (String book : new String[]{"nf4", "fp4", "int4", "nf2"}) {
            float[] back = BlockQuantizer.quantize(w, 5, 64, Codebook.parse(book), 64).dequantize();
            for (int i = 64; i < 192; i++) assertEquals(0f, Math.abs(back[i]), book + " at " + i);
        }
    }

    @Test
    void nonFiniteWeightsAreRejectedWithTheirPosition() {
        float[] w = gaussian(10 * 100, 5);
        w[3 * 100 + 42] = Float.NaN;
        var e = assertThrows(BlockQuantizer.NonFiniteValueException.class,
                () -> BlockQuantizer.quantize(w, 10, 100, Codebook.normalFloat(4), 64));
        assertEquals(3, e.row());
        assertEquals(42, e.col());
        assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("[3, 42]"), e.getMessage());
        w[3 * 100 + 42] = 0;
        w[999] = Float.POSITIVE_INFINITY;
        var e2 = assertThrows(BlockQuantizer.NonFiniteValueException.class,
                () -> BlockQuantizer.quantize(w, 10, 100, Codebook.uniform(4), 64));
        assertEquals(9, e2.row());
        assertEquals(99, e2.col());
    }

    @Test
    void blockSizeMustBeAPowerOfTwoInRange() {
        float[] w = gaussian(64, 1);
        for (int bad : new int[]{8, 48, 8192, 0, -64}) {
            var e = assertThrows(IllegalArgumentException.class, () -> BlockQuantizer.quantize(w, 1, 64, Codebook.normalFloat(4), bad));
            assertTrue(e.getMessage().contains("block size"));
        }
    }

    @Test
    void doubleQuantizationCostsLittleAccuracyAndMatchesTheBitCount() {
        float[] w = gaussian(512 * 512, 9);
        Codebook nf4 = Codebook.normalFloat(4);
        QuantizedTensor plain = BlockQuantizer.quantize(w, 512, 512, nf4, 64, false);
        QuantizedTensor dq = BlockQuantizer.quantize(w, 512, 512, nf4, 64, true);
        assertEquals(4.5, plain.bitsPerWeight(), 1e-12);
        assertEquals(4.127, dq.bitsPerWeight(), 1e-3);
        assertArrayEquals(plain.packed(), dq.packed());   // codes come from the exact absmax, as in bitsandbytes
        float[] decoded = dq.doubleQuant().dequantize();
        assertArrayEquals(decoded, dq.scales());
        double scaleErr = relErr(plain.scales(), dq.scales());
        assertTrue(scaleErr < 0.01, "scale error " + scaleErr);
        double e1 = relErr(w, plain.dequantize()), e2 = relErr(w, dq.dequantize());
        assertTrue(e2 < e1 * 1.02, e1 + " vs " + e2);
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() throws Exception {
        float[] w = gaussian(1024 * 600, 13);
        QuantizedTensor a = BlockQuantizer.quantize(w, 1024, 600, Codebook.normalFloat(2), 64);
        var pool = new java.util.concurrent.ForkJoinPool(1);
        QuantizedTensor b = pool.submit(() -> BlockQuantizer.quantize(w, 1024, 600, Codebook.normalFloat(2), 64)).get();
        pool.shutdown();
        assertArrayEquals(a.packed(), b.packed());
    }
}
