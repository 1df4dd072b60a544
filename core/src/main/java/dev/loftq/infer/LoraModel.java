package dev.loftq.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loftq.io.DType;
import dev.loftq.io.ModelSource;
import dev.loftq.io.SafetensorsFile;
import dev.loftq.io.TensorInfo;
import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.Codebook;
import dev.loftq.quant.DoubleQuantizedScales;
import dev.loftq.quant.QuantizedTensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The adapted layers of a {@code loftq quantize} output directory, by module name: the PEFT adapter plus
 * the backbone, either bitsandbytes-4bit packed (NF4/FP4, optional double quantization) or dequantized
 * (re-encoded with the code book and block size recorded in loftq_report.json, which reproduces the codes
 * exactly for absmax code books).
 */
public final class LoraModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LoraModel() {}

    public static Map<String, LoraLinear> load(Path dir) throws IOException {
        Path cfgFile = dir.resolve("adapter_config.json");
        if (!Files.isRegularFile(cfgFile)) throw new IOException(dir + ": no adapter_config.json (not a complete loftq output)");
        JsonNode cfg = JSON.readTree(cfgFile.toFile());
        int r = cfg.path("r").asInt();
        double alpha = cfg.path("lora_alpha").asDouble(r);
        float s = (float) (cfg.path("use_rslora").asBoolean(false) ? alpha / Math.sqrt(r) : alpha / r);
        Map<String, JsonNode> report = new HashMap<>();
        int reportBlock = 64;
        Path reportFile = dir.resolve("loftq_report.json");
        if (Files.isRegularFile(reportFile)) {
            JsonNode rep = JSON.readTree(reportFile.toFile());
            reportBlock = rep.path("settings").path("block_size").asInt(64);
            for (JsonNode t : rep.path("tensors")) report.put(t.path("name").asText(), t);
        }
        Map<String, LoraLinear> layers = new LinkedHashMap<>();
        try (SafetensorsFile adapter = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"));
             ModelSource backbone = ModelSource.open(dir)) {
            Map<String, TensorInfo> bb = new HashMap<>();
            for (TensorInfo t : backbone.tensors()) bb.put(t.name(), t);
            for (TensorInfo t : adapter.tensors()) {
                if (!t.name().endsWith(".lora_A.weight")) continue;
                String module = t.name().substring("base_model.model.".length(), t.name().length() - ".lora_A.weight".length());
                String weight = module + ".weight";
                float[] a = adapter.readFloats(t.name());
                float[] b = adapter.readFloats("base_model.model." + module + ".lora_B.weight");
                QuantizedTensor q;
                if (bb.containsKey(weight + ".quant_map")) {
                    q = readBnb(backbone, bb, weight);
                } else {
                    TensorInfo info = bb.get(weight);
                    if (info == null) throw new IOException(dir + ": backbone has no tensor '" + weight + "'");
                    JsonNode rep = report.get(weight);
                    if (rep == null) throw new IOException(dir + ": loftq_report.json does not describe '" + weight + "'");
                    q = BlockQuantizer.quantize(backbone.readFloats(weight), (int) info.shape()[0], (int) info.shape()[1],
                            Codebook.parse(rep.path("codebook").asText()), reportBlock);
                }
                layers.put(module, new LoraLinear(q, a, b, r, s));
            }
        }
        return layers;
    }

    private static QuantizedTensor readBnb(ModelSource src, Map<String, TensorInfo> bb, String weight) throws IOException {
        String stateKey = bb.keySet().stream().filter(k -> k.startsWith(weight + ".quant_state.bitsandbytes__")).findFirst()
                .orElseThrow(() -> new IOException("'" + weight + "' has a quant_map but no quant_state"));
        JsonNode state = JSON.readTree(bytes(src, stateKey));
        Codebook cb = Codebook.parse(state.path("quant_type").asText());
        int bs = state.path("blocksize").asInt();
        int rows = state.path("shape").path(0).asInt(), cols = state.path("shape").path(1).asInt();
        float[] map = src.readFloats(weight + ".quant_map"), expected = cb.formatTable();
        for (int c = 0; c < expected.length; c++) {
            if (map.length != expected.length || Math.abs(map[c] - expected[c]) > 1e-6f) {
                throw new IOException("'" + weight + "': quant_map is not bitsandbytes' " + cb.name() + " table");
            }
        }
        if (state.has("nested_blocksize") && state.path("nested_blocksize").asInt() != DoubleQuantizedScales.NESTED_BLOCK) {
            throw new IOException("'" + weight + "': nested block size " + state.path("nested_blocksize") + " is not supported (256 is)");
        }
        byte[] packed = bytes(src, weight);
        if (!cb.formatIsIdentity()) {
            int[] toCode = new int[16];
            for (int c = 0; c < 16; c++) toCode[cb.formatCode(c)] = c;
            for (int i = 0; i < packed.length; i++) packed[i] = (byte) (toCode[(packed[i] >> 4) & 15] << 4 | toCode[packed[i] & 15]);
        }
        float[] scales;
        DoubleQuantizedScales dq = null;
        if (bb.get(weight + ".absmax").dtype() == DType.U8) {
            dq = new DoubleQuantizedScales((float) state.path("nested_offset").asDouble(), bytes(src, weight + ".absmax"),
                    src.readFloats(weight + ".nested_absmax"));
            scales = dq.dequantize();
        } else {
            scales = src.readFloats(weight + ".absmax");
        }
        return QuantizedTensor.of(cb, rows, cols, bs, packed, scales, dq);
    }

    private static byte[] bytes(ModelSource src, String name) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        src.copyTo(name, Channels.newChannel(out));
        return out.toByteArray();
    }
}
