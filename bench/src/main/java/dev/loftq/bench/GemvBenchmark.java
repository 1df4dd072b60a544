package dev.loftq.bench;

import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.Codebook;
import dev.loftq.quant.QuantizedTensor;
import dev.loftq.simd.Gemm;
import dev.loftq.simd.PackedMatrix;
import dev.loftq.simd.QuantMatmul;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * Batch-1 decode: does the fused NF4 GEMV approach the memory bandwidth, and how far ahead of fp32 is it?
 * W [out, in] at Llama-2-7B shapes ("OUTxIN"), block 64, on {@code threads} cores; side by side: fused NF4
 * and NF2, the Vector-API fp32 GEMV of the same shape, dequantize-then-fp32, and the scalar twin.
 * Packed bytes moved per op: out·in/2 (NF4) + out·in/64·4 (scales).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class GemvBenchmark {
    @Param({"4096x4096", "11008x4096", "4096x11008"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    int out, in;
    float[] w, x, y, scratch;
    PackedMatrix nf4, nf2;
    QuantizedTensor q4;
    ForkJoinPool pool;

    @Setup
    public void setup() {
        int[] s = BenchData.shape(shape);
        out = s[0];
        in = s[1];
        w = BenchData.gaussian(out * in, 7, 0.02f);
        x = BenchData.gaussian(in, 8, 1f);
        y = new float[out];
        scratch = new float[out * in];
        q4 = BlockQuantizer.quantize(w, out, in, Codebook.normalFloat(4), 64);
        nf4 = BenchData.packed(w, out, in, Codebook.normalFloat(4));
        nf2 = BenchData.packed(w, out, in, Codebook.normalFloat(2));
        pool = new ForkJoinPool(threads);
    }

    @TearDown
    public void tearDown() {
        pool.shutdown();
    }

    @Benchmark
    public float[] nf4Fused() {
        pool.submit(() -> QuantMatmul.gemv(nf4, x, y, null, null, 0, 0f)).join();
        return y;
    }

    @Benchmark
    public float[] nf2Fused() {
        pool.submit(() -> QuantMatmul.gemv(nf2, x, y, null, null, 0, 0f)).join();
        return y;
    }

    @Benchmark
    public float[] fp32() {
        pool.submit(() -> Gemm.multTransB(w, out, in, x, 1, y)).join();
        return y;
    }

    @Benchmark
    public float[] nf4DequantizeThenFp32() {
        pool.submit(() -> {
            q4.dequantizeInto(scratch);
            Gemm.multTransB(scratch, out, in, x, 1, y);
        }).join();
        return y;
    }

    @Benchmark
    @Measurement(iterations = 2, time = 1)
    public float[] nf4Scalar() {
        QuantMatmul.gemvScalar(nf4, x, y, null, null, 0, 0f);
        return y;
    }
}
