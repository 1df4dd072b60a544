package dev.loftq.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loftq.io.ModelSource;
import dev.loftq.io.TensorInfo;
import dev.loftq.loftq.LoftQ;
import dev.loftq.loftq.LoftQConfig;
import dev.loftq.loftq.LoftQResult;
import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.Codebook;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@code loftq quantize}: LoftQ on every target matrix of a model, in parallel under a memory bound,
 * each finished matrix checkpointed under {@code <out>/.loftq-work/}; then the PEFT adapter, the backbone
 * and the report are assembled from the checkpoints ({@link OutputWriter}). {@code adapter_config.json}
 * appears last, and the work directory is removed only after everything else is in place, so an output
 * directory without {@code adapter_config.json}, or with {@code .loftq-work}, is incomplete.
 */
public final class QuantizeJob {
    private QuantizeJob() {}

    public static final String WORK_DIR = ".loftq-work";

    /** Progress callbacks (called from worker threads, serialised). */
    public interface Listener {
        void started(int total, int alreadyDone);

        void finished(String name, LoftQResult result);
    }

    /** A target with its code book and checkpoint file. */
    record Target(int index, TensorInfo info, Codebook codebook, Path checkpoint) {}

    public static Report run(QuantizeOptions o, Listener listener) throws Exception {
        long start = System.nanoTime();
        try (ModelSource src = o.model() == null ? ModelSource.embeddedDefault() : ModelSource.open(o.model())) {
            JsonNode config = src.config() != null ? src.config() : o.model() == null ? OutputWriter.embeddedConfig() : null;
            List<TensorInfo> chosen = Targets.select(src.tensors(), o.target());
            if (chosen.isEmpty()) {
                throw new IllegalArgumentException(src.description() + ": no 2-D floating-point weight matches --target '" + o.target() + "'");
            }
            int numLayers = numLayers(config, chosen);
            Path work = o.out().resolve(WORK_DIR);
            if (!o.resume()) deleteTree(work);
            OutputWriter.removeFinalFiles(o.out());
            Files.createDirectories(work);

            List<Target> targets = new ArrayList<>();
            for (int i = 0; i < chosen.size(); i++) {
                TensorInfo t = chosen.get(i);
                int bits = Targets.bitsFor(t.name(), o.bits(), numLayers);
                targets.add(new Target(i, t, codebook(o.quant(), bits), work.resolve(String.format(Locale.ROOT, "m%05d.safetensors", i))));
            }
            QuantizeOptions.Backbone backbone = backbone(o.backbone(), targets);

            List<LayerScheduler.Job> jobs = new ArrayList<>();
            int done = 0;
            for (Target t : targets) {
                String key = settingsKey(o, src, t);
                if (o.resume() && MatrixCheckpoint.read(t.checkpoint(), key) != null) {
                    done++;
                    continue;
                }
                jobs.add(new LayerScheduler.Job() {
                    @Override public long memoryBytes() {
                        return t.info().numel() * 4 * 6;     // W, target, Q, residual, quantizer and SVD buffers
                    }

                    @Override public void run() throws Exception {
                        LoftQResult r = initialize(src, t, o.loftq().withCodebook(t.codebook()).withSeed(o.loftq().seed() + t.index()));
                        MatrixCheckpoint.write(t.checkpoint(), t.info().name(), key, r);
                        synchronized (listener) {
                            listener.finished(t.info().name(), r);
                        }
                    }
                });
            }
            listener.started(targets.size(), done);
            try (LayerScheduler scheduler = new LayerScheduler(o.threads(), o.maxMemory())) {
                scheduler.runAll(jobs);
            }
            OutputWriter writer = new OutputWriter(o, src, config, targets, backbone, t -> {
                LoftQResult r = MatrixCheckpoint.read(t.checkpoint(), settingsKey(o, src, t));
                if (r == null) throw new IOException(t.checkpoint() + ": checkpoint of '" + t.info().name() + "' is missing or damaged");
                return r;
            });
            Report report = writer.write(start);
            deleteTree(work);
            return report;
        }
    }

    private static LoftQResult initialize(ModelSource src, Target t, LoftQConfig cfg) throws IOException {
        float[] w = src.readFloats(t.info().name());
        try {
            return LoftQ.initialize(w, (int) t.info().shape()[0], (int) t.info().shape()[1], cfg);
        } catch (BlockQuantizer.NonFiniteValueException e) {
            throw new IOException(src.description() + ": tensor '" + t.info().name() + "' has a " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IOException(src.description() + ": tensor '" + t.info().name() + "': " + e.getMessage(), e);
        }
    }

    static Codebook codebook(String quant, int bits) {
        return switch (quant) {
            case "nf" -> Codebook.normalFloat(bits);
            case "uniform" -> Codebook.uniform(bits);
            case "fp4" -> {
                if (bits != 4) throw new IllegalArgumentException("--quant fp4 needs --bits 4 (got " + bits + " bits for some layers)");
                yield Codebook.fp4();
            }
            default -> throw new IllegalArgumentException("--quant must be nf, uniform or fp4, got '" + quant + "'");
        };
    }

    private static QuantizeOptions.Backbone backbone(QuantizeOptions.Backbone asked, List<Target> targets) {
        boolean bnb = targets.stream().allMatch(t -> t.codebook().name().equals("nf4") || t.codebook().name().equals("fp4"))
                && targets.stream().map(t -> t.codebook().name()).distinct().count() == 1;
        if (asked == QuantizeOptions.Backbone.PACKED && !bnb) {
            throw new IllegalArgumentException("--backbone packed writes bitsandbytes 4-bit, which holds only nf4 or fp4 "
                    + "for every layer; use --backbone dequantized for 2-, 3-, 8-bit, uniform or mixed precision");
        }
        if (asked != QuantizeOptions.Backbone.AUTO) return asked;
        return bnb ? QuantizeOptions.Backbone.PACKED : QuantizeOptions.Backbone.DEQUANTIZED;
    }

    static int numLayers(JsonNode config, List<TensorInfo> targets) {
        for (String k : new String[]{"num_hidden_layers", "n_layer", "num_layers"}) {
            if (config != null && config.path(k).canConvertToInt() && config.path(k).asInt() > 0) return config.path(k).asInt();
        }
        return targets.stream().mapToInt(t -> Targets.layerIndex(t.name())).max().orElse(-1) + 1;
    }

    /** Everything a checkpoint depends on: resuming with other settings or another input recomputes. */
    private static String settingsKey(QuantizeOptions o, ModelSource src, Target t) {
        LoftQConfig c = o.loftq();
        return String.join("|", src.description(), t.info().name(), java.util.Arrays.toString(t.info().shape()),
                t.codebook().name(), Integer.toString(c.blockSize()), Boolean.toString(c.doubleQuant()), Integer.toString(c.rank()),
                Integer.toString(c.iters()), Float.toString(c.alpha()), Boolean.toString(c.rslora()), c.svd().name(),
                Integer.toString(c.oversample()), Integer.toString(c.powerIters()), Boolean.toString(c.warmStart()),
                Long.toString(c.seed() + t.index()));
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
