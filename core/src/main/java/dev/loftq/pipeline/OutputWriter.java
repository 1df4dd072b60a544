package dev.loftq.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loftq.io.DType;
import dev.loftq.io.ModelSource;
import dev.loftq.io.SafetensorsWriter;
import dev.loftq.io.TensorInfo;
import dev.loftq.loftq.LoftQResult;
import dev.loftq.quant.DoubleQuantizedScales;
import dev.loftq.simd.BitPacking;
import dev.loftq.quant.QuantizedTensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Assembles a quantize output directory from the per-matrix checkpoints, streaming one tensor at a time:
 * the backbone ({@code model.safetensors}, or shards plus {@code model.safetensors.index.json}) with every
 * non-target tensor copied byte for byte, {@code config.json}, the PEFT adapter, {@code loftq_report.json}
 * and, last, {@code adapter_config.json}.
 *
 * <p>Packed backbone = transformers' bitsandbytes 4-bit serialization, per target module P:
 * {@code P.weight} U8 [⌈n/2⌉, 1] (element 2k in the high nibble, FP4 as bnb bit patterns),
 * {@code P.weight.absmax} F32 [blocks] (U8 with double quantization, plus {@code nested_absmax} F32 and
 * {@code nested_quant_map} F32 [256]), {@code P.weight.quant_map} F32 [16] and
 * {@code P.weight.quant_state.bitsandbytes__<nf4|fp4>} U8 = the quant state as UTF-8 JSON.
 * Dequantized backbone = Q decoded, in the input tensor's dtype.
 */
final class OutputWriter {
    interface Loader {
        LoftQResult load(QuantizeJob.Target t) throws IOException;
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> FINAL = List.of("adapter_config.json", "adapter_model.safetensors", "model.safetensors",
            "model.safetensors.index.json", "config.json", "loftq_report.json");

    private final QuantizeOptions o;
    private final ModelSource src;
    private final JsonNode config;
    private final List<QuantizeJob.Target> targets;
    private final QuantizeOptions.Backbone backbone;
    private final Loader loader;
    private final Map<String, QuantizeJob.Target> byName = new LinkedHashMap<>();
    /** Backbone tensor name → the target it stands for (weight, absmax, quant_map, ... of one module). */
    private final Map<String, QuantizeJob.Target> partOf = new LinkedHashMap<>();
    private QuantizeJob.Target cachedTarget;
    private LoftQResult cached;

    OutputWriter(QuantizeOptions o, ModelSource src, JsonNode config, List<QuantizeJob.Target> targets,
                 QuantizeOptions.Backbone backbone, Loader loader) {
        this.o = o;
        this.src = src;
        this.config = config;
        this.targets = targets;
        this.backbone = backbone;
        this.loader = loader;
        for (QuantizeJob.Target t : targets) byName.put(t.info().name(), t);
    }

    /** Removes the files of an earlier output so they never mix with a new, partial one. */
    static void removeFinalFiles(Path out) throws IOException {
        if (!Files.isDirectory(out)) return;
        for (String f : FINAL) Files.deleteIfExists(out.resolve(f));
        try (Stream<Path> s = Files.list(out)) {
            for (Path p : s.filter(p -> p.getFileName().toString().matches("model-\\d+-of-\\d+\\.safetensors")).toList()) Files.delete(p);
        }
    }

    static JsonNode embeddedConfig() throws IOException {
        try (InputStream in = OutputWriter.class.getResourceAsStream("/all-minilm-l6-v2-config.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    Report write(long startNanos) throws IOException {
        long bytes = writeBackbone();
        if (config != null) bytes += writeJson(o.out().resolve("config.json"), modelConfig());
        List<Report.Entry> entries = new ArrayList<>();
        double bitSum = 0, weightSum = 0;
        List<TensorInfo> adapter = new ArrayList<>();
        for (QuantizeJob.Target t : targets) {
            String m = "base_model.model." + Targets.module(t.info().name());
            adapter.add(new TensorInfo(m + ".lora_A.weight", DType.F32, new long[]{o.loftq().rank(), t.info().shape()[1]}));
            adapter.add(new TensorInfo(m + ".lora_B.weight", DType.F32, new long[]{t.info().shape()[0], o.loftq().rank()}));
        }
        Path adapterFile = o.out().resolve("adapter_model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(adapterFile, adapter, Map.of("format", "pt"))) {
            for (QuantizeJob.Target t : targets) {
                LoftQResult r = result(t);
                if (r.rank() != o.loftq().rank()) {
                    throw new IOException("tensor '" + t.info().name() + "' " + t.info().shape()[0] + "x" + t.info().shape()[1]
                            + " is smaller than --rank " + o.loftq().rank() + "; lower the rank or leave it out of --target");
                }
                String m = "base_model.model." + Targets.module(t.info().name());
                w.writeFloats(m + ".lora_A.weight", r.a());
                w.writeFloats(m + ".lora_B.weight", r.b());
                entries.add(new Report.Entry(t.info().name(), t.info().shape(), t.codebook().name(), t.codebook().bits(), r.rank(),
                        r.errors().length, r.errorQlora(), r.error(), r.seconds()));
                bitSum += r.q().bitsPerWeight() * t.info().numel();
                weightSum += t.info().numel();
            }
            w.commit();
        }
        bytes += Files.size(adapterFile);
        Path reportFile = o.out().resolve("loftq_report.json");
        Report partial = new Report(entries, (System.nanoTime() - startNanos) / 1e9, bitSum / weightSum, bytes,
                backbone.name().toLowerCase(Locale.ROOT));
        long reportBytes = writeJson(reportFile, reportJson(partial));
        long adapterConfigBytes = writeJson(o.out().resolve("adapter_config.json"), adapterConfig());
        return new Report(entries, (System.nanoTime() - startNanos) / 1e9, bitSum / weightSum,
                bytes + reportBytes + adapterConfigBytes, partial.backbone());
    }

    private LoftQResult result(QuantizeJob.Target t) throws IOException {
        if (cachedTarget != t) {
            cached = loader.load(t);
            cachedTarget = t;
        }
        return cached;
    }

    // ---- backbone ----------------------------------------------------------------------------------

    private long writeBackbone() throws IOException {
        List<List<TensorInfo>> shards = new ArrayList<>();
        List<TensorInfo> current = new ArrayList<>();
        long currentBytes = 0, total = 0;
        for (TensorInfo t : src.tensors()) {
            List<TensorInfo> group = byName.containsKey(t.name()) ? targetTensors(byName.get(t.name())) : List.of(t);
            if (byName.containsKey(t.name())) for (TensorInfo part : group) partOf.put(part.name(), byName.get(t.name()));
            long size = group.stream().mapToLong(TensorInfo::bytes).sum();
            if (!current.isEmpty() && currentBytes + size > o.shardBytes()) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.addAll(group);
            currentBytes += size;
            total += size;
        }
        shards.add(current);
        long written = 0;
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int s = 0; s < shards.size(); s++) {
            String file = shards.size() == 1 ? "model.safetensors"
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", s + 1, shards.size());
            Path path = o.out().resolve(file);
            try (SafetensorsWriter w = new SafetensorsWriter(path, shards.get(s), Map.of("format", "pt"))) {
                for (TensorInfo t : shards.get(s)) {
                    writeBackboneTensor(w, t);
                    weightMap.put(t.name(), file);
                }
                w.commit();
            }
            written += Files.size(path);
        }
        if (shards.size() > 1) {
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", total);
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            written += writeJson(o.out().resolve("model.safetensors.index.json"), index);
        }
        return written;
    }

    /** The backbone tensors that stand for one target; sizes follow from the shape and settings alone. */
    private List<TensorInfo> targetTensors(QuantizeJob.Target t) throws IOException {
        TensorInfo in = t.info();
        if (backbone == QuantizeOptions.Backbone.DEQUANTIZED) return List.of(in);
        long n = in.numel();
        int blocks = QuantizedTensor.numBlocks(n, o.loftq().blockSize());
        boolean dq = o.loftq().doubleQuant();
        String p = in.name();
        List<TensorInfo> list = new ArrayList<>();
        list.add(new TensorInfo(p, DType.U8, new long[]{BitPacking.packedBytes(n, t.codebook().bits()), 1}));
        list.add(new TensorInfo(p + ".absmax", dq ? DType.U8 : DType.F32, new long[]{blocks}));
        list.add(new TensorInfo(p + ".quant_map", DType.F32, new long[]{16}));
        if (dq) {
            list.add(new TensorInfo(p + ".nested_absmax", DType.F32, new long[]{QuantizedTensor.numBlocks(blocks, DoubleQuantizedScales.NESTED_BLOCK)}));
            list.add(new TensorInfo(p + ".nested_quant_map", DType.F32, new long[]{256}));
        }
        list.add(new TensorInfo(p + ".quant_state.bitsandbytes__" + t.codebook().name(), DType.U8,
                new long[]{quantState(t).getBytes(StandardCharsets.UTF_8).length}));
        return list;
    }

    private void writeBackboneTensor(SafetensorsWriter w, TensorInfo t) throws IOException {
        QuantizeJob.Target target = partOf.get(t.name());
        if (target == null) {
            w.write(t.name(), writer -> src.copyTo(t.name(), writer.asChannel()));
            return;
        }
        QuantizedTensor q = result(target).q();
        if (backbone == QuantizeOptions.Backbone.DEQUANTIZED) {
            w.write(t.name(), SafetensorsWriter.encode(q.dequantize(), target.info().dtype()));
            return;
        }
        DoubleQuantizedScales dq = q.doubleQuant();
        String suffix = t.name().substring(target.info().name().length());
        switch (suffix) {
            case "" -> w.writeBytes(t.name(), formatPacked(q));
            case ".absmax" -> {
                if (dq != null) w.writeBytes(t.name(), dq.codes()); else w.writeFloats(t.name(), q.scales());
            }
            case ".quant_map" -> w.writeFloats(t.name(), q.codebook().formatTable());
            case ".nested_absmax" -> w.writeFloats(t.name(), dq.nestedAbsmax());
            case ".nested_quant_map" -> w.writeFloats(t.name(), DoubleQuantizedScales.map());
            default -> w.writeString(t.name(), quantState(target));
        }
    }

    /** Packed codes in the format's numbering (FP4: bnb bit patterns; NF4 unchanged). */
    private static byte[] formatPacked(QuantizedTensor q) {
        if (q.codebook().formatIsIdentity()) return q.packed();
        byte[] out = q.packed().clone();
        for (int i = 0; i < out.length; i++) {
            int hi = q.codebook().formatCode((out[i] >> 4) & 15), lo = q.codebook().formatCode(out[i] & 15);
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }

    /** bitsandbytes' quant state JSON; with double quantization the offset comes from the checkpoint's header. */
    private String quantState(QuantizeJob.Target t) throws IOException {
        ObjectNode s = JSON.createObjectNode();
        s.put("quant_type", t.codebook().name());
        s.put("blocksize", o.loftq().blockSize());
        s.put("dtype", torchDtype(t.info().dtype()));
        s.putArray("shape").add(t.info().shape()[0]).add(t.info().shape()[1]);
        if (o.loftq().doubleQuant()) {
            s.put("nested_blocksize", DoubleQuantizedScales.NESTED_BLOCK);
            s.put("nested_dtype", "float32");
            s.put("nested_offset", MatrixCheckpoint.doubleQuantOffset(t.checkpoint()));
        }
        return new ObjectMapper().writeValueAsString(s);
    }

    static String torchDtype(DType d) {
        return switch (d) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F64 -> "float64";
            default -> "float32";
        };
    }

    // ---- JSON files --------------------------------------------------------------------------------

    private JsonNode modelConfig() {
        ObjectNode c = config.deepCopy();
        if (backbone == QuantizeOptions.Backbone.PACKED) {
            String book = targets.get(0).codebook().name();
            ObjectNode q = c.putObject("quantization_config");
            q.put("quant_method", "bitsandbytes");
            q.put("load_in_4bit", true);
            q.put("load_in_8bit", false);
            q.put("bnb_4bit_quant_type", book);
            q.put("bnb_4bit_use_double_quant", o.loftq().doubleQuant());
            q.put("bnb_4bit_compute_dtype", torchDtype(targets.get(0).info().dtype()));
            q.put("bnb_4bit_quant_storage", "uint8");
            ArrayNode skip = q.putArray("llm_int8_skip_modules");
            for (TensorInfo t : src.tensors()) {
                // Linear layers left in full precision (the output head, untargeted ones); embeddings are not Linear.
                if (Targets.isLinearWeight(t) && !byName.containsKey(t.name()) && !Targets.module(t.name()).contains("embed")) {
                    skip.add(Targets.module(t.name()));
                }
            }
        }
        return c;
    }

    private JsonNode adapterConfig() {
        ObjectNode a = JSON.createObjectNode();
        a.put("peft_type", "LORA");
        String task = taskType();
        if (task == null) a.putNull("task_type"); else a.put("task_type", task);
        a.put("base_model_name_or_path", o.out().toAbsolutePath().normalize().toString());
        a.put("r", o.loftq().rank());
        float alpha = o.loftq().alpha();
        if (alpha == Math.rint(alpha)) a.put("lora_alpha", (int) alpha); else a.put("lora_alpha", alpha);
        Object modules = Targets.targetModules(targets.stream().map(QuantizeJob.Target::info).toList(), src.tensors());
        if (modules instanceof String s) a.put("target_modules", s);
        else a.set("target_modules", JSON.valueToTree(modules));
        a.put("lora_dropout", 0.0);
        a.put("bias", "none");
        a.put("fan_in_fan_out", false);
        a.put("use_rslora", o.loftq().rslora());
        a.put("use_dora", false);
        a.put("init_lora_weights", true);
        ObjectNode l = a.putObject("loftq_config");
        if (o.bits() == Math.rint(o.bits())) l.put("loftq_bits", (int) o.bits()); else l.put("loftq_bits", o.bits());
        l.put("loftq_iter", o.loftq().iters());
        a.put("inference_mode", false);
        a.putObject("rank_pattern");
        a.putObject("alpha_pattern");
        a.putNull("modules_to_save");
        a.putNull("layers_to_transform");
        a.putNull("revision");
        return a;
    }

    private String taskType() {
        if (config == null) return null;
        String arch = config.path("architectures").path(0).asText("");
        if (arch.endsWith("ForCausalLM")) return "CAUSAL_LM";
        if (arch.endsWith("ForConditionalGeneration") || arch.endsWith("ForSeq2SeqLM")) return "SEQ_2_SEQ_LM";
        if (arch.endsWith("ForSequenceClassification")) return "SEQ_CLS";
        if (arch.endsWith("ForTokenClassification")) return "TOKEN_CLS";
        if (arch.endsWith("Model")) return "FEATURE_EXTRACTION";
        return null;
    }

    private JsonNode reportJson(Report r) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode s = root.putObject("settings");
        s.put("model", o.model() == null ? "embedded all-MiniLM-L6-v2" : o.model().toString());
        s.put("bits", o.bits());
        s.put("quant", o.quant());
        s.put("rank", o.loftq().rank());
        s.put("iters", o.loftq().iters());
        s.put("lora_alpha", o.loftq().alpha());
        s.put("scaling", o.loftq().scaling());
        s.put("use_rslora", o.loftq().rslora());
        s.put("block_size", o.loftq().blockSize());
        s.put("double_quant", o.loftq().doubleQuant());
        s.put("svd", o.loftq().svd().name().toLowerCase(Locale.ROOT));
        s.put("oversample", o.loftq().oversample());
        s.put("power_iters", o.loftq().powerIters());
        s.put("warm_start", o.loftq().warmStart());
        s.put("target", o.target());
        s.put("backbone", r.backbone());
        s.put("seed", o.loftq().seed());
        ArrayNode ts = root.putArray("tensors");
        for (Report.Entry e : r.tensors()) {
            ObjectNode t = ts.addObject();
            t.put("name", e.name());
            t.putArray("shape").add(e.shape()[0]).add(e.shape()[1]);
            t.put("codebook", e.codebook());
            t.put("bits", e.bits());
            t.put("rank", e.rank());
            t.put("iters", e.iters());
            t.put("error_qlora", e.errorQlora());
            t.put("error_loftq", e.errorLoftq());
            t.put("seconds", e.seconds());
        }
        ObjectNode tot = root.putObject("totals");
        tot.put("matrices", r.tensors().size());
        tot.put("mean_error_qlora", r.meanErrorQlora());
        tot.put("mean_error_loftq", r.meanErrorLoftq());
        tot.put("bits_per_weight", r.bitsPerWeight());
        tot.put("seconds", r.seconds());
        tot.put("bytes_written_before_report", r.bytesWritten());
        return root;
    }

    /** Writes JSON under a temporary name, then renames it into place; returns its size. */
    private static long writeJson(Path file, JsonNode node) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            JSON.writeValue(tmp.toFile(), node);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return Files.size(file);
    }
}
