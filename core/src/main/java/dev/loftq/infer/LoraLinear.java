package dev.loftq.infer;

import dev.loftq.quant.QuantizedTensor;

/** y = x·Qᵀ + s·(x·Aᵀ)·Bᵀ: a quantized base with its LoRA adapter (A [r, in], B [out, r], row-major). */
public final class LoraLinear extends QuantizedLinear {
    private final float[] a, b;
    private final int r;
    private final float s;

    public LoraLinear(QuantizedTensor q, float[] a, float[] b, int r, float s) {
        super(q);
        if (a.length != (long) r * q.cols() || b.length != (long) q.rows() * r) {
            throw new IllegalArgumentException("LoRA factors do not fit a " + q.rows() + "x" + q.cols() + " weight at rank " + r);
        }
        this.a = a;
        this.b = b;
        this.r = r;
        this.s = s;
    }

    public int rank() { return r; }
    public float scaling() { return s; }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        forward(x, batch, y, a, b, r, s);
    }
}
