package dev.loftq.cli;

import dev.loftq.io.ModelSource;
import dev.loftq.io.TensorInfo;
import dev.loftq.pipeline.Targets;
import dev.loftq.quant.QuantizedTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code loftq inspect}. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List a model's tensors (dtype, shape), mark those quantize would target, and estimate output sizes.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "PATH", description = "File or directory (as quantize --model). Default: the embedded model.")
    Path path;

    @Option(names = "--target", defaultValue = "all-linear", description = "As in quantize. Default: ${DEFAULT-VALUE}.")
    String target;

    @Option(names = "--rank", defaultValue = "16", description = "LoRA rank for the adapter size. Default: ${DEFAULT-VALUE}.")
    int rank;

    @Option(names = "--block-size", defaultValue = "64", description = "For the backbone size. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Override
    public Integer call() throws Exception {
        try (ModelSource src = path == null ? ModelSource.embeddedDefault() : ModelSource.open(path)) {
            List<TensorInfo> targets = Targets.select(src.tensors(), target);
            Set<String> names = new HashSet<>();
            targets.forEach(t -> names.add(t.name()));
            long inBytes = 0, targetWeights = 0, otherBytes = 0, adapterBytes = 0;
            System.out.println(src.description());
            for (TensorInfo t : src.tensors()) {
                boolean tgt = names.contains(t.name());
                System.out.printf(Locale.ROOT, "  %s %-60s %-5s %s%n", tgt ? "*" : " ", t.name(), t.dtype(), Arrays.toString(t.shape()));
                inBytes += t.bytes();
                if (tgt) {
                    targetWeights += t.numel();
                    adapterBytes += 4L * rank * (t.shape()[0] + t.shape()[1]);
                } else {
                    otherBytes += t.bytes();
                }
            }
            double packed = otherBytes + targetWeights * QuantizedTensor.bitsPerWeight(4, blockSize, false) / 8;
            System.out.printf(Locale.ROOT, "%d tensors, %.1f MB; %d targets (* above, --target %s) with %.1f M weights%n",
                    src.tensors().size(), inBytes / 1e6, targets.size(), target, targetWeights / 1e6);
            System.out.printf(Locale.ROOT, "estimated output: adapter %.1f MB (rank %d, fp32), NF4 backbone %.1f MB%n",
                    adapterBytes / 1e6, rank, packed / 1e6);
        }
        return 0;
    }
}
