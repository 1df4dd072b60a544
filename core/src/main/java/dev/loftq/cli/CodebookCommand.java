package dev.loftq.cli;

import dev.loftq.quant.Codebook;
import dev.loftq.quant.QuantizedTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code loftq codebook}: prints a code book's table, midpoints and storage cost. */
@Command(name = "codebook", mixinStandardHelpOptions = true,
        description = {"Print a code book: its values (index = code), the midpoints used for rounding",
                "(a value exactly on a midpoint takes the lower code) and bits per weight."})
final class CodebookCommand implements Callable<Integer> {
    @Parameters(index = "0", defaultValue = "nf4", paramLabel = "BOOK",
            description = "nf2..nf8, fp4, int2..int8 (LoftQ uniform). Default: ${DEFAULT-VALUE}.")
    String book;

    @Option(names = "--block-size", defaultValue = "64", description = "Block size for the bits-per-weight figure. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Override
    public Integer call() {
        Codebook cb = Codebook.parse(book);
        float[] v = cb.values(), m = cb.mids();
        System.out.printf("%s: %d bits, %d codes, block scale %s%n", cb.name(), cb.bits(), v.length,
                cb.scaleRule() == Codebook.ScaleRule.ABSMAX ? "absmax" : "|mean| + 2.5*std");
        for (int c = 0; c < v.length; c++) {
            System.out.printf("  code %3d  %-22s%s%n", c, Float.toString(v[c]),
                    cb.formatIsIdentity() ? "" : "  (format code " + cb.formatCode(c) + ")");
        }
        StringBuilder mids = new StringBuilder();
        for (float f : m) mids.append(mids.isEmpty() ? "" : ", ").append(f);
        System.out.println("  midpoints: " + mids);
        System.out.printf("  bits per weight at block %d: %.4f (double-quantized scales: %.4f)%n", blockSize,
                QuantizedTensor.bitsPerWeight(cb.bits(), blockSize, false),
                QuantizedTensor.bitsPerWeight(cb.bits(), blockSize, true));
        return 0;
    }
}
