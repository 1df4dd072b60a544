package dev.loftq.io;

import java.util.Locale;

/** Tensor element types with their safetensors names and sizes in bytes. */
public enum DType {
    BOOL(1), U8(1), I8(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4), F64(8), I64(8), U64(8),
    F8_E5M2(1), F8_E4M3(1);

    public final int size;

    DType(int size) {
        this.size = size;
    }

    /** Parses a safetensors dtype name; unknown (e.g. newer) names are a clear error. */
    public static DType parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unsupported dtype '" + name + "'");
        }
    }

    /** Whether weights of this type can be read as fp32 for quantization. */
    public boolean isFloat() {
        return this == F16 || this == BF16 || this == F32 || this == F64;
    }

    /** IEEE half → float. */
    public static float halfToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** bfloat16 → float (exact). */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** float → bfloat16, round to nearest even (NaN stays NaN). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
