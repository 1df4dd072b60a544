package dev.loftq.pipeline;

import dev.loftq.loftq.LoftQConfig;

import java.nio.file.Path;

/**
 * Everything {@code loftq quantize} needs.
 *
 * @param model      input file or directory; null = the embedded all-MiniLM-L6-v2
 * @param out        output directory
 * @param bits       4, 2, 8 (any whole 2..8), or a mixed average strictly between 2 and 4
 * @param quant      code book family: nf, uniform or fp4
 * @param backbone   PACKED (bnb-4bit serialization), DEQUANTIZED (Q in the input dtype) or AUTO
 * @param target     "all-linear" or comma-separated module suffixes
 * @param maxMemory  bytes of matrices in flight
 * @param shardBytes largest backbone shard before the output is split with an index
 */
public record QuantizeOptions(Path model, Path out, double bits, String quant, LoftQConfig loftq, String target,
                              int threads, long maxMemory, Backbone backbone, boolean resume, long shardBytes) {
    public enum Backbone { PACKED, DEQUANTIZED, AUTO }
}
