package dev.loftq.bench;

import java.util.Random;

/** Inputs shared by the benchmarks. */
final class BenchData {
    private BenchData() {}

    /** "4096x11008" → {4096, 11008}. */
    static int[] shape(String s) {
        String[] p = s.split("x");
        return new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    /** n values N(0, scale²), seeded. */
    static float[] gaussian(int n, long seed, float scale) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian() * scale;
        return x;
    }
}
