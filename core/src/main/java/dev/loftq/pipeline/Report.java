package dev.loftq.pipeline;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * What {@code loftq quantize} did: per target tensor its shape, bits, errors and time; totals.
 *
 * @param bitsPerWeight storage cost of the quantized targets (codes + scales), averaged over their weights
 * @param bytesWritten  size of all output files
 */
public record Report(List<Entry> tensors, double seconds, double bitsPerWeight, long bytesWritten, String backbone) {
    /** errorQlora = ‖W − Q₀‖/‖W‖; errorLoftq = ‖W − Q − s·B·A‖/‖W‖ after the last iteration. */
    public record Entry(String name, long[] shape, String codebook, int bits, int rank, int iters, double errorQlora,
                        double errorLoftq, double seconds) {}

    public double meanErrorQlora() {
        return tensors.stream().mapToDouble(Entry::errorQlora).average().orElse(Double.NaN);
    }

    public double meanErrorLoftq() {
        return tensors.stream().mapToDouble(Entry::errorLoftq).average().orElse(Double.NaN);
    }

    /** The per-tensor table and a one-line summary. */
    public void print(PrintStream out) {
        int w = Math.max(6, tensors.stream().mapToInt(e -> e.name().length()).max().orElse(6));
        out.printf(Locale.ROOT, "%-" + w + "s  %-11s  %-5s  %9s  %9s  %7s%n", "tensor", "shape", "book", "qlora", "loftq", "seconds");
        for (Entry e : tensors) {
            out.printf(Locale.ROOT, "%-" + w + "s  %-11s  %-5s  %9.5f  %9.5f  %7.2f%n", e.name(), e.shape()[0] + "x" + e.shape()[1],
                    e.codebook(), e.errorQlora(), e.errorLoftq(), e.seconds());
        }
        out.printf(Locale.ROOT, "%d matrices: mean error %.5f (QLoRA init %.5f), %.2f bits/weight, %.1f s, %.3f GB written (%s backbone)%n",
                tensors.size(), meanErrorLoftq(), meanErrorQlora(), bitsPerWeight, seconds, bytesWritten / 1e9, backbone);
    }
}
