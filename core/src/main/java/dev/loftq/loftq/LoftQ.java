package dev.loftq.loftq;

import dev.loftq.lowrank.LowRank;
import dev.loftq.lowrank.Svd;
import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.QuantizedTensor;
import dev.loftq.simd.Gemm;
import dev.loftq.simd.Parallel;

/**
 * LoftQ (Li et al., ICLR 2024, Algorithm 1): alternate Q_t = quant(W − B_{t−1}·A_{t−1}) and a rank-r SVD
 * of W − Q_t, B_t = U·√S, A_t = √S·Vᵀ. The returned factors are divided by √s each so that the LoRA
 * forward Q + s·B·A reproduces W for any lora_alpha (PEFT itself does not compensate; see DESIGN.md).
 */
public final class LoftQ {
    private LoftQ() {}

    /** Runs LoftQ on w ([rows, cols] row-major, not modified); the same inputs give the same bytes. */
    public static LoftQResult initialize(float[] w, int rows, int cols, LoftQConfig cfg) {
        long start = System.nanoTime();
        int n = Math.multiplyExact(rows, cols);
        int r = Math.min(cfg.rank(), Math.min(rows, cols));
        double normSq = Gemm.sumSquares(w, n);
        if (normSq == 0) throw new IllegalArgumentException("weight is all zeros: nothing to approximate");
        float[] target = w.clone(), qd = new float[n], residual = new float[n];
        double[] errors = new double[cfg.iters()];
        double errorQlora = 0;
        QuantizedTensor q = null;
        LowRank lr = null;
        float[][] ba = null;
        for (int t = 0; t < cfg.iters(); t++) {
            q = BlockQuantizer.quantize(target, rows, cols, cfg.codebook(), cfg.blockSize(), cfg.doubleQuant());
            q.dequantizeInto(qd);
            subtract(w, qd, residual, n);
            if (t == 0) errorQlora = Math.sqrt(Gemm.sumSquares(residual, n) / normSq);
            Svd svd = cfg.newSvd(cfg.seed() * 1_000_003L + t);
            lr = svd.compute(residual, rows, cols, r, cfg.warmStart() && lr != null ? lr.vt() : null);
            ba = lr.split(1f);
            Gemm.subtractLowRank(w, ba[0], ba[1], rows, r, cols, target);     // next target W − B·A
            errors[t] = Math.sqrt(Gemm.sumSquaredDiff(target, qd, n) / normSq);
        }
        float[][] compensated = lr.split((float) (1 / Math.sqrt(cfg.scaling())));
        return new LoftQResult(q, compensated[1], compensated[0], r, cfg.scaling(), errorQlora, errors,
                (System.nanoTime() - start) / 1e9);
    }

    private static void subtract(float[] x, float[] y, float[] out, int n) {
        Parallel.forChunks(n, 1 << 16, (s, e) -> {
            for (int i = s; i < e; i++) out[i] = x[i] - y[i];
        });
    }
}
