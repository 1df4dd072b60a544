package dev.loftq.reliability;

import dev.loftq.cli.Main;
import dev.loftq.pipeline.QuantizeJob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Kill -9 and resume, and a failing disk, against a real `loftq quantize` process. */
class CrashSafetyTest {
    @TempDir
    Path tmp;

    static final String[] JOB = {"--iters", "2", "--target", "query,key,value,intermediate.dense"};
    static final String[] FILES = {"adapter_model.safetensors", "model.safetensors", "config.json", "adapter_config.json"};

    static Process start(Path out, boolean resume, String prefix) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (prefix != null) cmd.addAll(List.of("bash", "-c", prefix + " exec \"$0\" \"$@\""));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "-Xmx2g", "-cp", System.getProperty("java.class.path"),
                "dev.loftq.cli.Main", "quantize", "--out", out.toString()));
        cmd.addAll(List.of(JOB));
        if (resume) cmd.add("--resume");
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile()).start();
    }

    @Test
    void killedRunsResumeToTheBytesOfAnUninterruptedOne() throws Exception {
        Path ref = tmp.resolve("ref"), out = tmp.resolve("killed");
        List<String> args = new ArrayList<>(List.of("quantize", "--out", ref.toString()));
        args.addAll(List.of(JOB));
        assertEquals(0, Main.run(args.toArray(String[]::new)));

        Random r = new Random(7);
        int kills = 0;
        for (int attempt = 0; attempt < 4; attempt++) {
            Process p = start(out, attempt > 0, null);
            boolean finished = p.waitFor(400 + r.nextInt(2600), TimeUnit.MILLISECONDS);
            if (!finished) {
                p.destroyForcibly();                          // SIGKILL
                p.waitFor();
                kills++;
            }
            if (Files.exists(out.resolve("adapter_config.json"))) {
                // adapter_config.json is written last: whenever it is there, everything else is whole
                for (String f : FILES) assertArrayEqualsIgnoringPath(ref, out, f);
            } else {
                assertFalse(finished && p.exitValue() == 0, "a finished run must leave adapter_config.json");
            }
        }
        assertTrue(kills >= 1, "the test must actually interrupt a run");
        Process last = start(out, true, null);
        assertTrue(last.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, last.exitValue(), Files.readString(tmp.resolve("killed.log")));
        for (String f : FILES) assertArrayEqualsIgnoringPath(ref, out, f);
        assertFalse(Files.exists(out.resolve(QuantizeJob.WORK_DIR)));
    }

    /** Compares an output file; adapter_config.json names its own directory, so that line is normalised. */
    static void assertArrayEqualsIgnoringPath(Path ref, Path out, String f) throws IOException {
        String a = Files.readString(ref.resolve(f), java.nio.charset.StandardCharsets.ISO_8859_1);
        String b = Files.readString(out.resolve(f), java.nio.charset.StandardCharsets.ISO_8859_1);
        if (f.equals("adapter_config.json")) {
            a = a.replace(ref.toAbsolutePath().toString(), "DIR");
            b = b.replace(out.toAbsolutePath().toString(), "DIR");
        }
        assertEquals(a, b, f + " differs");
    }

    @Test
    void aFullDiskIsReportedAndLeavesNoCompleteLookingOutput() throws Exception {
        Path out = tmp.resolve("full");
        // ulimit -f: writes past 20 MB fail with EFBIG, as they would with ENOSPC on a full disk
        Process p = start(out, false, "ulimit -f 20000;");
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String log = Files.readString(tmp.resolve("full.log"));
        assertNotEquals(0, p.exitValue(), log);
        assertTrue(log.contains("loftq: ") && (log.contains("File too large") || log.contains("No space")), log);
        assertFalse(log.contains("\tat "), "no stack trace: " + log);
        assertFalse(Files.exists(out.resolve("adapter_config.json")));
        assertFalse(Files.exists(out.resolve("model.safetensors")), "a half-written backbone must not appear under its final name");
    }
}
