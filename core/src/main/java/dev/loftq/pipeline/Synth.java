package dev.loftq.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loftq.io.DType;
import dev.loftq.io.SafetensorsWriter;
import dev.loftq.io.TensorInfo;
import dev.loftq.simd.Gemm;
import dev.loftq.simd.Parallel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Llama-shaped synthetic checkpoints for benchmarks and scale tests: config.json, sharded safetensors
 * and model.safetensors.index.json. Linear weights are a decaying rank-32 part (singular values ∝ 0.85^c)
 * plus heavy-tailed noise (a Gaussian times a per-value scale from a two-level mixture, so a few values
 * are 4× larger, as outliers are in trained weights); embeddings are N(0, 0.02²), norms near 1.
 * Deterministic in the seed; each tensor is generated in parallel row chunks and written before the next.
 */
public final class Synth {
    private Synth() {}

    /** hidden, intermediate, layers, vocab, kv hidden (grouped-query attention). */
    public record Shape(String name, int hidden, int intermediate, int layers, int vocab, int kvHidden) {
        public static Shape parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "llama-7b" -> new Shape("llama-7b", 4096, 11008, 32, 32000, 4096);
                case "llama-1b" -> new Shape("llama-1b", 2048, 5632, 22, 32000, 256);
                case "tiny" -> new Shape("tiny", 256, 688, 4, 1000, 256);
                default -> throw new IllegalArgumentException("--shape must be llama-7b, llama-1b or tiny, got '" + s + "'");
            };
        }
    }

    public static List<TensorInfo> tensors(Shape s, DType dtype) {
        List<TensorInfo> t = new ArrayList<>();
        t.add(new TensorInfo("model.embed_tokens.weight", dtype, new long[]{s.vocab(), s.hidden()}));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            t.add(new TensorInfo(p + "self_attn.q_proj.weight", dtype, new long[]{s.hidden(), s.hidden()}));
            t.add(new TensorInfo(p + "self_attn.k_proj.weight", dtype, new long[]{s.kvHidden(), s.hidden()}));
            t.add(new TensorInfo(p + "self_attn.v_proj.weight", dtype, new long[]{s.kvHidden(), s.hidden()}));
            t.add(new TensorInfo(p + "self_attn.o_proj.weight", dtype, new long[]{s.hidden(), s.hidden()}));
            t.add(new TensorInfo(p + "mlp.gate_proj.weight", dtype, new long[]{s.intermediate(), s.hidden()}));
            t.add(new TensorInfo(p + "mlp.up_proj.weight", dtype, new long[]{s.intermediate(), s.hidden()}));
            t.add(new TensorInfo(p + "mlp.down_proj.weight", dtype, new long[]{s.hidden(), s.intermediate()}));
            t.add(new TensorInfo(p + "input_layernorm.weight", dtype, new long[]{s.hidden()}));
            t.add(new TensorInfo(p + "post_attention_layernorm.weight", dtype, new long[]{s.hidden()}));
        }
        t.add(new TensorInfo("model.norm.weight", dtype, new long[]{s.hidden()}));
        t.add(new TensorInfo("lm_head.weight", dtype, new long[]{s.vocab(), s.hidden()}));
        return t;
    }

    /** Writes the checkpoint; returns the bytes written. */
    public static long write(Shape s, Path out, DType dtype, long seed, long shardBytes) throws IOException {
        if (dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.F32) throw new IllegalArgumentException("--dtype must be bf16, f16 or f32");
        Files.createDirectories(out);
        List<TensorInfo> all = tensors(s, dtype);
        List<List<TensorInfo>> shards = new ArrayList<>();
        List<TensorInfo> cur = new ArrayList<>();
        long curBytes = 0, total = 0;
        for (TensorInfo t : all) {
            if (!cur.isEmpty() && curBytes + t.bytes() > shardBytes) {
                shards.add(cur);
                cur = new ArrayList<>();
                curBytes = 0;
            }
            cur.add(t);
            curBytes += t.bytes();
            total += t.bytes();
        }
        shards.add(cur);
        Map<String, String> weightMap = new LinkedHashMap<>();
        long written = 0;
        for (int i = 0; i < shards.size(); i++) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            try (SafetensorsWriter w = new SafetensorsWriter(out.resolve(file), shards.get(i), Map.of("format", "pt"))) {
                for (TensorInfo t : shards.get(i)) {
                    w.write(t.name(), SafetensorsWriter.encode(generate(t, seed + 7919L * all.indexOf(t)), dtype));
                    weightMap.put(t.name(), file);
                }
                w.commit();
            }
            written += Files.size(out.resolve(file));
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        json.writeValue(out.resolve("model.safetensors.index.json").toFile(), index);
        ObjectNode cfg = json.createObjectNode();
        cfg.putArray("architectures").add("LlamaForCausalLM");
        cfg.put("model_type", "llama");
        cfg.put("hidden_size", s.hidden());
        cfg.put("intermediate_size", s.intermediate());
        cfg.put("num_hidden_layers", s.layers());
        cfg.put("num_attention_heads", s.hidden() / 128 > 0 ? s.hidden() / 128 : 1);
        cfg.put("num_key_value_heads", Math.max(1, s.kvHidden() / 128));
        cfg.put("vocab_size", s.vocab());
        cfg.put("max_position_embeddings", 4096);
        cfg.put("rms_norm_eps", 1e-5);
        cfg.put("hidden_act", "silu");
        cfg.put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : dtype == DType.F16 ? "float16" : "float32");
        cfg.put("_synthetic", "loftq synth --shape " + s.name() + " --seed " + seed);
        json.writeValue(out.resolve("config.json").toFile(), cfg);
        return written;
    }

    static float[] generate(TensorInfo t, long seed) {
        int n = Math.toIntExact(t.numel());
        float[] w = new float[n];
        if (t.shape().length == 1) {
            java.util.Arrays.fill(w, 1f);
            rows(w, 1, n, seed, 0.02f);
            return w;
        }
        int rows = (int) t.shape()[0], cols = (int) t.shape()[1];
        rows(w, rows, cols, seed, 0.02f);
        if (t.name().contains("embed") || t.name().startsWith("lm_head")) return w;
        int k = 32;
        float[] u = new float[rows * k], v = new float[k * cols];
        rows(u, rows, k, seed ^ 0x5DEECE66DL, 1f);
        rows(v, k, cols, seed ^ 0xBB67AE85L, 1f);
        // Column scale 0.85^c on U puts the decay into the singular values; sign flip makes subtract an add.
        float amp = (float) (-0.6 / Math.sqrt(Math.max(rows, cols)));
        for (int i = 0; i < rows; i++) for (int c = 0; c < k; c++) u[i * k + c] *= amp * (float) Math.pow(0.85, c);
        Gemm.subtractLowRank(w, u, v, rows, k, cols, w);
        return w;
    }

    /** Adds heavy-tailed noise, row chunks in parallel, each chunk with its own generator. */
    private static void rows(float[] w, int rows, int cols, long seed, float sigma) {
        Parallel.forChunks(rows, Math.max(1, (1 << 16) / Math.max(1, cols)), (r0, r1) -> {
            long state = seed * 0x9E3779B97F4A7C15L + r0 * 0xBF58476D1CE4E5B9L + 1;
            for (int i = r0 * cols; i < r1 * cols; i++) {
                // xorshift64* → two uniforms → Box–Muller; 3 % of values get a 4× scale (outliers)
                state ^= state >>> 12; state ^= state << 25; state ^= state >>> 27;
                long bits = state * 0x2545F4914F6CDD1DL;
                double u1 = ((bits >>> 40) + 1) / (double) (1L << 24), u2 = ((bits >>> 16) & 0xFFFFFF) / (double) (1L << 24);
                double g = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
                double scale = (bits & 0xFF) < 8 ? 4 : 1;
                w[i] += (float) (g * scale * sigma);
            }
        });
    }
}
