package dev.loftq.pipeline;

import dev.loftq.cli.Main;
import dev.loftq.io.DType;
import dev.loftq.loftq.LoftQConfig;
import dev.loftq.loftq.LoftQResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class ResumeAndBadInputTest {
    @TempDir
    Path tmp;

    /** Runs the CLI, returning exit code and what it printed to stderr. */
    static Object[] cli(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Object[]{code, err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(old);
        }
    }

    static void assertFailsNaming(String needle, Path out, String... args) {
        Object[] r = cli(args);
        assertNotEquals(0, r[0], "exit code");
        String err = (String) r[1];
        assertTrue(err.contains(needle), "stderr should name '" + needle + "': " + err);
        assertFalse(err.contains("\tat "), "no stack trace for users: " + err);
        if (out != null) assertFalse(Files.exists(out.resolve("adapter_config.json")), "no complete-looking output");
    }

    @Test
    void anInterruptedRunResumesToTheSameBytes() throws Exception {
        Path full = tmp.resolve("full"), cut = tmp.resolve("cut");
        String[] common = {"--iters", "2", "--target", "query,key,value"};
        assertEquals(0, Main.run(concat(new String[]{"quantize", "--out", full.toString()}, common)));

        QuantizeOptions o = new QuantizeOptions(null, cut, 4, "nf", LoftQConfig.defaults().withIters(2), "query,key,value",
                2, 1L << 30, QuantizeOptions.Backbone.AUTO, false, 5L << 30);
        AtomicInteger seen = new AtomicInteger();
        RuntimeException crash = assertThrows(RuntimeException.class, () -> QuantizeJob.run(o, new QuantizeJob.Listener() {
            @Override public void started(int total, int done) {}

            @Override public void finished(String name, LoftQResult r) {
                if (seen.incrementAndGet() == 7) throw new RuntimeException("simulated crash");
            }
        }));
        assertEquals("simulated crash", crash.getMessage());
        assertFalse(Files.exists(cut.resolve("adapter_config.json")));
        assertTrue(Files.isDirectory(cut.resolve(QuantizeJob.WORK_DIR)));

        assertEquals(0, Main.run(concat(new String[]{"quantize", "--out", cut.toString(), "--resume"}, common)));
        for (String f : new String[]{"adapter_model.safetensors", "model.safetensors", "config.json"}) {
            assertArrayEquals(Files.readAllBytes(full.resolve(f)), Files.readAllBytes(cut.resolve(f)), f);
        }
        assertFalse(Files.exists(cut.resolve(QuantizeJob.WORK_DIR)));
    }

    @Test
    void nonFiniteWeightsNameTheTensorAndLeaveNoCompleteOutput() throws Exception {
        Map<String, float[][]> m = TestModels.llamaLike(1, 32, 3);
        m.get("model.layers.0.self_attn.v_proj.weight")[0][5 * 32 + 7] = Float.NaN;
        Path file = tmp.resolve("nan.safetensors");
        TestModels.writeSafetensors(file, m, DType.F32);
        Path out = tmp.resolve("nan-out");
        assertFailsNaming("model.layers.0.self_attn.v_proj.weight", out, "quantize", "--model", file.toString(), "--out", out.toString(), "--rank", "4");
        assertFailsNaming("[5, 7]", out, "quantize", "--model", file.toString(), "--out", out.toString(), "--rank", "4");
    }

    @Test
    void brokenFilesGetClearErrors() throws Exception {
        Map<String, float[][]> m = TestModels.llamaLike(1, 32, 4);
        Path good = tmp.resolve("good.safetensors");
        TestModels.writeSafetensors(good, m, DType.F32);
        byte[] bytes = Files.readAllBytes(good);
        Path out = tmp.resolve("o");

        Path truncated = tmp.resolve("truncated.safetensors");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertFailsNaming("truncated.safetensors", out, "quantize", "--model", truncated.toString(), "--out", out.toString());

        Path lying = tmp.resolve("lying.safetensors");
        byte[] l = bytes.clone();
        l[6] = 0x7F;   // header length ~ 2^55
        Files.write(lying, l);
        assertFailsNaming("header length", out, "quantize", "--model", lying.toString(), "--out", out.toString());

        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[]{1, 2, 3});
        assertFailsNaming("shorter than", out, "inspect", tiny.toString());

        Path missing = tmp.resolve("nope.safetensors");
        assertFailsNaming("no such file", out, "quantize", "--model", missing.toString(), "--out", out.toString());

        assertFailsNaming("block size", out, "quantize", "--model", good.toString(), "--out", out.toString(), "--block-size", "100");
        assertFailsNaming("no 2-D floating-point weight matches", out, "quantize", "--model", good.toString(), "--out", out.toString(), "--target", "nothing_here");
        assertFailsNaming("--backbone packed", out, "quantize", "--model", good.toString(), "--out", out.toString(), "--bits", "2", "--backbone", "packed", "--rank", "4");
        assertFailsNaming("--max-memory", out, "quantize", "--model", good.toString(), "--out", out.toString(), "--max-memory", "lots");
    }

    @Test
    void shapesNotDivisibleByTheBlockSizeWork() throws Exception {
        Map<String, float[][]> m = new java.util.LinkedHashMap<>();
        java.util.Random r = new java.util.Random(5);
        m.put("blk.0.attn.weight", new float[][]{TestModels.lowRankPlusNoise(r, 37, 101), {37, 101}});
        Path file = tmp.resolve("odd.safetensors");
        TestModels.writeSafetensors(file, m, DType.F16);
        Path out = tmp.resolve("odd-out");
        assertEquals(0, Main.run("quantize", "--model", file.toString(), "--out", out.toString(), "--rank", "4", "--iters", "2"));
        assertTrue(Files.exists(out.resolve("adapter_config.json")));
    }

    static String[] concat(String[] a, String[] b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
