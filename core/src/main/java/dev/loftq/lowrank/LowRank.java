package dev.loftq.lowrank;

/**
 * A rank-r truncated SVD M ≈ U · diag(s) · Vᵀ of an [m, n] matrix: U [m, r] row-major, s descending
 * (length r), Vᵀ [r, n] row-major.
 */
public record LowRank(int m, int n, int rank, float[] u, float[] s, float[] vt) {

    /** B = U·√S [m, r] and A = √S·Vᵀ [r, n], each further multiplied by {@code factor}. */
    public float[][] split(float factor) {
        float[] b = new float[m * rank], a = new float[rank * n];
        for (int c = 0; c < rank; c++) {
            float root = (float) Math.sqrt(s[c]) * factor;
            for (int i = 0; i < m; i++) b[i * rank + c] = u[i * rank + c] * root;
            for (int t = 0; t < n; t++) a[c * n + t] = vt[c * n + t] * root;
        }
        return new float[][]{b, a};
    }
}
