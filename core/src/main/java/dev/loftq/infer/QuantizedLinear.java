package dev.loftq.infer;

import dev.loftq.quant.Codebook;
import dev.loftq.quant.QuantizedTensor;
import dev.loftq.simd.Gemm;
import dev.loftq.simd.PackedMatrix;
import dev.loftq.simd.QuantMatmul;

/**
 * A linear layer y = x·Wᵀ over a quantized W [out, in], run by the fused dequant-matmul kernels
 * ({@link QuantMatmul}) on the split in-memory layout ({@link PackedMatrix}, repacked once from the
 * bitsandbytes order). Shapes or code books the fused kernels do not take (cols not a multiple of the block
 * size, NF8/NF3) run on the dequantized fp32 weight instead. Activations are batch-major: x [batch, in].
 */
public class QuantizedLinear {
    private final PackedMatrix packed;
    private final float[] dense;
    private final int out, in, blockSize;
    private final Codebook codebook;

    public QuantizedLinear(QuantizedTensor q) {
        this.out = q.rows();
        this.in = q.cols();
        this.blockSize = q.blockSize();
        this.codebook = q.codebook();
        float[] table = q.codebook().values();
        if (PackedMatrix.supports(q.cols(), q.blockSize(), q.codebook().bits(), table)) {
            this.packed = PackedMatrix.fromStream(q.packed(), q.rows(), q.cols(), q.blockSize(), q.codebook().bits(), q.scales(), table);
            this.dense = null;
        } else {
            this.packed = null;
            this.dense = q.dequantize();
        }
    }

    public Codebook codebook() { return codebook; }
    public int blockSize() { return blockSize; }
    public int outFeatures() { return out; }
    public int inFeatures() { return in; }

    /** Whether the fused kernels run this layer (else dequantized fp32). */
    public boolean fused() { return packed != null; }

    /** y[batch, out] = x[batch, in]·Wᵀ. */
    public void forward(float[] x, int batch, float[] y) {
        forward(x, batch, y, null, null, 0, 0f);
    }

    /** With a LoRA term s·(x·Aᵀ)·Bᵀ (a [r, in], b [out, r]); a == null for none. */
    protected void forward(float[] x, int batch, float[] y, float[] a, float[] b, int r, float s) {
        if (x.length < (long) batch * in || y.length < (long) batch * out) {
            throw new IllegalArgumentException("x needs " + (long) batch * in + " and y " + (long) batch * out + " floats");
        }
        if (packed != null) {
            if (batch == 1) QuantMatmul.gemv(packed, x, y, a, b, r, s);
            else QuantMatmul.gemm(packed, x, batch, y, a, b, r, s);
            return;
        }
        Gemm.multTransB(x, batch, in, dense, out, y);
        if (a == null) return;
        float[] t = new float[batch * r];
        Gemm.multTransB(x, batch, in, a, r, t);
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < out; o++) y[n * out + o] += s * Gemm.dot(b, o * r, t, n * r, r);
    }
}
