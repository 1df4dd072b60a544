package dev.loftq.quant;

import java.util.Arrays;
import java.util.Locale;

/**
 * A quantization code book: 2^bits fp32 values in ascending order (code = index) and the rule that
 * picks each block's scale. Quantized tensors always store these ascending codes; {@link #formatCode}
 * maps them to a file format's own code order where that differs (bitsandbytes FP4 uses bit patterns).
 *
 * <p>Code books: NormalFloat NF2/NF3/NF4/NF8 (bitsandbytes' construction, see {@link #normalFloat}),
 * bitsandbytes FP4, and LoftQ's "uniform" INT2/3/4/8 ({@code linspace(-1, 1, 2^bits)}).
 */
public final class Codebook {
    /** How a block's scale is chosen. */
    public enum ScaleRule {
        /** max |x| over the block (bitsandbytes / QLoRA). */
        ABSMAX,
        /** |mean| + 2.5 · std of the block (LoftQ's uniform quantizer); values beyond it clamp to ±1. */
        MEAN_STD
    }

    /** bitsandbytes' NF offset δ. */
    public static final float NF_OFFSET = 0.9677083f;

    private final String name;
    private final int bits;
    private final float[] values;
    private final float[] mids;
    private final int[] formatCode;
    private final ScaleRule scaleRule;

    private Codebook(String name, int bits, float[] values, int[] formatCode, ScaleRule scaleRule) {
        this.name = name;
        this.bits = bits;
        this.values = values;
        this.formatCode = formatCode;
        this.scaleRule = scaleRule;
        this.mids = new float[values.length - 1];
        // Midpoints in fp32, the way a float32 reference computes them, so ties are reproducible.
        for (int k = 0; k < mids.length; k++) mids[k] = (values[k] + values[k + 1]) / 2f;
    }

    /**
     * NormalFloat with {@code bits} bits, built as bitsandbytes builds NF4: fp32 {@code linspace(δ, 0.5, 2^(b−1)+1)}
     * without its last point gives the positive quantiles, {@code linspace(δ, 0.5, 2^(b−1))} without its last
     * point the negative ones, plus 0; Φ⁻¹ of each is rounded to fp32, and all are divided (in fp32) by the largest.
     */
    public static Codebook normalFloat(int bits) {
        if (bits < 2 || bits > 8) throw new IllegalArgumentException("NormalFloat needs 2..8 bits, got " + bits);
        int half = 1 << (bits - 1);
        float[] pos = linspace32(NF_OFFSET, 0.5f, half + 1);
        float[] neg = linspace32(NF_OFFSET, 0.5f, half);
        float[] v = new float[1 << bits];
        int k = 0;
        for (int i = 0; i < half; i++) v[k++] = (float) NormalQuantiles.quantile(pos[i]);
        v[k++] = 0f;
        for (int i = 0; i < half - 1; i++) v[k++] = (float) -NormalQuantiles.quantile(neg[i]);
        Arrays.sort(v);
        float max = v[v.length - 1];
        for (int i = 0; i < v.length; i++) v[i] /= max;
        return new Codebook("nf" + bits, bits, v, identity(v.length), ScaleRule.ABSMAX);
    }

    /** bitsandbytes FP4 (e2m1 with its own bias), values = pattern value / 12; format code = bit pattern. */
    public static Codebook fp4() {
        float[] byPattern = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f, -0f, -0.0625f, -8f, -12f, -4f, -6f, -2f, -3f};
        Integer[] order = new Integer[16];
        for (int i = 0; i < 16; i++) order[i] = i;
        // Ascending by value; -0 before +0 so the order (and so every code) is fixed.
        Arrays.sort(order, (a, b) -> Float.compare(byPattern[a], byPattern[b]));
        float[] v = new float[16];
        int[] format = new int[16];
        for (int r = 0; r < 16; r++) {
            v[r] = byPattern[order[r]] / 12f;
            format[r] = order[r];
        }
        return new Codebook("fp4", 4, v, format, ScaleRule.ABSMAX);
    }

    /** LoftQ's uniform quantizer: {@code linspace(-1, 1, 2^bits)}, block scale |mean| + 2.5·std. */
    public static Codebook uniform(int bits) {
        if (bits < 2 || bits > 8) throw new IllegalArgumentException("uniform needs 2..8 bits, got " + bits);
        int n = 1 << bits;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (-1.0 + 2.0 * i / (n - 1));
        return new Codebook("int" + bits, bits, v, identity(n), ScaleRule.MEAN_STD);
    }

    /** Parses "nf4", "nf2", "fp4", "int4", "uniform4" (case-insensitive). */
    public static Codebook parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.equals("fp4")) return fp4();
            if (s.startsWith("nf")) return normalFloat(Integer.parseInt(s.substring(2)));
            if (s.startsWith("int")) return uniform(Integer.parseInt(s.substring(3)));
            if (s.startsWith("uniform")) return uniform(Integer.parseInt(s.substring(7)));
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("unknown code book '" + spec + "' (expected nf2..nf8, fp4, int2..int8)");
    }

    /** The same family at another width: nf → nf, int → int; fp4 only exists at 4 bits. */
    public Codebook withBits(int newBits) {
        if (newBits == bits) return this;
        if (name.startsWith("nf")) return normalFloat(newBits);
        if (name.startsWith("int")) return uniform(newBits);
        throw new IllegalArgumentException(name + " has no " + newBits + "-bit variant");
    }

    public String name() { return name; }
    public int bits() { return bits; }
    public ScaleRule scaleRule() { return scaleRule; }
    /** Ascending table values, index = code (copy). */
    public float[] values() { return values.clone(); }
    /** Ascending fp32 midpoints between neighbouring values (copy). */
    public float[] mids() { return mids.clone(); }
    float[] valuesShared() { return values; }
    float[] midsShared() { return mids; }
    /** This book's code {@code code} in the file format's numbering (bit pattern for FP4, identity otherwise). */
    public int formatCode(int code) { return formatCode[code]; }
    /** The table indexed by format code, as bitsandbytes' {@code quant_map} stores it. */
    public float[] formatTable() {
        float[] t = new float[values.length];
        for (int c = 0; c < values.length; c++) t[formatCode[c]] = values[c];
        return t;
    }
    public boolean formatIsIdentity() {
        for (int c = 0; c < formatCode.length; c++) if (formatCode[c] != c) return false;
        return true;
    }

    @Override public String toString() { return name; }

    @Override public boolean equals(Object o) {
        return o instanceof Codebook c && c.name.equals(name) && Arrays.equals(c.values, values);
    }

    @Override public int hashCode() { return name.hashCode(); }

    /** torch.linspace for float32 on CPU: start + i·step for the first half, end − (n−1−i)·step after. */
    static float[] linspace32(float start, float end, int n) {
        float[] out = new float[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++) out[i] = i < halfway ? start + step * i : end - step * (n - 1 - i);
        return out;
    }

    private static int[] identity(int n) {
        int[] id = new int[n];
        for (int i = 0; i < n; i++) id[i] = i;
        return id;
    }
}
