package dev.loftq.lowrank;

import dev.loftq.simd.Gemm;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

import java.util.SplittableRandom;

/**
 * Randomized truncated SVD (Halko, Martinsson, Tropp 2011, Alg. 4.4 + 5.1) with k = r + oversample
 * probe vectors and {@code powerIters} power iterations, re-orthonormalised by QR between products.
 * The big products A·Ωᵀ and Qᵀ·A run on the fp32 {@link Gemm} kernels; the thin QRs and the final
 * k × n SVD run in double on EJML. A warm start puts a previous Vᵀ in the first rows of Ω (the rest
 * stay Gaussian), which captures a slowly changing subspace with fewer power iterations.
 */
public final class RandomizedSvd implements Svd {
    private final int oversample, powerIters;
    private final long seed;

    public RandomizedSvd(int oversample, int powerIters, long seed) {
        if (oversample < 0 || powerIters < 0) throw new IllegalArgumentException("oversample and power iterations must be ≥ 0");
        this.oversample = oversample;
        this.powerIters = powerIters;
        this.seed = seed;
    }

    @Override
    public LowRank compute(float[] a, int m, int n, int rank, float[] warmStart) {
        int r = Math.min(rank, Math.min(m, n));
        int k = Math.min(r + oversample, Math.min(m, n));
        float[] omega = new float[k * n];
        int warmRows = warmStart == null ? 0 : Math.min(k, warmStart.length / n);
        if (warmRows > 0) System.arraycopy(warmStart, 0, omega, 0, warmRows * n);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = warmRows * n; i < omega.length; i++) omega[i] = (float) rng.nextGaussian();

        float[] y = new float[m * k], zt = new float[k * n];
        Gemm.multTransB(a, m, n, omega, k, y);              // Y = A·Ω  [m, k]
        float[] q = orthonormalize(y, m, k);
        for (int it = 0; it < powerIters; it++) {
            Gemm.multTransA(a, m, n, q, k, zt);             // Zᵀ = Qᵀ·A  [k, n]
            float[] z = orthonormalize(transpose(zt, k, n), n, k);
            Gemm.multTransB(a, m, n, transpose(z, n, k), k, y);   // Y = A·Z
            q = orthonormalize(y, m, k);
        }
        Gemm.multTransA(a, m, n, q, k, zt);                 // B = Qᵀ·A  [k, n]

        DMatrixRMaj small = new DMatrixRMaj(k, n);
        for (int i = 0; i < k * n; i++) small.data[i] = zt[i];
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(k, n, true, true, true);
        if (!svd.decompose(small)) throw new ArithmeticException("EJML SVD did not converge on the " + k + "x" + n + " projection");
        DMatrixRMaj ub = svd.getU(null, false), w = svd.getW(null), v = svd.getV(null, false);
        SingularOps_DDRM.descendingOrder(ub, false, w, v, false);
        DMatrixRMaj qd = new DMatrixRMaj(m, k);
        for (int i = 0; i < m * k; i++) qd.data[i] = q[i];
        DMatrixRMaj u = new DMatrixRMaj(m, ub.numCols);
        CommonOps_DDRM.mult(qd, ub, u);                      // U = Q·Ũ
        return ExactSvd.fromDouble(u, w, v, m, n, r);
    }

    /** Orthonormal basis (thin Q of a QR, in double) of the columns of x [rows, cols]. */
    static float[] orthonormalize(float[] x, int rows, int cols) {
        DMatrixRMaj mat = new DMatrixRMaj(rows, cols);
        for (int i = 0; i < rows * cols; i++) mat.data[i] = x[i];
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(rows, cols);
        if (!qr.decompose(mat)) throw new ArithmeticException("QR failed on a " + rows + "x" + cols + " block");
        DMatrixRMaj q = qr.getQ(null, true);
        float[] out = new float[rows * cols];
        for (int i = 0; i < rows * cols; i++) out[i] = (float) q.data[i];
        return out;
    }

    static float[] transpose(float[] x, int rows, int cols) {
        float[] t = new float[rows * cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }
}
