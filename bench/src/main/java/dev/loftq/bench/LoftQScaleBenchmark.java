package dev.loftq.bench;

import dev.loftq.loftq.LoftQ;
import dev.loftq.loftq.LoftQConfig;
import dev.loftq.loftq.LoftQResult;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Seconds per Llama-2-7B-shaped matrix for the default LoftQ (NF4, r = 16, T = 5, randomized SVD with 2 power
 * iterations and warm start) on both cores, next to the 1-power-iteration variant. Anchor measured
 * outside JMH (DESIGN.md §6): PEFT 0.19 takes 111 s for 4096² on this machine kind.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 2)
@Measurement(iterations = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx10g", "-XX:+UseParallelGC"})
public class LoftQScaleBenchmark {
    @Param({"4096x4096", "4096x11008"})
    public String shape;

    int m, n;
    float[] w;

    @Setup
    public void setup() {
        int[] s = BenchData.shape(shape);
        m = s[0];
        n = s[1];
        w = LoftQBenchmark.structured(m, n, 1);
    }

    @Benchmark
    public LoftQResult randomizedDefault() {
        return LoftQ.initialize(w, m, n, LoftQConfig.defaults());
    }

    @Benchmark
    public LoftQResult randomizedOnePowerIter() {
        return LoftQ.initialize(w, m, n, LoftQConfig.defaults().withPowerIters(1));
    }
}
