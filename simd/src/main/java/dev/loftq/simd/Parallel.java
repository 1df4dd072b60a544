package dev.loftq.simd;

import java.util.stream.IntStream;

/**
 * Splits index ranges into chunks run on the current ForkJoinPool (the common pool, or the pool whose
 * task calls this — which is how {@code --threads} and the layer scheduler bound all kernel threads).
 * Chunk boundaries depend only on the range and the grain, never on the thread count, so results are
 * the same bytes for any number of threads.
 */
public final class Parallel {
    private Parallel() {}

    /** Body of one chunk: [start, end). */
    @FunctionalInterface
    public interface Range {
        void run(int start, int end);
    }

    /** Runs body over [0, n) in chunks of {@code grain} (the last may be shorter); serially if one chunk. */
    public static void forChunks(int n, int grain, Range body) {
        if (n <= 0) return;
        int chunks = (int) ((n + (long) grain - 1) / grain);
        if (chunks == 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> body.run(c * grain, (int) Math.min(n, (long) c * grain + grain)));
    }
}
