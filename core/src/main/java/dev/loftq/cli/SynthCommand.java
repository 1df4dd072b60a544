package dev.loftq.cli;

import dev.loftq.io.DType;
import dev.loftq.pipeline.Synth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code loftq synth}. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {"Write a Llama-shaped synthetic checkpoint (config.json, sharded safetensors + index) whose linear "
                + "weights have a realistic spectrum (decaying low-rank part plus heavy-tailed noise), for benchmarks and "
                + "scale tests. llama-7b is 6.7 B parameters (13.5 GB in bf16)."})
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--shape", required = true, description = "llama-7b, llama-1b or tiny.")
    String shape;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Option(names = "--dtype", defaultValue = "bf16", description = "bf16, f16 or f32. Default: ${DEFAULT-VALUE}.")
    String dtype;

    @Option(names = "--seed", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--shard-size", defaultValue = "5g", description = "Largest shard. Default: ${DEFAULT-VALUE}.")
    String shardSize;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        long bytes = Synth.write(Synth.Shape.parse(shape), out, DType.parse(dtype.toUpperCase(Locale.ROOT)), seed,
                Sizes.parse(shardSize, "--shard-size"));
        double s = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "wrote %s: %.2f GB in %.1f s (%.2f GB/s)%n", out, bytes / 1e9, s, bytes / 1e9 / s);
        return 0;
    }
}
