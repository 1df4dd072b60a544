package dev.loftq;

import dev.loftq.io.OnnxModel;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/** The 36 real all-MiniLM-L6-v2 linear weights ([out, in]), from the ONNX file on the classpath. */
public final class MiniLm {
    public record Matrix(String name, int rows, int cols, float[] w) {}

    private static List<Matrix> cache;

    public static synchronized List<Matrix> matrices() {
        if (cache == null) {
            try (InputStream in = MiniLm.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
                OnnxModel m = OnnxModel.read(in, "all-minilm-l6-v2.onnx");
                cache = m.initializers().values().stream().filter(OnnxModel.Initializer::transposed)
                        .map(t -> new Matrix(t.name(), (int) t.shape()[0], (int) t.shape()[1], OnnxModel.floats(t, "minilm")))
                        .toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return cache;
    }

    private MiniLm() {}
}
