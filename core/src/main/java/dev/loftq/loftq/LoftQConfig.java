package dev.loftq.loftq;

import dev.loftq.lowrank.ExactSvd;
import dev.loftq.lowrank.RandomizedSvd;
import dev.loftq.lowrank.Svd;
import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.Codebook;

/**
 * Settings of one LoftQ initialization.
 *
 * @param codebook    code book of Q (NF4 by default)
 * @param blockSize   values per quantization block
 * @param doubleQuant 8-bit block scales (QLoRA double quantization)
 * @param rank        LoRA rank r
 * @param iters       alternating steps T ≥ 1 (T = 1: quantize W, then SVD of its error)
 * @param alpha       lora_alpha; the factors are stored so that Q + s·B·A ≈ W with s = alpha/r (alpha/√r with rsLoRA)
 * @param rslora      rank-stabilised scaling
 * @param svd         EXACT (EJML, full SVD) or RANDOMIZED (default)
 * @param oversample  extra probe vectors of the randomized SVD
 * @param powerIters  power iterations of the randomized SVD
 * @param warmStart   start each randomized SVD from the previous iteration's right singular vectors
 * @param seed        seed of the Gaussian test matrices
 */
public record LoftQConfig(Codebook codebook, int blockSize, boolean doubleQuant, int rank, int iters, float alpha,
                          boolean rslora, SvdMethod svd, int oversample, int powerIters, boolean warmStart, long seed) {
    public enum SvdMethod { EXACT, RANDOMIZED }

    public LoftQConfig {
        if (rank < 1) throw new IllegalArgumentException("rank must be ≥ 1, got " + rank);
        if (iters < 1) throw new IllegalArgumentException("iterations must be ≥ 1, got " + iters);
        if (!(alpha > 0) || Float.isInfinite(alpha)) throw new IllegalArgumentException("lora_alpha must be > 0, got " + alpha);
        BlockQuantizer.checkBlockSize(blockSize);
    }

    /** NF4, block 64, rank 16, T = 5, alpha = rank, randomized SVD (oversample 16, 2 power iterations, warm start), seed 0. */
    public static LoftQConfig defaults() {
        return new LoftQConfig(Codebook.normalFloat(4), 64, false, 16, 5, 16f, false, SvdMethod.RANDOMIZED, 16, 2, true, 0L);
    }

    /** The LoRA scaling s the adapter is applied with. */
    public float scaling() {
        return (float) (rslora ? alpha / Math.sqrt(rank) : alpha / rank);
    }

    Svd newSvd(long matrixSeed) {
        return svd == SvdMethod.EXACT ? new ExactSvd() : new RandomizedSvd(oversample, powerIters, matrixSeed);
    }

    public LoftQConfig withCodebook(Codebook c) { return new LoftQConfig(c, blockSize, doubleQuant, rank, iters, alpha, rslora, svd, oversample, powerIters, warmStart, seed); }
    public LoftQConfig withBlockSize(int b) { return new LoftQConfig(codebook, b, doubleQuant, rank, iters, alpha, rslora, svd, oversample, powerIters, warmStart, seed); }
    public LoftQConfig withDoubleQuant(boolean d) { return new LoftQConfig(codebook, blockSize, d, rank, iters, alpha, rslora, svd, oversample, powerIters, warmStart, seed); }
    /** Also resets alpha to the rank when alpha equalled the old rank (the usual default). */
    public LoftQConfig withRank(int r) { return new LoftQConfig(codebook, blockSize, doubleQuant, r, iters, alpha == rank ? r : alpha, rslora, svd, oversample, powerIters, warmStart, seed); }
    public LoftQConfig withIters(int t) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, t, alpha, rslora, svd, oversample, powerIters, warmStart, seed); }
    public LoftQConfig withAlpha(float a) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, iters, a, rslora, svd, oversample, powerIters, warmStart, seed); }
    public LoftQConfig withRslora(boolean r) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, iters, alpha, r, svd, oversample, powerIters, warmStart, seed); }
    public LoftQConfig withSvd(SvdMethod m) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, iters, alpha, rslora, m, oversample, powerIters, warmStart, seed); }
    public LoftQConfig withPowerIters(int q) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, iters, alpha, rslora, svd, oversample, q, warmStart, seed); }
    public LoftQConfig withOversample(int p) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, iters, alpha, rslora, svd, p, powerIters, warmStart, seed); }
    public LoftQConfig withWarmStart(boolean w) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, iters, alpha, rslora, svd, oversample, powerIters, w, seed); }
    public LoftQConfig withSeed(long s) { return new LoftQConfig(codebook, blockSize, doubleQuant, rank, iters, alpha, rslora, svd, oversample, powerIters, warmStart, s); }
}
