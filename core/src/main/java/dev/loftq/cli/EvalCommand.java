package dev.loftq.cli;

import dev.loftq.infer.LoraLinear;
import dev.loftq.infer.LoraModel;
import dev.loftq.infer.QuantizedLinear;
import dev.loftq.io.ModelSource;
import dev.loftq.quant.BlockQuantizer;
import dev.loftq.quant.QuantizedTensor;
import dev.loftq.simd.Gemm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/** {@code loftq eval}. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"For every adapted module of a quantize output, run the fused quantized layer with its LoRA "
                + "adapter on random Gaussian inputs and print the relative output error ||x*W^T - LoraLinear(x)|| / ||x*W^T|| "
                + "next to QLoRA's start (the quantized W alone, B = 0)."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "PATH", description = "The original model given to quantize. Default: the embedded all-MiniLM-L6-v2.")
    Path model;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "loftq-out", description = "The quantize output directory. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--batch", defaultValue = "8", description = "Input rows per module. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the inputs. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) throw new IllegalArgumentException("--batch must be ≥ 1");
        Map<String, LoraLinear> layers = LoraModel.load(out);
        double sumLora = 0, sumQlora = 0;
        try (ModelSource src = model == null ? ModelSource.embeddedDefault() : ModelSource.open(model)) {
            int w = Math.max(6, layers.keySet().stream().mapToInt(String::length).max().orElse(6));
            System.out.printf(Locale.ROOT, "%-" + w + "s  %-11s  %-5s  %10s  %10s%n", "module", "shape", "fused", "loftq", "qlora");
            SplittableRandom rng = new SplittableRandom(seed);
            for (var e : layers.entrySet()) {
                LoraLinear layer = e.getValue();
                int in = layer.inFeatures(), o = layer.outFeatures();
                float[] weight = src.readFloats(e.getKey() + ".weight");
                float[] x = new float[batch * in];
                for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
                float[] ref = new float[batch * o], ours = new float[batch * o], qlora = new float[batch * o];
                Gemm.multTransB(x, batch, in, weight, o, ref);
                layer.forward(x, batch, ours);
                QuantizedTensor q0 = BlockQuantizer.quantize(weight, o, in, layer.codebook(), layer.blockSize());
                new QuantizedLinear(q0).forward(x, batch, qlora);
                double norm = Math.sqrt(Gemm.sumSquares(ref, ref.length));
                double el = Math.sqrt(Gemm.sumSquaredDiff(ref, ours, ref.length)) / norm;
                double eq = Math.sqrt(Gemm.sumSquaredDiff(ref, qlora, ref.length)) / norm;
                sumLora += el;
                sumQlora += eq;
                System.out.printf(Locale.ROOT, "%-" + w + "s  %-11s  %-5s  %10.5f  %10.5f%n", e.getKey(), o + "x" + in,
                        layer.fused() ? "yes" : "no", el, eq);
            }
        }
        System.out.printf(Locale.ROOT, "%d modules, batch %d: mean output error %.5f with the LoftQ adapter, %.5f QLoRA start%n",
                layers.size(), batch, sumLora / layers.size(), sumQlora / layers.size());
        return 0;
    }
}
