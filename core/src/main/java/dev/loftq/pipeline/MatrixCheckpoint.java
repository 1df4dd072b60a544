package dev.loftq.pipeline;

import dev.loftq.io.DType;
import dev.loftq.io.SafetensorsFile;
import dev.loftq.io.SafetensorsWriter;
import dev.loftq.io.TensorInfo;
import dev.loftq.loftq.LoftQResult;
import dev.loftq.quant.Codebook;
import dev.loftq.quant.DoubleQuantizedScales;
import dev.loftq.quant.QuantizedTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One finished matrix on disk (a small safetensors file written atomically), so an interrupted run
 * can resume and the final files can be assembled in order without holding the model in memory.
 * Tensors: lora_A F32 [r, in], lora_B F32 [out, r], codes U8, scales F32 (decoded), and with double
 * quantization dq_codes U8 and dq_nested F32; metadata: settings key, code book, errors, seconds.
 */
final class MatrixCheckpoint {
    private MatrixCheckpoint() {}

    static void write(Path file, String name, String settingsKey, LoftQResult r) throws IOException {
        QuantizedTensor q = r.q();
        DoubleQuantizedScales dq = q.doubleQuant();
        List<TensorInfo> ts = new ArrayList<>(List.of(
                new TensorInfo("lora_A", DType.F32, new long[]{r.rank(), q.cols()}),
                new TensorInfo("lora_B", DType.F32, new long[]{q.rows(), r.rank()}),
                new TensorInfo("codes", DType.U8, new long[]{q.packed().length}),
                new TensorInfo("scales", DType.F32, new long[]{q.scales().length})));
        if (dq != null) {
            ts.add(new TensorInfo("dq_codes", DType.U8, new long[]{dq.codes().length}));
            ts.add(new TensorInfo("dq_nested", DType.F32, new long[]{dq.nestedAbsmax().length}));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("name", name);
        meta.put("settings", settingsKey);
        meta.put("codebook", q.codebook().name());
        meta.put("block_size", Integer.toString(q.blockSize()));
        meta.put("shape", q.rows() + "x" + q.cols());
        meta.put("scaling", Float.toString(r.scaling()));
        meta.put("error_qlora", Double.toString(r.errorQlora()));
        meta.put("errors", Arrays.toString(r.errors()));
        meta.put("seconds", Double.toString(r.seconds()));
        if (dq != null) meta.put("dq_offset", Float.toString(dq.offset()));
        try (SafetensorsWriter w = new SafetensorsWriter(file, ts, meta)) {
            w.writeFloats("lora_A", r.a());
            w.writeFloats("lora_B", r.b());
            w.writeBytes("codes", q.packed());
            w.writeFloats("scales", q.scales());
            if (dq != null) {
                w.writeBytes("dq_codes", dq.codes());
                w.writeFloats("dq_nested", dq.nestedAbsmax());
            }
            w.commit();
        }
    }

    /** The checkpoint's result if it exists, is intact and was made with the same settings; else null. */
    static LoftQResult read(Path file, String settingsKey) {
        if (!Files.isRegularFile(file)) return null;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> m = f.metadata();
            if (!settingsKey.equals(m.get("settings"))) return null;
            String[] shape = m.get("shape").split("x");
            int rows = Integer.parseInt(shape[0]), cols = Integer.parseInt(shape[1]);
            Codebook cb = Codebook.parse(m.get("codebook"));
            byte[] codes = bytes(f, "codes");
            float[] scales = f.readFloats("scales");
            DoubleQuantizedScales dq = m.containsKey("dq_offset")
                    ? new DoubleQuantizedScales(Float.parseFloat(m.get("dq_offset")), bytes(f, "dq_codes"), f.readFloats("dq_nested"))
                    : null;
            QuantizedTensor q = QuantizedTensor.of(cb, rows, cols, Integer.parseInt(m.get("block_size")), codes, scales, dq);
            float[] a = f.readFloats("lora_A"), b = f.readFloats("lora_B");
            String[] errs = m.get("errors").replaceAll("[\\[\\] ]", "").split(",");
            double[] errors = Arrays.stream(errs).mapToDouble(Double::parseDouble).toArray();
            int rank = (int) f.info("lora_A").shape()[0];
            return new LoftQResult(q, a, b, rank, Float.parseFloat(m.get("scaling")),
                    Double.parseDouble(m.get("error_qlora")), errors, Double.parseDouble(m.get("seconds")));
        } catch (IOException | RuntimeException e) {
            return null;   // damaged or foreign: recompute
        }
    }

    /** The double-quantization offset, read from the header alone. */
    static float doubleQuantOffset(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String v = f.metadata().get("dq_offset");
            if (v == null) throw new IOException(file + ": checkpoint has no double-quantization offset");
            return Float.parseFloat(v);
        }
    }

    private static byte[] bytes(SafetensorsFile f, String name) throws IOException {
        return f.raw(name).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
}
