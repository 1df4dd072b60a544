package dev.loftq.bench;

import dev.loftq.simd.Gemm;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;
import org.ejml.dense.row.CommonOps_MT_FDRM;
import org.openjdk.jmh.annotations.*;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Do our thin GEMMs beat EJML's multiply for the randomized SVD's two big products? A [4096, 4096] (or
 * [4096, 11008]) times k = 32 columns (rank 16 + oversampling 16): Y = A·Ω (multTransB) and Qᵀ·A
 * (multTransA). Ours use both cores; EJML single-threaded and its *_MT_* variant; the scalar twin on one.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx6g"})
public class ThinGemmBenchmark {
    @Param({"4096x4096"})
    public String shape;

    static final int K = 32;
    int m, n;
    float[] a, omega, y, q, yt;
    FMatrixRMaj ea, eOmega, ey, eq, ez;

    @Setup
    public void setup() {
        String[] s = shape.split("x");
        m = Integer.parseInt(s[0]);
        n = Integer.parseInt(s[1]);
        Random r = new Random(3);
        a = new float[m * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        omega = new float[K * n];
        for (int i = 0; i < omega.length; i++) omega[i] = (float) r.nextGaussian();
        q = new float[m * K];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
        y = new float[m * K];
        yt = new float[K * n];
        ea = FMatrixRMaj.wrap(m, n, a);
        eOmega = FMatrixRMaj.wrap(K, n, omega);
        ey = new FMatrixRMaj(m, K);
        eq = FMatrixRMaj.wrap(m, K, q);
        ez = new FMatrixRMaj(n, K);
    }

    @Benchmark public float[] multTransBOurs() { Gemm.multTransB(a, m, n, omega, K, y); return y; }
    @Benchmark public FMatrixRMaj multTransBEjml() { CommonOps_FDRM.multTransB(ea, eOmega, ey); return ey; }
    @Benchmark public FMatrixRMaj multTransBEjmlMT() { CommonOps_MT_FDRM.multTransB(ea, eOmega, ey); return ey; }

    @Benchmark public float[] multTransAOurs() { Gemm.multTransA(a, m, n, q, K, yt); return yt; }
    @Benchmark public FMatrixRMaj multTransAEjml() { CommonOps_FDRM.multTransA(ea, eq, ez); return ez; }
    @Benchmark public FMatrixRMaj multTransAEjmlMT() { CommonOps_MT_FDRM.multTransA(ea, eq, ez); return ez; }

    @Benchmark @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx6g"})
    @Measurement(iterations = 2, time = 2)
    public float[] multTransBScalar() { Gemm.multTransBScalar(a, m, n, omega, K, y); return y; }
}
