package dev.loftq.bench;

import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.Codebook;
import dev.loftq.quant.QuantizedTensor;
import dev.loftq.simd.PackedMatrix;

import java.util.Random;

/** Inputs shared by the benchmarks. */
final class BenchData {
    private BenchData() {}

    /** "4096x11008" → {4096, 11008}. */
    static int[] shape(String s) {
        String[] p = s.split("x");
        return new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    /** w [out, in] quantized with the code book at block 64, in the fused kernels' layout. */
    static PackedMatrix packed(float[] w, int out, int in, Codebook cb) {
        QuantizedTensor q = BlockQuantizer.quantize(w, out, in, cb, 64);
        return PackedMatrix.fromStream(q.packed(), out, in, 64, cb.bits(), q.scales(), cb.values());
    }

    /** n values N(0, scale²), seeded. */
    static float[] gaussian(int n, long seed, float scale) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian() * scale;
        return x;
    }
}
