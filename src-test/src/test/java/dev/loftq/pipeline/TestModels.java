package dev.loftq.pipeline;

import dev.loftq.io.DType;
import dev.loftq.io.ModelSource;
import dev.loftq.io.SafetensorsWriter;
import dev.loftq.io.TensorInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Small synthetic checkpoints for pipeline tests. */
final class TestModels {
    private TestModels() {}

    /** A Llama-like model with {@code layers} layers of q/k/v/o (d×d) and up (2d×d), plus embeddings, norms and a head. */
    static Map<String, float[][]> llamaLike(int layers, int d, long seed) {
        Random r = new Random(seed);
        Map<String, float[][]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new float[][]{gauss(r, 50 * d), {50, d}});
        for (int l = 0; l < layers; l++) {
            for (String p : new String[]{"q_proj", "k_proj", "v_proj", "o_proj"}) {
                m.put("model.layers." + l + ".self_attn." + p + ".weight", new float[][]{lowRankPlusNoise(r, d, d), {d, d}});
            }
            m.put("model.layers." + l + ".mlp.up_proj.weight", new float[][]{lowRankPlusNoise(r, 2 * d, d), {2 * d, d}});
            m.put("model.layers." + l + ".input_layernorm.weight", new float[][]{gauss(r, d), {d}});
        }
        m.put("lm_head.weight", new float[][]{gauss(r, 50 * d), {50, d}});
        return m;
    }

    static float[] gauss(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian() * 0.02f;
        return x;
    }

    static float[] lowRankPlusNoise(Random r, int rows, int cols) {
        float[] w = gauss(r, rows * cols);
        float[] u = gauss(r, rows * 4), v = gauss(r, 4 * cols);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                for (int c = 0; c < 4; c++) w[i * cols + j] += u[i * 4 + c] * v[c * cols + j] * 20f / (c + 1);
        return w;
    }

    /** Writes tensors (values, shape as floats) in dtype to file. */
    static void writeSafetensors(Path file, Map<String, float[][]> tensors, DType dtype) throws IOException {
        List<TensorInfo> infos = new ArrayList<>();
        for (var e : tensors.entrySet()) infos.add(new TensorInfo(e.getKey(), dtype, shape(e.getValue()[1])));
        try (SafetensorsWriter w = new SafetensorsWriter(file, infos, Map.of("format", "pt"))) {
            for (var e : tensors.entrySet()) w.write(e.getKey(), SafetensorsWriter.encode(e.getValue()[0], dtype));
            w.commit();
        }
    }

    static long[] shape(float[] s) {
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) out[i] = (long) s[i];
        return out;
    }

    static void writeConfig(Path dir, int layers) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
                + "\"num_hidden_layers\": " + layers + ", \"torch_dtype\": \"float32\"}");
    }

    /** The embedded MiniLM converted to one safetensors file (same names, layout [out, in], F32). */
    static void writeMiniLmSafetensors(Path file) throws IOException {
        try (ModelSource src = ModelSource.embeddedDefault(); SafetensorsWriter w = new SafetensorsWriter(file, src.tensors(), Map.of("format", "pt"))) {
            for (TensorInfo t : src.tensors()) w.write(t.name(), x -> src.copyTo(t.name(), x.asChannel()));
            w.commit();
        }
    }
}
