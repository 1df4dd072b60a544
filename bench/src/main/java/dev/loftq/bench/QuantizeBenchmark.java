package dev.loftq.bench;

import dev.loftq.quant.Codebook;
import dev.loftq.simd.BitPacking;
import dev.loftq.simd.QuantKernels;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Is the Vector-API quantizer fast enough, and how much does it beat its scalar twin? One thread,
 * a 4096×4096 fp32 matrix, block 64: scales + encode + pack (quantize) and unpack + decode (dequantize).
 * Throughput in matrices/s: weights/s = score × 16.8 M.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class QuantizeBenchmark {
    static final int N = 4096 * 4096, BS = 64;

    @Param({"nf4", "nf2"})
    public String book;

    float[] w, scales, table, mids, out;
    byte[] packed, codes;
    int bits;

    @Setup
    public void setup() {
        w = BenchData.gaussian(N, 1, 0.02f);
        Codebook cb = Codebook.parse(book);
        bits = cb.bits();
        table = cb.values();
        mids = cb.mids();
        scales = new float[N / BS];
        packed = new byte[(int) BitPacking.packedBytes(N, bits)];
        codes = new byte[N];
        out = new float[N];
        QuantKernels.absmaxBlocks(w, 0, N, BS, scales, 0);
    }

    @Benchmark
    public byte[] quantizeVector() {
        QuantKernels.absmaxBlocks(w, 0, N, BS, scales, 0);
        if (bits == 4) {
            QuantKernels.encode4(w, 0, N, BS, scales, 0, mids, packed, 0);
        } else {
            QuantKernels.encodeCodes(w, 0, N, BS, scales, 0, mids, codes, 0);
            BitPacking.pack(codes, N, bits, packed, 0);
        }
        return packed;
    }

    @Benchmark
    public byte[] quantizeScalar() {
        QuantKernels.absmaxBlocksScalar(w, 0, N, BS, scales, 0);
        if (bits == 4) {
            QuantKernels.encode4Scalar(w, 0, N, BS, scales, 0, mids, packed, 0);
        } else {
            QuantKernels.encodeCodesScalar(w, 0, N, BS, scales, 0, mids, codes, 0);
            BitPacking.pack(codes, N, bits, packed, 0);
        }
        return packed;
    }

    @Benchmark
    public float[] dequantizeVector() {
        if (bits == 4) {
            QuantKernels.decode4(packed, 0, N, BS, scales, 0, table, out, 0);
        } else {
            BitPacking.unpack(packed, 0, 0, N, bits, codes);
            QuantKernels.decodeCodes(codes, 0, N, BS, scales, 0, table, out, 0);
        }
        return out;
    }

    @Benchmark
    public float[] dequantizeScalar() {
        if (bits == 4) {
            QuantKernels.decode4Scalar(packed, 0, N, BS, scales, 0, table, out, 0);
        } else {
            BitPacking.unpack(packed, 0, 0, N, bits, codes);
            QuantKernels.decodeCodesScalar(codes, 0, N, BS, scales, 0, table, out, 0);
        }
        return out;
    }
}
