package dev.loftq.reliability;

import dev.loftq.io.DType;
import dev.loftq.io.ModelSource;
import dev.loftq.io.SafetensorsWriter;
import dev.loftq.io.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Mutates valid safetensors files, shard indexes and ONNX models (truncation, bit flips, lying header
 * lengths, overlapping and out-of-range offsets, dtype/shape lies, huge dimensions, duplicate names,
 * invalid UTF-8, deep JSON) and opens and reads each one as quantize would. Every case must either
 * work or fail with an IOException / IllegalArgumentException carrying a message — no other exception,
 * no hang — and allocate no more than a small multiple of the file size.
 */
class HostileInputTest {
    @TempDir
    Path tmp;

    static final com.sun.management.ThreadMXBean THREADS = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    int failures, successes;

    void check(Path file, String label) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        try (ModelSource src = ModelSource.open(file)) {
            for (TensorInfo t : src.tensors()) if (t.dtype().isFloat()) src.readFloats(t.name());
            successes++;
        } catch (IOException | IllegalArgumentException e) {
            assertNotNull(e.getMessage(), label + ": error without a message");
            assertFalse(e.getMessage().isBlank(), label);
            failures++;
        } catch (Throwable t) {
            fail(label + ": unexpected " + t, t);
        }
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        long size = Files.exists(file) && !Files.isDirectory(file) ? sizeOf(file) : 1 << 20;
        assertTrue(allocated < 16 * size + (8 << 20), label + ": allocated " + allocated + " bytes for a " + size + "-byte input");
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, label + ": took over 5 s");
    }

    static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    byte[] validSafetensors() throws IOException {
        Path p = tmp.resolve("valid.safetensors");
        List<TensorInfo> ts = List.of(new TensorInfo("a.weight", DType.F32, new long[]{8, 16}),
                new TensorInfo("b.weight", DType.BF16, new long[]{16, 8}), new TensorInfo("n", DType.I64, new long[]{3}));
        try (SafetensorsWriter w = new SafetensorsWriter(p, ts, Map.of("format", "pt"))) {
            w.writeFloats("a.weight", new float[128]);
            w.write("b.weight", SafetensorsWriter.encode(new float[128], DType.BF16));
            w.writeBytes("n", new byte[24]);
            w.commit();
        }
        return Files.readAllBytes(p);
    }

    @Test
    void aThousandMutatedFilesAllEndCleanly() throws IOException {
        Random rnd = new Random(42);
        byte[] st = validSafetensors();
        byte[] onnx = OnnxFixtures.matmulModel(2, 16, 8, 1);
        int n = 0;
        for (int i = 0; i < 450; i++, n++) {
            Path f = tmp.resolve("m" + i + ".safetensors");
            Files.write(f, mutate(st, rnd, true));
            check(f, "safetensors case " + i);
        }
        for (int i = 0; i < 450; i++, n++) {
            Path f = tmp.resolve("m" + i + ".onnx");
            Files.write(f, mutate(onnx, rnd, false));
            check(f, "onnx case " + i);
        }
        for (int i = 0; i < 120; i++, n++) {
            Path dir = tmp.resolve("idx" + i);
            Files.createDirectories(dir);
            Files.write(dir.resolve("model-00001-of-00001.safetensors"), st);
            Files.writeString(dir.resolve("model.safetensors.index.json"), mutateIndex(rnd, i));
            check(dir, "index case " + i);
        }
        assertTrue(n >= 1000);
        assertTrue(failures > 600, "most mutations must be caught: " + failures + " errors, " + successes + " opened");
    }

    /** One random corruption of a valid file. */
    static byte[] mutate(byte[] valid, Random r, boolean safetensors) {
        byte[] b = valid.clone();
        int kind = r.nextInt(safetensors ? 9 : 4);
        switch (kind) {
            case 0 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));               // truncation
            case 1 -> { for (int k = 1 + r.nextInt(8); k > 0; k--) b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8)); }
            case 2 -> { int at = r.nextInt(Math.min(b.length, 64)); b[at] = (byte) r.nextInt(256); }   // header region byte
            case 3 -> { byte[] junk = new byte[r.nextInt(64)]; r.nextBytes(junk); b = concat(b, junk); }  // trailing junk
            default -> b = safetensorsHeaderLie(valid, r, kind);
        }
        return b;
    }

    static byte[] safetensorsHeaderLie(byte[] valid, Random r, int kind) {
        long n = java.nio.ByteBuffer.wrap(valid, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(valid, 8, (int) n, StandardCharsets.UTF_8).stripTrailing();
        byte[] data = java.util.Arrays.copyOfRange(valid, 8 + (int) n, valid.length);
        String h = switch (kind) {
            case 4 -> header.replace("\"data_offsets\":[0,512]", "\"data_offsets\":[0," + (r.nextBoolean() ? 600 : 256) + "]");  // out of range / hole
            case 5 -> header.replace("\"shape\":[8,16]", "\"shape\":[" + (r.nextBoolean() ? "4294967296,4294967296" : "9,16") + "]");
            case 6 -> header.replace("\"F32\"", r.nextBoolean() ? "\"F4\"" : "\"I32\"").replace("\"BF16\"", "\"Q4_K\"");
            case 7 -> header.replace("\"b.weight\"", "\"a.weight\"");                                // duplicate name
            default -> "{\"__metadata__\":" + "[".repeat(100 + r.nextInt(5000)) + "}";               // deep / broken JSON
        };
        byte[] hb = h.getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(4) == 0 && hb.length > 10) hb[5] = (byte) 0xFF;                                 // invalid UTF-8
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(8 + hb.length + data.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long claimed = r.nextInt(5) == 0 ? (r.nextBoolean() ? Long.MAX_VALUE : hb.length + 1_000_000L) : hb.length;
        out.putLong(claimed).put(hb).put(data);
        return out.array();
    }

    static String mutateIndex(Random r, int i) {
        String good = "{\"metadata\": {\"total_size\": 792}, \"weight_map\": {\"a.weight\": \"model-00001-of-00001.safetensors\", "
                + "\"b.weight\": \"model-00001-of-00001.safetensors\", \"n\": \"model-00001-of-00001.safetensors\"}}";
        return switch (i % 8) {
            case 0 -> good.replace("\"n\": ", "\"missing\": ");                                 // names a tensor the shard lacks
            case 1 -> good.replace(", \"n\": \"model-00001-of-00001.safetensors\"", "");         // shard tensor not listed
            case 2 -> good.replace("model-00001-of-00001.safetensors\"}", "model-00002-of-00001.safetensors\"}");  // missing shard
            case 3 -> good.replace("\"model-00001-of-00001.safetensors\"}", "\"../../etc/passwd\"}");
            case 4 -> good.substring(0, r.nextInt(good.length()));
            case 5 -> "{\"weight_map\": " + "[".repeat(2000) + "}";
            case 6 -> good.replace("\"a.weight\": \"model-00001-of-00001.safetensors\"", "\"a.weight\": 17");
            default -> good;                                                                     // the control: must open
        };
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void theUnmutatedInputsOpen() throws IOException {
        Path st = tmp.resolve("ok.safetensors");
        Files.write(st, validSafetensors());
        Path onnx = tmp.resolve("ok.onnx");
        Files.write(onnx, OnnxFixtures.matmulModel(2, 16, 8, 1));
        try (ModelSource s = ModelSource.open(onnx)) {
            List<String> names = new ArrayList<>();
            s.tensors().forEach(t -> names.add(t.name()));
            assertEquals(List.of("encoder.layer.0.dense.weight", "encoder.layer.1.dense.weight"), names);
            assertArrayEquals(new long[]{8, 16}, s.tensors().get(0).shape());
        }
        try (ModelSource s = ModelSource.open(st)) {
            assertEquals(3, s.tensors().size());
        }
    }
}
