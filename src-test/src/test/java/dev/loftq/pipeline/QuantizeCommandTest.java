package dev.loftq.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loftq.MiniLm;
import dev.loftq.cli.Main;
import dev.loftq.io.DType;
import dev.loftq.io.SafetensorsFile;
import dev.loftq.io.TensorInfo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** `loftq quantize` end to end, read back with our own reader and an independent bnb decoder. */
class QuantizeCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path defaultOut;

    @BeforeAll
    static void runDefault() {
        defaultOut = tmp.resolve("default");
        assertEquals(0, Main.run("quantize", "--out", defaultOut.toString()));
    }

    /** bnb-4bit decoding written from the format description: high nibble first, quant_map[code] · absmax. */
    static float[] decodeBnb(SafetensorsFile f, String weight) throws IOException {
        byte[] packed = f.raw(weight).toArray(ValueLayout.JAVA_BYTE);
        float[] map = f.readFloats(weight + ".quant_map");
        String stateKey = f.tensors().stream().map(TensorInfo::name).filter(n -> n.startsWith(weight + ".quant_state.bitsandbytes__")).findFirst().orElseThrow();
        JsonNode state = JSON.readTree(f.raw(stateKey).toArray(ValueLayout.JAVA_BYTE));
        int bs = state.get("blocksize").asInt();
        long rows = state.get("shape").get(0).asLong(), cols = state.get("shape").get(1).asLong();
        float[] absmax;
        if (f.info(weight + ".absmax").dtype() == DType.U8) {
            byte[] codes = f.raw(weight + ".absmax").toArray(ValueLayout.JAVA_BYTE);
            float[] nested = f.readFloats(weight + ".nested_absmax"), nmap = f.readFloats(weight + ".nested_quant_map");
            float off = (float) state.get("nested_offset").asDouble();
            absmax = new float[codes.length];
            for (int i = 0; i < codes.length; i++) absmax[i] = nmap[codes[i] & 0xFF] * nested[i / state.get("nested_blocksize").asInt()] + off;
        } else {
            absmax = f.readFloats(weight + ".absmax");
        }
        float[] out = new float[(int) (rows * cols)];
        for (int i = 0; i < out.length; i++) {
            int b = packed[i / 2] & 0xFF;
            out[i] = map[(i & 1) == 0 ? b >>> 4 : b & 15] * absmax[i / bs];
        }
        return out;
    }

    /** ‖W − Q − s·B·A‖ / ‖W‖ from the files of an output directory. */
    static Map<String, Double> errorsFromFiles(Path out, Map<String, float[]> originals) throws IOException {
        JsonNode cfg = JSON.readTree(out.resolve("adapter_config.json").toFile());
        int r = cfg.get("r").asInt();
        double s = cfg.get("lora_alpha").asDouble() / (cfg.get("use_rslora").asBoolean() ? Math.sqrt(r) : r);
        Map<String, Double> errs = new HashMap<>();
        try (SafetensorsFile ad = SafetensorsFile.open(out.resolve("adapter_model.safetensors"));
             SafetensorsFile bb = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            for (var e : originals.entrySet()) {
                String mod = e.getKey().substring(0, e.getKey().length() - ".weight".length());
                float[] a = ad.readFloats("base_model.model." + mod + ".lora_A.weight");
                float[] b = ad.readFloats("base_model.model." + mod + ".lora_B.weight");
                float[] q = bb.info(e.getKey()).dtype() == DType.U8 ? decodeBnb(bb, e.getKey()) : bb.readFloats(e.getKey());
                float[] w = e.getValue();
                int cols = a.length / r, rows = b.length / r;
                double num = 0, den = 0;
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++) {
                        double ba = 0;
                        for (int c = 0; c < r; c++) ba += (double) b[i * r + c] * a[c * cols + j];
                        double d = w[i * cols + j] - q[i * cols + j] - s * ba;
                        num += d * d;
                        den += (double) w[i * cols + j] * w[i * cols + j];
                    }
                errs.put(e.getKey(), Math.sqrt(num / den));
            }
        }
        return errs;
    }

    static Map<String, JsonNode> reportByName(Path out) throws IOException {
        Map<String, JsonNode> m = new HashMap<>();
        for (JsonNode t : JSON.readTree(out.resolve("loftq_report.json").toFile()).get("tensors")) m.put(t.get("name").asText(), t);
        return m;
    }

    static Map<String, float[]> miniLmWeights() {
        Map<String, float[]> m = new HashMap<>();
        for (MiniLm.Matrix x : MiniLm.matrices()) m.put(x.name(), x.w());
        return m;
    }

    @Test
    void defaultRunWritesAPeftAdapterAndABnbBackboneThatReproduceW() throws IOException {
        JsonNode cfg = JSON.readTree(defaultOut.resolve("adapter_config.json").toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals(16, cfg.get("r").asInt());
        assertEquals(16, cfg.get("lora_alpha").asInt());
        assertTrue(cfg.get("init_lora_weights").asBoolean());
        assertEquals(4, cfg.get("loftq_config").get("loftq_bits").asInt());
        assertEquals(5, cfg.get("loftq_config").get("loftq_iter").asInt());
        assertEquals("none", cfg.get("bias").asText());
        assertEquals("FEATURE_EXTRACTION", cfg.get("task_type").asText());
        assertEquals(defaultOut.toAbsolutePath().normalize().toString(), cfg.get("base_model_name_or_path").asText());
        List<String> modules = JSON.convertValue(cfg.get("target_modules"), List.class);
        assertEquals(List.of("query", "key", "value", "dense"), modules);

        JsonNode model = JSON.readTree(defaultOut.resolve("config.json").toFile());
        JsonNode qc = model.get("quantization_config");
        assertEquals("bitsandbytes", qc.get("quant_method").asText());
        assertTrue(qc.get("load_in_4bit").asBoolean());
        assertEquals("nf4", qc.get("bnb_4bit_quant_type").asText());
        assertEquals("bert", model.get("model_type").asText());

        try (SafetensorsFile ad = SafetensorsFile.open(defaultOut.resolve("adapter_model.safetensors"))) {
            assertEquals(72, ad.tensors().size());
            assertEquals("pt", ad.metadata().get("format"));
            TensorInfo a = ad.info("base_model.model.encoder.layer.0.intermediate.dense.lora_A.weight");
            TensorInfo b = ad.info("base_model.model.encoder.layer.0.intermediate.dense.lora_B.weight");
            assertArrayEquals(new long[]{16, 384}, a.shape());
            assertArrayEquals(new long[]{1536, 16}, b.shape());
        }
        try (SafetensorsFile bb = SafetensorsFile.open(defaultOut.resolve("model.safetensors"));
             var src = dev.loftq.io.ModelSource.embeddedDefault()) {
            String w = "encoder.layer.0.attention.self.query.weight";
            assertEquals(DType.U8, bb.info(w).dtype());
            assertArrayEquals(new long[]{384 * 384 / 2, 1}, bb.info(w).shape());
            JsonNode state = JSON.readTree(bb.raw(w + ".quant_state.bitsandbytes__nf4").toArray(ValueLayout.JAVA_BYTE));
            assertEquals("nf4", state.get("quant_type").asText());
            assertEquals(64, state.get("blocksize").asInt());
            assertEquals("float32", state.get("dtype").asText());
            // non-targets copied bit for bit
            for (TensorInfo t : src.tensors()) {
                if (Targets.isLinearWeight(t) && !t.name().contains("embeddings")) continue;
                var out = new java.io.ByteArrayOutputStream();
                src.copyTo(t.name(), java.nio.channels.Channels.newChannel(out));
                assertArrayEquals(out.toByteArray(), bb.raw(t.name()).toArray(ValueLayout.JAVA_BYTE), t.name());
            }
        }
        Map<String, Double> errs = errorsFromFiles(defaultOut, miniLmWeights());
        Map<String, JsonNode> rep = reportByName(defaultOut);
        assertEquals(36, rep.size());
        for (var e : errs.entrySet()) {
            JsonNode r = rep.get(e.getKey());
            assertEquals(r.get("error_loftq").asDouble(), e.getValue(), 2e-4 * e.getValue(), e.getKey());
            assertTrue(e.getValue() < r.get("error_qlora").asDouble(), e.getKey());
        }
        assertFalse(Files.exists(defaultOut.resolve(QuantizeJob.WORK_DIR)));
    }

    @Test
    void alphaOtherThanRankKeepsTheReconstruction() throws IOException {
        Path out = tmp.resolve("alpha");
        assertEquals(0, Main.run("quantize", "--out", out.toString(), "--alpha", "32", "--iters", "2", "--target", "query,value"));
        JsonNode cfg = JSON.readTree(out.resolve("adapter_config.json").toFile());
        assertEquals(32, cfg.get("lora_alpha").asInt());
        Map<String, float[]> w = miniLmWeights();
        w.keySet().removeIf(k -> !(k.endsWith("query.weight") || k.endsWith("value.weight")));
        Map<String, Double> errs = errorsFromFiles(out, w);
        assertEquals(12, errs.size());
        Map<String, JsonNode> rep = reportByName(out);
        for (var e : errs.entrySet()) assertEquals(rep.get(e.getKey()).get("error_loftq").asDouble(), e.getValue(), 2e-4 * e.getValue());
    }

    @Test
    void onnxAndEquivalentSafetensorsGiveTheSameBytes() throws IOException {
        Path st = tmp.resolve("minilm.safetensors");
        TestModels.writeMiniLmSafetensors(st);
        Path a = tmp.resolve("from-onnx"), b = tmp.resolve("from-st");
        assertEquals(0, Main.run("quantize", "--out", a.toString(), "--iters", "1", "--target", "key"));
        assertEquals(0, Main.run("quantize", "--model", st.toString(), "--out", b.toString(), "--iters", "1", "--target", "key"));
        assertArrayEquals(Files.readAllBytes(a.resolve("adapter_model.safetensors")), Files.readAllBytes(b.resolve("adapter_model.safetensors")));
        assertArrayEquals(Files.readAllBytes(a.resolve("model.safetensors")), Files.readAllBytes(b.resolve("model.safetensors")));
    }

    @Test
    void mixedBitsGiveFourBitsToTheFirstLayers() throws IOException {
        Path dir = tmp.resolve("llama4");
        Files.createDirectories(dir);
        Map<String, float[][]> m = TestModels.llamaLike(4, 64, 1);
        TestModels.writeSafetensors(dir.resolve("model.safetensors"), m, DType.F32);
        TestModels.writeConfig(dir, 4);
        Path out = tmp.resolve("mixed");
        assertEquals(0, Main.run("quantize", "--model", dir.toString(), "--out", out.toString(), "--bits", "2.5", "--rank", "4", "--iters", "2"));
        Map<String, JsonNode> rep = reportByName(out);
        assertEquals(20, rep.size());   // 4 layers x 5 linears; embeddings and lm_head excluded
        for (var e : rep.entrySet()) {
            int layer = Targets.layerIndex(e.getKey());
            assertEquals(layer < 1 ? "nf4" : "nf2", e.getValue().get("codebook").asText(), e.getKey());   // floor(4*0.5/2) = 1
        }
        JsonNode report = JSON.readTree(out.resolve("loftq_report.json").toFile());
        assertEquals("dequantized", report.get("settings").get("backbone").asText());
        try (SafetensorsFile bb = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(DType.F32, bb.info("model.layers.3.self_attn.q_proj.weight").dtype());
            assertArrayEquals(m.get("lm_head.weight")[0], bb.readFloats("lm_head.weight"));
        }
        Map<String, float[]> w = new HashMap<>();
        for (var e : m.entrySet()) if (rep.containsKey(e.getKey())) w.put(e.getKey(), e.getValue()[0]);
        for (var e : errorsFromFiles(out, w).entrySet()) {
            assertEquals(rep.get(e.getKey()).get("error_loftq").asDouble(), e.getValue(), 2e-4 * e.getValue() + 1e-6, e.getKey());
        }
        assertFalse(Files.readString(out.resolve("config.json")).contains("quantization_config"));
    }

    @Test
    void shardedAndBf16InputsWork() throws IOException {
        Path dir = tmp.resolve("sharded");
        Files.createDirectories(dir);
        Map<String, float[][]> m = TestModels.llamaLike(2, 64, 2);
        Map<String, float[][]> first = new java.util.LinkedHashMap<>(), second = new java.util.LinkedHashMap<>();
        StringBuilder map = new StringBuilder();
        int i = 0;
        for (var e : m.entrySet()) {
            boolean one = i++ % 2 == 0;
            (one ? first : second).put(e.getKey(), e.getValue());
            map.append(map.isEmpty() ? "" : ",").append('"').append(e.getKey()).append("\": \"model-0000").append(one ? 1 : 2).append("-of-00002.safetensors\"");
        }
        TestModels.writeSafetensors(dir.resolve("model-00001-of-00002.safetensors"), first, DType.BF16);
        TestModels.writeSafetensors(dir.resolve("model-00002-of-00002.safetensors"), second, DType.BF16);
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {" + map + "}}");
        TestModels.writeConfig(dir, 2);
        Path out = tmp.resolve("sharded-out");
        assertEquals(0, Main.run("quantize", "--model", dir.toString(), "--out", out.toString(), "--rank", "8", "--iters", "2",
                "--double-quant", "--shard-size", "40k"));
        JsonNode index = JSON.readTree(out.resolve("model.safetensors.index.json").toFile());
        assertTrue(index.get("weight_map").size() > 10);
        JsonNode cfg = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("bfloat16", cfg.get("quantization_config").get("bnb_4bit_compute_dtype").asText());
        assertTrue(cfg.get("quantization_config").get("bnb_4bit_use_double_quant").asBoolean());
        assertEquals(List.of("lm_head"), JSON.convertValue(cfg.get("quantization_config").get("llm_int8_skip_modules"), List.class));
        assertEquals("CAUSAL_LM", JSON.readTree(out.resolve("adapter_config.json").toFile()).get("task_type").asText());
        // every tensor of the index is in the shard it names
        for (Iterator<Map.Entry<String, JsonNode>> it = index.get("weight_map").fields(); it.hasNext(); ) {
            var e = it.next();
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve(e.getValue().asText()))) {
                assertNotNull(f.info(e.getKey()));
            }
        }
    }

    @Test
    void sameBytesForOneThreadAndTwo() throws IOException {
        Path a = tmp.resolve("t1"), b = tmp.resolve("t2");
        assertEquals(0, Main.run("quantize", "--out", a.toString(), "--iters", "2", "--threads", "1", "--target", "intermediate.dense"));
        assertEquals(0, Main.run("quantize", "--out", b.toString(), "--iters", "2", "--threads", "2", "--target", "intermediate.dense"));
        for (String f : new String[]{"adapter_model.safetensors", "model.safetensors"}) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
        }
    }
}
