package dev.loftq.loftq;

import dev.loftq.quant.QuantizedTensor;

/**
 * The LoftQ start point of one [rows, cols] weight W: Q + s·B·A ≈ W.
 *
 * @param q             quantized backbone weight
 * @param a             lora_A, [rank, cols] row-major
 * @param b             lora_B, [rows, rank] row-major
 * @param scaling       s the factors were compensated for
 * @param errorQlora    ‖W − Q₀‖ / ‖W‖ with Q₀ = quant(W) (QLoRA's start, B = 0)
 * @param errors        ‖W − Q_t − s·B_t·A_t‖ / ‖W‖ after each iteration t = 1..T
 * @param seconds       wall time of the initialization
 */
public record LoftQResult(QuantizedTensor q, float[] a, float[] b, int rank, float scaling, double errorQlora,
                          double[] errors, double seconds) {
    /** The error after the last iteration. */
    public double error() {
        return errors[errors.length - 1];
    }
}
