package dev.loftq.cli;

import dev.loftq.loftq.LoftQConfig;
import dev.loftq.loftq.LoftQResult;
import dev.loftq.pipeline.QuantizeJob;
import dev.loftq.pipeline.QuantizeOptions;
import dev.loftq.pipeline.Report;
import dev.loftq.quant.BlockQuantizer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code loftq quantize}. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run LoftQ on every target weight of a model and write a PEFT LoRA adapter "
                + "(adapter_config.json, adapter_model.safetensors) plus the quantized backbone (model.safetensors, "
                + "config.json) and loftq_report.json. The factors satisfy Q + s*B*A ~ W for the chosen --alpha.",
                "Without --model it runs on the embedded all-MiniLM-L6-v2 weights."})
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "PATH", description = "A .safetensors or .onnx file, or a directory with "
            + "model.safetensors, model.safetensors.index.json (sharded) or one .onnx. Default: embedded all-MiniLM-L6-v2.")
    Path model;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "loftq-out", description = "Output directory. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--bits", defaultValue = "4", description = "Bits per weight: 2..8, or a mixed average between 2 and 4 "
            + "(e.g. 2.5: the first layers 4-bit, the rest 2-bit, as in LoftQ). Default: ${DEFAULT-VALUE}.")
    double bits;

    @Option(names = "--quant", defaultValue = "nf", description = "Code book: nf (NormalFloat), uniform (LoftQ's INT), fp4 (bnb). Default: ${DEFAULT-VALUE}.")
    String quant;

    @Option(names = "--rank", defaultValue = "16", description = "LoRA rank r. Default: ${DEFAULT-VALUE}.")
    int rank;

    @Option(names = "--iters", defaultValue = "5", description = "LoftQ alternating steps T. Default: ${DEFAULT-VALUE}.")
    int iters;

    @Option(names = "--alpha", description = "lora_alpha. Default: the rank (s = 1).")
    Float alpha;

    @Option(names = "--rslora", description = "Rank-stabilised LoRA scaling s = alpha/sqrt(r).")
    boolean rslora;

    @Option(names = "--block-size", defaultValue = "64", description = "Quantization block size, a power of two 16..4096. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Option(names = "--double-quant", description = "Quantize the block scales to 8 bits (QLoRA double quantization).")
    boolean doubleQuant;

    @Option(names = "--svd", defaultValue = "randomized", description = "randomized (fast, default) or exact (EJML full SVD, slow on big matrices).")
    String svd;

    @Option(names = "--power-iters", defaultValue = "2", description = "Power iterations of the randomized SVD. Default: ${DEFAULT-VALUE}.")
    int powerIters;

    @Option(names = "--oversample", defaultValue = "16", description = "Extra probe vectors of the randomized SVD. Default: ${DEFAULT-VALUE}.")
    int oversample;

    @Option(names = "--target", defaultValue = "all-linear", description = "all-linear (every linear weight but embeddings "
            + "and the output head) or module-name suffixes, e.g. q_proj,v_proj. Default: ${DEFAULT-VALUE}.")
    String target;

    @Option(names = "--threads", description = "Worker threads for matrices and kernels together. Default: all cores.")
    Integer threads;

    @Option(names = "--max-memory", defaultValue = "4g", description = "Bound on the working memory of matrices in flight "
            + "(k, m, g suffixes). Default: ${DEFAULT-VALUE}.")
    String maxMemory;

    @Option(names = "--backbone", defaultValue = "auto", description = "packed (transformers bitsandbytes 4-bit; nf4/fp4 only), "
            + "dequantized (Q in the input dtype), or auto (packed when possible). Default: ${DEFAULT-VALUE}.")
    String backbone;

    @Option(names = "--shard-size", defaultValue = "5g", description = "Largest backbone file before it is sharded with an index. Default: ${DEFAULT-VALUE}.")
    String shardSize;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the randomized SVD. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--resume", description = "Continue an interrupted run in the same --out (same settings): finished matrices are kept.")
    boolean resume;

    @Override
    public Integer call() throws Exception {
        if (!(bits >= 2 && bits <= 8) || (bits != Math.rint(bits) && bits >= 4)) {
            throw new IllegalArgumentException("--bits must be a whole number 2..8 or a mixed average between 2 and 4, got " + bits);
        }
        LoftQConfig.SvdMethod method = switch (svd.toLowerCase(Locale.ROOT)) {
            case "randomized" -> LoftQConfig.SvdMethod.RANDOMIZED;
            case "exact" -> LoftQConfig.SvdMethod.EXACT;
            default -> throw new IllegalArgumentException("--svd must be randomized or exact, got '" + svd + "'");
        };
        BlockQuantizer.checkBlockSize(blockSize);
        LoftQConfig cfg = LoftQConfig.defaults().withRank(rank).withIters(iters).withAlpha(alpha == null ? rank : alpha)
                .withRslora(rslora).withBlockSize(blockSize).withDoubleQuant(doubleQuant).withSvd(method)
                .withPowerIters(powerIters).withOversample(oversample).withSeed(seed);
        QuantizeOptions.Backbone bb = switch (backbone.toLowerCase(Locale.ROOT)) {
            case "packed" -> QuantizeOptions.Backbone.PACKED;
            case "dequantized" -> QuantizeOptions.Backbone.DEQUANTIZED;
            case "auto" -> QuantizeOptions.Backbone.AUTO;
            default -> throw new IllegalArgumentException("--backbone must be packed, dequantized or auto, got '" + backbone + "'");
        };
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        QuantizeOptions o = new QuantizeOptions(model, out, bits, quant.toLowerCase(Locale.ROOT), cfg, target, nThreads,
                Sizes.parse(maxMemory, "--max-memory"), bb, resume, Sizes.parse(shardSize, "--shard-size"));
        Progress progress = new Progress();
        Report report;
        try {
            report = QuantizeJob.run(o, progress);
        } finally {
            progress.close();
        }
        report.print(System.out);
        System.out.println("wrote " + out.toAbsolutePath().normalize());
        return 0;
    }

    /** A progress bar on a terminal, one log line per matrix otherwise. */
    private static final class Progress implements QuantizeJob.Listener {
        private ProgressBar bar;
        private int total, done;
        private final long start = System.nanoTime();

        @Override
        public void started(int total, int alreadyDone) {
            this.total = total;
            this.done = alreadyDone;
            if (System.console() != null) {
                bar = new ProgressBarBuilder().setTaskName("LoftQ").setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                        .setUnit(" matrices", 1).showSpeed().build();
                bar.stepTo(alreadyDone);
            } else if (alreadyDone > 0) {
                System.err.printf(Locale.ROOT, "resuming: %d of %d matrices already done%n", alreadyDone, total);
            }
        }

        @Override
        public void finished(String name, LoftQResult r) {
            done++;
            if (bar != null) {
                bar.step();
                bar.setExtraMessage(String.format(Locale.ROOT, "err %.4f", r.error()));
            } else {
                double el = (System.nanoTime() - start) / 1e9;
                System.err.printf(Locale.ROOT, "[%d/%d] %s %dx%d: error %.5f (QLoRA %.5f) in %.2f s; elapsed %.1f s%n", done, total, name,
                        r.q().rows(), r.q().cols(), r.error(), r.errorQlora(), r.seconds(), el);
            }
        }

        void close() {
            if (bar != null) bar.close();
        }
    }
}
