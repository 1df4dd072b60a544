package dev.loftq.lowrank;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * Full SVD with EJML, truncated to rank r. In double precision: the residual W − Q has a flat tail of
 * singular values, and double keeps the leading r of them accurate to far below the fp32 output
 * precision, so this is the reference the randomized method is measured against. Cost O(m·n·min(m, n)).
 */
public final class ExactSvd implements Svd {
    @Override
    public LowRank compute(float[] a, int m, int n, int rank, float[] warmStart) {
        int r = Math.min(rank, Math.min(m, n));
        DMatrixRMaj mat = new DMatrixRMaj(m, n);
        for (int i = 0; i < m * n; i++) mat.data[i] = a[i];
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(m, n, true, true, true);
        if (!svd.decompose(mat)) throw new ArithmeticException("EJML SVD did not converge for a " + m + "x" + n + " matrix");
        DMatrixRMaj u = svd.getU(null, false), w = svd.getW(null), v = svd.getV(null, false);
        SingularOps_DDRM.descendingOrder(u, false, w, v, false);
        return fromDouble(u, w, v, m, n, r);
    }

    /** Takes the leading r columns of U [m, c], diagonal W, V [n, c] (both untransposed) into fp32. */
    static LowRank fromDouble(DMatrixRMaj u, DMatrixRMaj w, DMatrixRMaj v, int m, int n, int r) {
        float[] uf = new float[m * r], s = new float[r], vt = new float[r * n];
        for (int c = 0; c < r; c++) {
            s[c] = (float) w.get(c, c);
            for (int i = 0; i < m; i++) uf[i * r + c] = (float) u.get(i, c);
            for (int t = 0; t < n; t++) vt[c * n + t] = (float) v.get(t, c);
        }
        return new LowRank(m, n, r, uf, s, vt);
    }
}
