package dev.loftq.lowrank;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SvdTest {
    /** M = U·diag(s)·Vᵀ with random orthonormal U [m, k], V [n, k]. */
    static float[] planted(int m, int n, double[] s, long seed) {
        int k = s.length;
        Random r = new Random(seed);
        float[] u = new float[m * k], v = new float[n * k];
        for (int i = 0; i < u.length; i++) u[i] = (float) r.nextGaussian();
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        u = RandomizedSvd.orthonormalize(u, m, k);
        v = RandomizedSvd.orthonormalize(v, n, k);
        float[] a = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int c = 0; c < k; c++) acc += u[i * k + c] * s[c] * v[j * k + c];
                a[i * n + j] = (float) acc;
            }
        return a;
    }

    static double residualNorm(float[] a, LowRank lr) {
        double sum = 0;
        for (int i = 0; i < lr.m(); i++)
            for (int j = 0; j < lr.n(); j++) {
                double acc = 0;
                for (int c = 0; c < lr.rank(); c++) acc += lr.u()[i * lr.rank() + c] * lr.s()[c] * lr.vt()[c * lr.n() + j];
                sum += (a[i * lr.n() + j] - acc) * (a[i * lr.n() + j] - acc);
            }
        return Math.sqrt(sum);
    }

    @Test
    void exactSvdRecoversAKnownDecomposition() {
        double[] s = {10, 7, 5, 3, 2, 1};
        float[] a = planted(40, 30, s, 1);
        LowRank lr = new ExactSvd().compute(a, 40, 30, 4, null);
        for (int c = 0; c < 4; c++) assertEquals(s[c], lr.s()[c], 1e-4, "singular value " + c);
        // the best rank-4 approximation leaves exactly sqrt(2² + 1²)
        assertEquals(Math.sqrt(5), residualNorm(a, lr), 1e-3);
        // U columns orthonormal
        for (int p = 0; p < 4; p++)
            for (int q = 0; q < 4; q++) {
                double d = 0;
                for (int i = 0; i < 40; i++) d += lr.u()[i * 4 + p] * lr.u()[i * 4 + q];
                assertEquals(p == q ? 1 : 0, d, 1e-5);
            }
    }

    @Test
    void randomizedSvdCapturesThePlantedSpectrumAlmostLikeExact() {
        int m = 300, n = 200, r = 16;
        double[] s = new double[60];
        for (int c = 0; c < s.length; c++) s[c] = Math.pow(0.93, c) * 10;   // slowly decaying: a hard case
        float[] a = planted(m, n, s, 2);
        double exact = residualNorm(a, new ExactSvd().compute(a, m, n, r, null));
        double randomized = residualNorm(a, new RandomizedSvd(16, 2, 7).compute(a, m, n, r, null));
        assertTrue(randomized <= exact * 1.01, "randomized residual " + randomized + " vs exact " + exact);
        LowRank lr = new RandomizedSvd(16, 2, 7).compute(a, m, n, r, null);
        for (int c = 0; c < 8; c++) assertEquals(s[c], lr.s()[c], s[c] * 0.01, "singular value " + c);
    }

    @Test
    void randomizedSvdIsExactOnAnExactlyLowRankMatrix() {
        double[] s = {5, 4, 3};
        float[] a = planted(120, 90, s, 3);
        LowRank lr = new RandomizedSvd(4, 0, 1).compute(a, 120, 90, 3, null);
        assertEquals(0, residualNorm(a, lr), 1e-3);
    }

    @Test
    void warmStartAndSeedAreDeterministic() {
        float[] a = planted(100, 80, new double[]{3, 2, 1, 0.5}, 4);
        LowRank x = new RandomizedSvd(8, 1, 5).compute(a, 100, 80, 2, null);
        LowRank y = new RandomizedSvd(8, 1, 5).compute(a, 100, 80, 2, null);
        assertArrayEquals(x.u(), y.u());
        assertArrayEquals(x.vt(), y.vt());
        LowRank warm = new RandomizedSvd(8, 1, 5).compute(a, 100, 80, 2, x.vt());
        assertEquals(x.s()[0], warm.s()[0], 1e-4);
    }
}
