package dev.loftq.bench;

import dev.loftq.simd.Gemm;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;
import org.ejml.dense.row.CommonOps_MT_FDRM;
import org.openjdk.jmh.annotations.*;

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
        int[] s = BenchData.shape(shape);
        m = s[0];
        n = s[1];
        a = BenchData.gaussian(m * n, 3, 1f);
        omega = BenchData.gaussian(K * n, 4, 1f);
        q = BenchData.gaussian(m * K, 5, 1f);
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
