package dev.loftq.quant;

/**
 * The standard normal quantile function Φ⁻¹ to double precision, for building NormalFloat tables.
 * Φ is evaluated with its Taylor series Φ(x) = ½ + φ(x)·Σ x^(2n+1)/(2n+1)!!, whose terms are all of one
 * sign (no cancellation) for the |x| &lt; 4 the tables need; Φ⁻¹ is then found by Newton steps finished
 * by bisection, so no published rational approximation is needed.
 */
final class NormalQuantiles {
    private NormalQuantiles() {}

    static double cdf(double x) {
        if (Math.abs(x) > 8) return x > 0 ? 1 : 0;
        double term = x, sum = x, x2 = x * x;
        for (int n = 1; n < 500 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
            term *= x2 / (2 * n + 1);
            sum += term;
        }
        return 0.5 + Math.exp(-0.5 * x2) / Math.sqrt(2 * Math.PI) * sum;
    }

    /** Φ⁻¹(p) for 0 &lt; p &lt; 1, accurate to a few ulps of double for 1e-4 &lt; p &lt; 1 − 1e-4. */
    static double quantile(double p) {
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("quantile needs 0 < p < 1, got " + p);
        double lo = -9, hi = 9, x = 0;
        for (int it = 0; it < 200; it++) {
            double f = cdf(x) - p;
            if (f > 0) hi = x; else lo = x;
            double step = f / (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
            double next = x - step;
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (next == x || hi - lo < 1e-16) break;
            x = next;
        }
        return x;
    }
}
