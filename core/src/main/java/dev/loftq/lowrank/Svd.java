package dev.loftq.lowrank;

/** A rank-r truncated SVD method. */
public interface Svd {
    /**
     * The best rank-{@code rank} approximation of a [m, n] row-major matrix (not modified).
     *
     * @param warmStart a previous Vᵀ [r', n] whose row space is a good start, or null
     */
    LowRank compute(float[] a, int m, int n, int rank, float[] warmStart);
}
