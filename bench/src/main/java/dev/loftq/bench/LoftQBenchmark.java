package dev.loftq.bench;

import dev.loftq.loftq.LoftQ;
import dev.loftq.loftq.LoftQConfig;
import dev.loftq.loftq.LoftQResult;
import org.openjdk.jmh.annotations.*;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Randomized vs exact SVD inside LoftQ (NF4, r = 16, T = 5, both cores), same matrix, same run, at
 * 1024² — at 4096² one full EJML SVD takes minutes ({@link LoftQScaleBenchmark} times the randomized
 * default at Llama-2-7B shapes). The matrix is a decaying rank-32 part plus Gaussian noise.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx10g", "-XX:+UseParallelGC"})
public class LoftQBenchmark {
    @Param({"1024x1024"})
    public String shape;

    int m, n;
    float[] w;

    @Setup
    public void setup() {
        int[] s = BenchData.shape(shape);
        m = s[0];
        n = s[1];
        w = structured(m, n, 1);
    }

    /** 0.002·Σ_c 0.8^c u_c v_cᵀ (rank 32) + N(0, 0.02²). */
    static float[] structured(int m, int n, long seed) {
        Random r = new Random(seed);
        int k = 32;
        float[] u = new float[m * k], v = new float[k * n], w = new float[m * n];
        for (int i = 0; i < u.length; i++) u[i] = (float) (r.nextGaussian() * Math.pow(0.8, i % k) * 0.002);
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.02);
        dev.loftq.simd.Gemm.subtractLowRank(w, u, v, m, k, n, w);
        return w;
    }

    @Benchmark
    public LoftQResult randomized() {
        return LoftQ.initialize(w, m, n, LoftQConfig.defaults());
    }

    @Benchmark
    public LoftQResult exact() {
        return LoftQ.initialize(w, m, n, LoftQConfig.defaults().withSvd(LoftQConfig.SvdMethod.EXACT));
    }
}
