package dev.loftq.quant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class CodebookTest {
    /** bitsandbytes get_4bit_type("nf4"), as published. */
    static final float[] BNB_NF4 = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f,
            0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f,
            0.5626170039176941f, 0.7229568362236023f, 1.0f};

    @Test
    void nf4FromTheFormulaMatchesBitsandbytesToOneUlp() {
        float[] v = Codebook.normalFloat(4).values();
        assertEquals(16, v.length);
        for (int i = 0; i < 16; i++) {
            assertTrue(Math.abs(v[i] - BNB_NF4[i]) <= Math.ulp(BNB_NF4[i]),
                    "code " + i + ": " + v[i] + " vs bnb " + BNB_NF4[i]);
        }
    }

    @Test
    void nf2AndNf3FollowTheSameFormula() {
        float[] nf2 = Codebook.normalFloat(2).values();
        assertArrayEquals(new float[]{-1f, 0f, 0.33791524171829224f, 1f}, nf2, 1e-7f);
        float[] nf3 = Codebook.normalFloat(3).values();
        assertEquals(8, nf3.length);
        assertEquals(-1f, nf3[0]);
        assertEquals(1f, nf3[7]);
        assertEquals(0f, nf3[3]);     // three negatives, zero, four positives
        for (int i = 1; i < 8; i++) assertTrue(nf3[i] > nf3[i - 1]);
    }

    @Test
    void normalQuantileIsAccurate() {
        assertEquals(0, NormalQuantiles.quantile(0.5), 1e-15);
        assertEquals(1.959963984540054, NormalQuantiles.quantile(0.975), 1e-13);
        assertEquals(-2.326347874040841, NormalQuantiles.quantile(0.01), 1e-13);
    }

    @Test
    void fp4KeepsBitsandbytesBitPatterns() {
        Codebook fp4 = Codebook.fp4();
        float[] byPattern = fp4.formatTable();
        assertEquals(1f, byPattern[3]);
        assertEquals(8f / 12f, byPattern[2], 1e-7f);
        assertEquals(-0.25f, byPattern[15], 1e-7f);
        assertEquals(0.0625f / 12f, byPattern[1], 1e-9f);
        float[] asc = fp4.values();
        for (int i = 1; i < 16; i++) assertTrue(asc[i] >= asc[i - 1]);
        assertFalse(fp4.formatIsIdentity());
    }

    @Test
    void uniformIsLinspace() {
        float[] int4 = Codebook.uniform(4).values();
        assertEquals(-1f, int4[0]);
        assertEquals(1f, int4[15]);
        assertEquals(2f / 15, int4[8] - int4[7], 1e-6f);
        assertEquals(Codebook.ScaleRule.MEAN_STD, Codebook.uniform(2).scaleRule());
    }

    @Test
    void parseNamesEveryBookAndRejectsOthers() {
        assertEquals("nf4", Codebook.parse("NF4").name());
        assertEquals("int8", Codebook.parse("uniform8").name());
        assertEquals("fp4", Codebook.parse("fp4").name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Codebook.parse("nf"));
        assertTrue(e.getMessage().contains("nf"));
        assertThrows(IllegalArgumentException.class, () -> Codebook.parse("nf9"));
    }

    @Test
    void dynamicMapHas256AscendingEntriesFromMinusOneToOne() {
        float[] map = DoubleQuantizedScales.map();
        assertEquals(256, map.length);
        assertEquals(1f, map[255]);
        assertTrue(map[0] < -0.99f);
        for (int i = 1; i < 256; i++) assertTrue(map[i] > map[i - 1], "strictly ascending at " + i);
    }
}
