package dev.loftq.simd;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GemmTest {
    static float[] rand(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    static final int[][] SHAPES = {{1, 1, 1}, {3, 17, 5}, {64, 64, 24}, {33, 100, 7}, {130, 257, 32}, {7, 513, 4}};

    @Test
    void multTransBMatchesScalarWithinReassociation() {
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = rand(m * n, m), x = rand(k * n, n);
            float[] c = new float[m * k], ref = new float[m * k];
            Gemm.multTransB(a, m, n, x, k, c);
            Gemm.multTransBScalar(a, m, n, x, k, ref);
            for (int i = 0; i < c.length; i++) assertEquals(ref[i], c[i], 1e-4f * (float) Math.sqrt(n) + 1e-5f, "shape " + m + "x" + n + "x" + k);
        }
    }

    @Test
    void multTransAAndLowRankUpdateMatchScalarExactly() {
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = rand(m * n, m + 1), q = rand(m * k, k + 2);
            float[] yt = new float[k * n], ref = new float[k * n];
            Gemm.multTransA(a, m, n, q, k, yt);
            Gemm.multTransAScalar(a, m, n, q, k, ref);
            assertArrayEquals(ref, yt, "multTransA " + m + "x" + n + "x" + k);

            float[] b = rand(m * k, 5), at = rand(k * n, 6), out = new float[m * n], outRef = new float[m * n];
            Gemm.subtractLowRank(a, b, at, m, k, n, out);
            Gemm.subtractLowRankScalar(a, b, at, m, k, n, outRef);
            assertArrayEquals(outRef, out, "subtractLowRank " + m + "x" + n + "x" + k);
        }
    }

    @Test
    void namesTheVectorShapeThisRunTests() {
        // The kernel suites run at the machine's width and again at 256 and 128 bits (src-test/pom.xml).
        int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        System.out.println("kernel tests on " + lanes + " float lanes");
        assertTrue(lanes == 4 || lanes == 8 || lanes == 16, "unexpected vector width " + lanes);
    }

    @Test
    void sumsOfSquaresAreRight() {
        float[] x = rand(10_001, 1), y = rand(10_001, 2);
        double ref = 0, refSq = 0;
        for (int i = 0; i < x.length; i++) {
            ref += (double) (x[i] - y[i]) * (x[i] - y[i]);
            refSq += (double) x[i] * x[i];
        }
        assertEquals(ref, Gemm.sumSquaredDiff(x, y, x.length), ref * 1e-5);
        assertEquals(refSq, Gemm.sumSquares(x, x.length), refSq * 1e-5);
    }
}
