package dev.loftq.bench;

import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import com.github.tjake.jlama.tensor.operations.TensorOperations;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;
import dev.loftq.quant.Codebook;
import dev.loftq.simd.Gemm;
import dev.loftq.simd.PackedMatrix;
import dev.loftq.simd.QuantMatmul;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * Our fused NF4 GEMV against a pure-Java peer, jlama-core 0.8.4's Panama Q4 kernel (block 32, one fp32
 * scale per block: 5 bits/weight vs our 4.5), one thread each, same W and x. jlama's whole-matrix call is
 * single-threaded, so this is a per-core comparison; fp32 GEMV on one thread as the baseline.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class GemvPeerBenchmark {
    @Param({"4096x4096", "4096x11008"})
    public String shape;

    int out, in;
    float[] w, x, y;
    PackedMatrix nf4;
    ForkJoinPool one;
    TensorOperations ops;
    AbstractTensor jq4, jx, jy;

    @Setup
    public void setup() {
        int[] s = BenchData.shape(shape);
        out = s[0];
        in = s[1];
        w = BenchData.gaussian(out * in, 7, 0.02f);
        x = BenchData.gaussian(in, 8, 1f);
        y = new float[out];
        nf4 = BenchData.packed(w, out, in, Codebook.normalFloat(4));
        one = new ForkJoinPool(1);
        ops = TensorOperationsProvider.get();
        FloatBufferTensor fw = new FloatBufferTensor(out, in);
        for (int i = 0; i < out; i++) for (int j = 0; j < in; j++) fw.set(w[i * in + j], i, j);
        jq4 = new Q4ByteBufferTensor(fw);
        jx = new FloatBufferTensor(1, in);
        for (int j = 0; j < in; j++) jx.set(x[j], 0, j);
        jy = new FloatBufferTensor(1, out);
    }

    @TearDown
    public void tearDown() {
        one.shutdown();
    }

    @Benchmark
    public float[] nf4FusedOneThread() {
        one.submit(() -> QuantMatmul.gemv(nf4, x, y, null, null, 0, 0f)).join();
        return y;
    }

    @Benchmark
    public AbstractTensor jlamaQ4() {
        ops.batchDotProduct(jy, jx, jq4, 0, 0, in);
        return jy;
    }

    @Benchmark
    public float[] fp32OneThread() {
        one.submit(() -> Gemm.multTransB(w, out, in, x, 1, y)).join();
        return y;
    }
}
