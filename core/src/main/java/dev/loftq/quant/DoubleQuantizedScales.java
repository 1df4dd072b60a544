package dev.loftq.quant;

import dev.loftq.simd.QuantKernels;

/**
 * QLoRA double quantization of block scales (bitsandbytes {@code compress_statistics}): subtract
 * {@code offset = mean(scales)}, then quantize the centred scales blockwise (256 per nested block,
 * absmax) against bitsandbytes' signed 8-bit dynamic map. Scale b decodes to
 * {@code MAP[codes[b]] · nestedAbsmax[b / 256] + offset}.
 */
public record DoubleQuantizedScales(float offset, byte[] codes, float[] nestedAbsmax) {
    public static final int NESTED_BLOCK = 256;
    private static final float[] MAP = dynamicMap();
    private static final float[] MAP_MIDS = midpoints(MAP);

    public static DoubleQuantizedScales quantize(float[] scales) {
        double sum = 0;
        for (float s : scales) sum += s;
        float offset = (float) (sum / scales.length);
        float[] centred = new float[scales.length];
        for (int i = 0; i < scales.length; i++) centred[i] = scales[i] - offset;
        float[] nested = new float[QuantizedTensor.numBlocks(scales.length, NESTED_BLOCK)];
        QuantKernels.absmaxBlocks(centred, 0, centred.length, NESTED_BLOCK, nested, 0);
        byte[] codes = new byte[scales.length];
        QuantKernels.encodeCodes(centred, 0, centred.length, NESTED_BLOCK, nested, 0, MAP_MIDS, codes, 0);
        return new DoubleQuantizedScales(offset, codes, nested);
    }

    /** The decoded fp32 scales. */
    public float[] dequantize() {
        float[] out = new float[codes.length];
        for (int b = 0; b < codes.length; b++) out[b] = MAP[codes[b] & 0xFF] * nestedAbsmax[b / NESTED_BLOCK] + offset;
        return out;
    }

    /** bitsandbytes' signed dynamic 8-bit map (256 ascending values), as stored in {@code nested_quant_map}. */
    public static float[] map() {
        return MAP.clone();
    }

    /**
     * {@code create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)}: for exponent i = 0..6,
     * 2^i fraction means of {@code linspace(0.1, 1, 2^i + 1)} scaled by 10^(i−6), both signs; plus 0 and 1.
     */
    static float[] dynamicMap() {
        float[] data = new float[256];
        int k = 0;
        for (int i = 0; i < 7; i++) {
            float[] bounds = Codebook.linspace32(0.1f, 1f, (1 << i) + 1);
            float scale = (float) Math.pow(10, i - 6);
            for (int j = 0; j + 1 < bounds.length; j++) {
                float mean = (bounds[j] + bounds[j + 1]) / 2f;
                data[k++] = scale * mean;
                data[k++] = -scale * mean;
            }
        }
        data[k++] = 0f;
        data[k] = 1f;
        java.util.Arrays.sort(data);
        return data;
    }

    private static float[] midpoints(float[] sorted) {
        float[] m = new float[sorted.length - 1];
        for (int i = 0; i < m.length; i++) m[i] = (sorted[i] + sorted[i + 1]) / 2f;
        return m;
    }
}
