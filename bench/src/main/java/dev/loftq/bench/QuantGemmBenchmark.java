package dev.loftq.bench;

import dev.loftq.quant.Codebook;
import dev.loftq.simd.Gemm;
import dev.loftq.simd.PackedMatrix;
import dev.loftq.simd.QuantMatmul;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Prefill: fused NF4 GEMM (rows decoded once per tile, reused across the batch) against the fp32
 * Vector-API GEMM of the same shape, both cores, batch 32 (FLOPs per op = 2·batch·out·in), with and
 * without the rank-16 LoRA term.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class QuantGemmBenchmark {
    @Param({"4096x4096", "11008x4096"})
    public String shape;

    @Param({"32"})
    public int batch;

    int out, in;
    float[] w, x, y, a, b;
    PackedMatrix nf4;

    @Setup
    public void setup() {
        int[] s = BenchData.shape(shape);
        out = s[0];
        in = s[1];
        w = BenchData.gaussian(out * in, 7, 0.02f);
        x = BenchData.gaussian(batch * in, 8, 1f);
        a = BenchData.gaussian(16 * in, 9, 0.01f);
        b = BenchData.gaussian(out * 16, 10, 0.01f);
        y = new float[batch * out];
        nf4 = BenchData.packed(w, out, in, Codebook.normalFloat(4));
    }

    @Benchmark public float[] nf4Fused() { QuantMatmul.gemm(nf4, x, batch, y, null, null, 0, 0f); return y; }
    @Benchmark public float[] nf4FusedLora() { QuantMatmul.gemm(nf4, x, batch, y, a, b, 16, 2f); return y; }
    @Benchmark public float[] fp32() { Gemm.multTransB(x, batch, in, w, out, y); return y; }
}
