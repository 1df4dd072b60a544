package dev.loftq.simd;

import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.Codebook;
import dev.loftq.quant.QuantizedTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Fused dequant-matmul against dequantize-then-matmul (the scalar twin). */
class QuantMatmulTest {
    static float[] gauss(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    static void assertClose(float[] ref, float[] got, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (ref[i] - got[i]) * (double) (ref[i] - got[i]);
            den += ref[i] * (double) ref[i];
        }
        assertTrue(Math.sqrt(num / den) < 1e-5, what + ": relative difference " + Math.sqrt(num / den));
    }

    @ParameterizedTest
    @CsvSource({"nf4,64", "nf4,16", "nf4,128", "int4,64", "nf2,64", "nf2,16", "int8,64", "int8,32", "fp4,32"})
    void fusedMatchesTheScalarTwinOnOddShapes(String book, int bs) {
        Codebook cb = Codebook.parse(book);
        for (int[] shape : new int[][]{{1, 64}, {7, 192}, {33, 448}, {130, 256}}) {
            int rows = shape[0], cols = Math.max(shape[1], bs) / bs * bs;
            float[] w = gauss(rows * cols, rows);
            QuantizedTensor q = BlockQuantizer.quantize(w, rows, cols, cb, bs);
            PackedMatrix p = PackedMatrix.fromStream(q.packed(), rows, cols, bs, cb.bits(), q.scales(), cb.values());
            // decoding in the split layout reproduces the tensor's own dequantization (8 bits: affine decode,
            // a few ulps from the table)
            float[] deq = q.dequantize(), row = new float[cols];
            float tol = cb.bits() == 8 ? 1e-5f : 1e-6f;
            for (int o = 0; o < rows; o++) {
                QuantMatmul.decodeRow(p, o, row, 0);
                for (int i = 0; i < cols; i++) assertEquals(deq[o * cols + i], row[i], Math.abs(deq[o * cols + i]) * tol + 1e-12f);
            }
            int r = 5;
            float[] a = gauss(r * cols, 3), b = gauss(rows * r, 4);
            for (int batch : new int[]{1, 3, 17, 64}) {
                float[] x = gauss(batch * cols, batch);
                float[] y = new float[batch * rows], ref = new float[batch * rows];
                if (batch == 1) {
                    QuantMatmul.gemv(p, x, y, a, b, r, 2.5f);
                    QuantMatmul.gemvScalar(p, x, ref, a, b, r, 2.5f);
                } else {
                    QuantMatmul.gemm(p, x, batch, y, a, b, r, 2.5f);
                    QuantMatmul.gemmScalar(p, x, batch, ref, a, b, r, 2.5f);
                }
                assertClose(ref, y, book + " bs=" + bs + " " + rows + "x" + cols + " batch " + batch);
                // and against plain fp32 math on the dequantized weight
                float[] plain = new float[batch * rows], t = new float[batch * r];
                Gemm.multTransBScalar(x, batch, cols, deq, rows, plain);
                Gemm.multTransBScalar(x, batch, cols, a, r, t);
                for (int n = 0; n < batch; n++)
                    for (int o = 0; o < rows; o++)
                        for (int c = 0; c < r; c++) plain[n * rows + o] += 2.5f * b[o * r + c] * t[n * r + c];
                assertClose(plain, y, book + " vs fp32 " + rows + "x" + cols + " batch " + batch);
            }
        }
    }
}
