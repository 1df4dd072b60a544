package dev.loftq.infer;

import dev.loftq.MiniLm;
import dev.loftq.cli.Main;
import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.Codebook;
import dev.loftq.simd.Gemm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LoraModelTest {
    @TempDir
    Path tmp;

    /** Output error of a layer (with or without its adapter) on random inputs, against x·Wᵀ. */
    static double outputError(QuantizedLinear layer, float[] w, int batch) {
        int in = layer.inFeatures(), out = layer.outFeatures();
        Random r = new Random(1);
        float[] x = new float[batch * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] ref = new float[batch * out], y = new float[batch * out];
        Gemm.multTransB(x, batch, in, w, out, ref);
        layer.forward(x, batch, y);
        return Math.sqrt(Gemm.sumSquaredDiff(ref, y, ref.length) / Gemm.sumSquares(ref, ref.length));
    }

    @Test
    void loadsAPackedOutputAndBeatsTheQloraStart() {
        Path out = tmp.resolve("nf4");
        assertEquals(0, Main.run("quantize", "--out", out.toString(), "--iters", "2", "--alpha", "8", "--double-quant"));
        Map<String, LoraLinear> layers = assertDoesNotThrow(() -> LoraModel.load(out));
        assertEquals(36, layers.size());
        for (MiniLm.Matrix m : MiniLm.matrices()) {
            LoraLinear layer = layers.get(m.name().replace(".weight", ""));
            assertTrue(layer.fused());
            assertEquals(0.5f, layer.scaling());
            for (int batch : new int[]{1, 4}) {
                double loftq = outputError(layer, m.w(), batch);
                var q0 = new QuantizedLinear(BlockQuantizer.quantize(m.w(), m.rows(), m.cols(), Codebook.normalFloat(4), 64));
                double qlora = outputError(q0, m.w(), batch);
                assertTrue(loftq < qlora, m.name() + ": " + loftq + " vs QLoRA " + qlora);
            }
        }
    }

    @Test
    void loadsADequantizedNf2OutputAndTheEvalCommandRuns() {
        Path out = tmp.resolve("nf2");
        assertEquals(0, Main.run("quantize", "--out", out.toString(), "--bits", "2", "--iters", "2", "--target", "query"));
        Map<String, LoraLinear> layers = assertDoesNotThrow(() -> LoraModel.load(out));
        assertEquals(6, layers.size());
        LoraLinear q = layers.get("encoder.layer.0.attention.self.query");
        assertEquals("nf2", q.codebook().name());
        assertTrue(q.fused());
        assertEquals(0, Main.run("eval", "--out", out.toString(), "--batch", "3"));
    }
}
