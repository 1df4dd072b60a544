package dev.loftq.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code loftq} command line. */
@Command(name = "loftq", mixinStandardHelpOptions = true, version = "loftq-java 0.1.0",
        description = {
                "LoftQ (LoRA-fine-tuning-aware quantization) for CPUs: finds a quantized backbone Q and LoRA",
                "factors A, B with Q + s*B*A ~ W for every adapted weight W, and writes files PEFT and",
                "transformers load unchanged."},
        subcommands = {QuantizeCommand.class, InspectCommand.class, EvalCommand.class, SynthCommand.class, CodebookCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("loftq: " + (ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName()));
            if (System.getenv("LOFTQ_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            return 2;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("loftq: out of memory (" + e.getMessage() + "); lower --max-memory or --threads, "
                    + "or give the JVM more heap with LOFTQ_JAVA_OPTS=-Xmx...");
            return 2;
        }
    }
}
