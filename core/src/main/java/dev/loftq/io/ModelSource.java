package dev.loftq.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The weights of a model, whatever the file format: tensors in the Hugging Face layout (matrices
 * [out, in]) that can be read as fp32 or copied byte for byte, plus {@code config.json} when present.
 */
public interface ModelSource extends AutoCloseable {
    /** Every tensor, in a stable order. */
    List<TensorInfo> tensors();

    /** The tensor's values as fp32, row-major in the exposed layout. */
    float[] readFloats(String name) throws IOException;

    /** Writes the tensor's bytes, in its dtype and exposed layout, to out. */
    void copyTo(String name, WritableByteChannel out) throws IOException;

    /** config.json, or null. */
    JsonNode config();

    /** What this is, for messages ("model.safetensors", "2 shards under dir/"). */
    String description();

    @Override
    void close() throws IOException;

    /**
     * Opens a .safetensors file, an .onnx file, or a directory holding model.safetensors,
     * model.safetensors.index.json (sharded) or a single *.safetensors / *.onnx file.
     */
    static ModelSource open(Path path) throws IOException {
        if (!Files.exists(path)) throw new IOException(path + ": no such file or directory");
        if (Files.isDirectory(path)) {
            JsonNode config = readConfig(path.resolve("config.json"));
            if (Files.exists(path.resolve("model.safetensors.index.json"))) {
                return SafetensorsModel.sharded(path.resolve("model.safetensors.index.json"), config);
            }
            if (Files.exists(path.resolve("model.safetensors"))) {
                return SafetensorsModel.single(path.resolve("model.safetensors"), config);
            }
            try (var files = Files.list(path)) {
                List<Path> candidates = files.filter(p -> p.toString().endsWith(".safetensors") || p.toString().endsWith(".onnx"))
                        .filter(p -> !p.getFileName().toString().startsWith("adapter_")).sorted().toList();
                if (candidates.size() == 1) return open(candidates.get(0));
                throw new IOException(path + ": expected model.safetensors, model.safetensors.index.json or one .safetensors/.onnx file, found "
                        + (candidates.isEmpty() ? "none" : candidates.size() + " candidates"));
            }
        }
        String name = path.getFileName().toString();
        JsonNode config = readConfig(path.resolveSibling("config.json"));
        if (name.endsWith(".onnx")) {
            try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
                return new OnnxModelSource(OnnxModel.read(in, path.toString(), Files.size(path)), path.toString(), config);
            }
        }
        if (name.endsWith(".index.json")) return SafetensorsModel.sharded(path, config);
        return SafetensorsModel.single(path, config);
    }

    /** The embedded default: all-MiniLM-L6-v2's ONNX weights from the classpath. */
    static ModelSource embeddedDefault() throws IOException {
        try (InputStream in = ModelSource.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            if (in == null) throw new IOException("the embedded all-MiniLM-L6-v2 model is not on the classpath (rebuild with ./loftq)");
            return new OnnxModelSource(OnnxModel.read(in, "all-minilm-l6-v2.onnx"), "embedded all-MiniLM-L6-v2 (ONNX)", null);
        }
    }

    private static JsonNode readConfig(Path p) throws IOException {
        if (!Files.isRegularFile(p)) return null;
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new IOException(p + ": not valid JSON (" + e.getMessage() + ")", e);
        }
    }
}
