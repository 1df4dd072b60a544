package dev.loftq.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * fp32 products of a big row-major matrix A [m, n] with thin matrices (k ≈ rank + oversampling columns),
 * the two products that dominate a randomized SVD, plus the low-rank update LoftQ needs. Thin matrices
 * are passed in "panel" form, transposed to [k, n] or [k, m] row-major, so every inner loop runs along the
 * long dimension. Each kernel parallelises over independent output ranges ({@link Parallel}): every output
 * element is summed by one thread in a fixed order, so results do not depend on the thread count.
 * Scalar twins follow each kernel.
 */
public final class Gemm {
    private Gemm() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int FL = F.length();

    // ---- C = A · Xᵀ ------------------------------------------------------------------------------

    /**
     * c[i·k + j] = Σ_t a[i·n + t] · x[j·n + t]: A [m, n], X [k, n], C [m, k]. Parallel over tiles of
     * 32 rows of A × 64 rows of X, so a short A (a batch of activations) still uses every core.
     */
    public static void multTransB(float[] a, int m, int n, float[] x, int k, float[] c) {
        int rowTiles = (m + 31) / 32, colTiles = (k + 63) / 64;
        Parallel.forChunks(rowTiles * colTiles, 1, (t0, t1) -> {
            for (int tile = t0; tile < t1; tile++) {
                int i0 = tile / colTiles * 32, j0 = tile % colTiles * 64;
                multTransBTile(a, i0, Math.min(m, i0 + 32), n, x, j0, Math.min(k, j0 + 64), k, c);
            }
        });
    }

    private static void multTransBTile(float[] a, int i0, int i1, int n, float[] x, int j0, int j1, int k, float[] c) {
        int i = i0;
        // 32 vector registers (AVX-512) hold a 4x4 tile; 16 (AVX2, NEON) only the 2x4 one.
        if (FL >= 16) for (; i + 3 < i1; i += 4) {
            int j = j0;
            for (; j + 3 < j1; j += 4) dot4x4(a, i, n, x, j, k, c);
            for (; j < j1; j++) for (int ii = i; ii < i + 4; ii++) c[ii * k + j] = dot(a, ii * n, x, j * n, n);
        }
        for (; i + 1 < i1; i += 2) {
            int j = j0;
            for (; j + 3 < j1; j += 4) dot2x4(a, i, n, x, j, k, c);
            for (; j < j1; j++) {
                c[i * k + j] = dot(a, i * n, x, j * n, n);
                c[(i + 1) * k + j] = dot(a, (i + 1) * n, x, j * n, n);
            }
        }
        for (; i < i1; i++) for (int j = j0; j < j1; j++) c[i * k + j] = dot(a, i * n, x, j * n, n);
    }

    /** Two rows of A against four rows of X: 8 accumulators, 6 loads per 8 FMAs. */
    private static void dot2x4(float[] a, int i, int n, float[] x, int j, int k, float[] c) {
        int a0 = i * n, a1 = a0 + n, x0 = j * n, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        int t = 0;
        for (int upper = F.loopBound(n); t < upper; t += FL) {
            FloatVector va = FloatVector.fromArray(F, a, a0 + t), vb = FloatVector.fromArray(F, a, a1 + t);
            FloatVector w0 = FloatVector.fromArray(F, x, x0 + t), w1 = FloatVector.fromArray(F, x, x1 + t);
            FloatVector w2 = FloatVector.fromArray(F, x, x2 + t), w3 = FloatVector.fromArray(F, x, x3 + t);
            s00 = va.fma(w0, s00); s01 = va.fma(w1, s01); s02 = va.fma(w2, s02); s03 = va.fma(w3, s03);
            s10 = vb.fma(w0, s10); s11 = vb.fma(w1, s11); s12 = vb.fma(w2, s12); s13 = vb.fma(w3, s13);
        }
        float[] r = {sumLanes(s00), sumLanes(s01), sumLanes(s02), sumLanes(s03),
                sumLanes(s10), sumLanes(s11), sumLanes(s12), sumLanes(s13)};
        for (; t < n; t++) {
            float u = a[a0 + t], v = a[a1 + t];
            r[0] += u * x[x0 + t]; r[1] += u * x[x1 + t]; r[2] += u * x[x2 + t]; r[3] += u * x[x3 + t];
            r[4] += v * x[x0 + t]; r[5] += v * x[x1 + t]; r[6] += v * x[x2 + t]; r[7] += v * x[x3 + t];
        }
        System.arraycopy(r, 0, c, i * k + j, 4);
        System.arraycopy(r, 4, c, (i + 1) * k + j, 4);
    }

    /** Four rows of A against four rows of X: 16 accumulators, 8 loads per 16 FMAs. */
    private static void dot4x4(float[] a, int i, int n, float[] x, int j, int k, float[] c) {
        int a0 = i * n, a1 = a0 + n, a2 = a1 + n, a3 = a2 + n, x0 = j * n, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00,
                s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        int t = 0;
        for (int upper = F.loopBound(n); t < upper; t += FL) {
            FloatVector w0 = FloatVector.fromArray(F, x, x0 + t), w1 = FloatVector.fromArray(F, x, x1 + t);
            FloatVector w2 = FloatVector.fromArray(F, x, x2 + t), w3 = FloatVector.fromArray(F, x, x3 + t);
            FloatVector v = FloatVector.fromArray(F, a, a0 + t);
            s00 = v.fma(w0, s00); s01 = v.fma(w1, s01); s02 = v.fma(w2, s02); s03 = v.fma(w3, s03);
            v = FloatVector.fromArray(F, a, a1 + t);
            s10 = v.fma(w0, s10); s11 = v.fma(w1, s11); s12 = v.fma(w2, s12); s13 = v.fma(w3, s13);
            v = FloatVector.fromArray(F, a, a2 + t);
            s20 = v.fma(w0, s20); s21 = v.fma(w1, s21); s22 = v.fma(w2, s22); s23 = v.fma(w3, s23);
            v = FloatVector.fromArray(F, a, a3 + t);
            s30 = v.fma(w0, s30); s31 = v.fma(w1, s31); s32 = v.fma(w2, s32); s33 = v.fma(w3, s33);
        }
        float[] r = {sumLanes(s00), sumLanes(s01), sumLanes(s02), sumLanes(s03), sumLanes(s10), sumLanes(s11),
                sumLanes(s12), sumLanes(s13), sumLanes(s20), sumLanes(s21), sumLanes(s22), sumLanes(s23),
                sumLanes(s30), sumLanes(s31), sumLanes(s32), sumLanes(s33)};
        for (; t < n; t++) {
            for (int ii = 0; ii < 4; ii++) {
                float u = a[a0 + ii * n + t];
                for (int jj = 0; jj < 4; jj++) r[ii * 4 + jj] += u * x[x0 + jj * n + t];
            }
        }
        for (int ii = 0; ii < 4; ii++) System.arraycopy(r, ii * 4, c, (i + ii) * k + j, 4);
    }

    /** Σ_t p[po + t] · q[qo + t] with one vector accumulator and a scalar tail. */
    public static float dot(float[] p, int po, float[] q, int qo, int n) {
        FloatVector s = FloatVector.zero(F);
        int t = 0;
        for (int upper = F.loopBound(n); t < upper; t += FL) {
            s = FloatVector.fromArray(F, p, po + t).fma(FloatVector.fromArray(F, q, qo + t), s);
        }
        float r = sumLanes(s);
        for (; t < n; t++) r += p[po + t] * q[qo + t];
        return r;
    }

    /**
     * Lane sum in lane order. {@code reduceLanes(ADD)} leaves the order open, and the interpreter and the
     * C2 intrinsic do differ, which made results depend on JIT timing; this keeps them bit-reproducible.
     */
    static float sumLanes(FloatVector v) {
        float s = 0;
        for (int i = 0; i < FL; i++) s += v.lane(i);
        return s;
    }

    public static void multTransBScalar(float[] a, int m, int n, float[] x, int k, float[] c) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                float s = 0;
                for (int t = 0; t < n; t++) s += a[i * n + t] * x[j * n + t];
                c[i * k + j] = s;
            }
        }
    }

    // ---- Yᵀ = Qᵀ · A -------------------------------------------------------------------------------

    /**
     * yt[j·n + t] = Σ_i q[i·k + j] · a[i·n + t]: A [m, n], Q [m, k] row-major, result Yᵀ = (Aᵀ·Q)ᵀ [k, n].
     * Column strips of A in parallel; each strip keeps a 4 × 2-vector tile of Yᵀ in registers over all m rows.
     */
    public static void multTransA(float[] a, int m, int n, float[] q, int k, float[] yt) {
        int strip = 2 * FL;
        int strips = n / strip;
        Parallel.forChunks(strips, 8, (s0, s1) -> {
            for (int s = s0; s < s1; s++) {
                int t = s * strip;
                int j = 0;
                for (; j + 3 < k; j += 4) {
                    FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00,
                            c20 = c00, c21 = c00, c30 = c00, c31 = c00;
                    for (int i = 0, ai = t, qi = j; i < m; i++, ai += n, qi += k) {
                        FloatVector v0 = FloatVector.fromArray(F, a, ai), v1 = FloatVector.fromArray(F, a, ai + FL);
                        FloatVector q0 = FloatVector.broadcast(F, q[qi]), q1 = FloatVector.broadcast(F, q[qi + 1]);
                        FloatVector q2 = FloatVector.broadcast(F, q[qi + 2]), q3 = FloatVector.broadcast(F, q[qi + 3]);
                        c00 = v0.fma(q0, c00); c01 = v1.fma(q0, c01);
                        c10 = v0.fma(q1, c10); c11 = v1.fma(q1, c11);
                        c20 = v0.fma(q2, c20); c21 = v1.fma(q2, c21);
                        c30 = v0.fma(q3, c30); c31 = v1.fma(q3, c31);
                    }
                    c00.intoArray(yt, j * n + t); c01.intoArray(yt, j * n + t + FL);
                    c10.intoArray(yt, (j + 1) * n + t); c11.intoArray(yt, (j + 1) * n + t + FL);
                    c20.intoArray(yt, (j + 2) * n + t); c21.intoArray(yt, (j + 2) * n + t + FL);
                    c30.intoArray(yt, (j + 3) * n + t); c31.intoArray(yt, (j + 3) * n + t + FL);
                }
                if (j < k) multTransAScalar(a, m, n, q, k, yt, j, k, t, t + strip);
            }
        });
        if (strips * strip < n) multTransAScalar(a, m, n, q, k, yt, 0, k, strips * strip, n);
    }

    public static void multTransAScalar(float[] a, int m, int n, float[] q, int k, float[] yt) {
        multTransAScalar(a, m, n, q, k, yt, 0, k, 0, n);
    }

    /** The scalar twin over output rows [j0, j1) and columns [t0, t1) of Yᵀ, summing i in order. */
    private static void multTransAScalar(float[] a, int m, int n, float[] q, int k, float[] yt, int j0, int j1, int t0, int t1) {
        for (int j = j0; j < j1; j++) {
            for (int t = t0; t < t1; t++) {
                float s = 0;
                for (int i = 0; i < m; i++) s = Math.fma(q[i * k + j], a[i * n + t], s);
                yt[j * n + t] = s;
            }
        }
    }

    // ---- Out = W − B · A (rank-r update) -------------------------------------------------------------

    /**
     * out[i·n + t] = w[i·n + t] − Σ_c b[i·r + c] · at[c·n + t]: W, Out [m, n], B [m, r], A [r, n].
     * out may be w. Rows in parallel.
     */
    public static void subtractLowRank(float[] w, float[] b, float[] at, int m, int r, int n, float[] out) {
        Parallel.forChunks(m, 16, (r0, r1) -> {
            for (int i = r0; i < r1; i++) {
                int row = i * n, t = 0;
                for (int upper = F.loopBound(n); t < upper; t += FL) {
                    FloatVector acc = FloatVector.fromArray(F, w, row + t);
                    for (int c = 0; c < r; c++) acc = FloatVector.fromArray(F, at, c * n + t).fma(FloatVector.broadcast(F, -b[i * r + c]), acc);
                    acc.intoArray(out, row + t);
                }
                for (; t < n; t++) {
                    float acc = w[row + t];
                    for (int c = 0; c < r; c++) acc = Math.fma(at[c * n + t], -b[i * r + c], acc);
                    out[row + t] = acc;
                }
            }
        });
    }

    public static void subtractLowRankScalar(float[] w, float[] b, float[] at, int m, int r, int n, float[] out) {
        for (int i = 0; i < m; i++) {
            for (int t = 0; t < n; t++) {
                float acc = w[i * n + t];
                for (int c = 0; c < r; c++) acc = Math.fma(at[c * n + t], -b[i * r + c], acc);
                out[i * n + t] = acc;
            }
        }
    }

    // ---- reductions ----------------------------------------------------------------------------------

    /**
     * Σ (x[i] − y[i])² over [0, len) (y null: Σ x[i]²), fp32 within fixed 4096-value chunks, chunks summed
     * in double.
     */
    public static double sumSquaredDiff(float[] x, float[] y, int len) {
        int chunk = 4096, chunks = (len + chunk - 1) / chunk;
        double[] partial = new double[chunks];
        Parallel.forChunks(chunks, 16, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                int start = c * chunk, n = Math.min(chunk, len - start), t = 0;
                FloatVector acc = FloatVector.zero(F);
                for (int upper = F.loopBound(n); t < upper; t += FL) {
                    FloatVector d = FloatVector.fromArray(F, x, start + t);
                    if (y != null) d = d.sub(FloatVector.fromArray(F, y, start + t));
                    acc = d.fma(d, acc);
                }
                double s = sumLanes(acc);
                for (; t < n; t++) {
                    float d = y == null ? x[start + t] : x[start + t] - y[start + t];
                    s += (double) d * d;
                }
                partial[c] = s;
            }
        });
        double total = 0;
        for (double p : partial) total += p;
        return total;
    }

    /** Σ x[i]² over [0, len), computed like {@link #sumSquaredDiff}. */
    public static double sumSquares(float[] x, int len) {
        return sumSquaredDiff(x, null, len);
    }
}
