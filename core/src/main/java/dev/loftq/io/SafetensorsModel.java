package dev.loftq.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A model in one safetensors file or in shards listed by {@code model.safetensors.index.json}. */
final class SafetensorsModel implements ModelSource {
    private final Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
    private final List<SafetensorsFile> files = new ArrayList<>();
    private final List<TensorInfo> tensors = new ArrayList<>();
    private final JsonNode config;
    private final String description;

    private SafetensorsModel(JsonNode config, String description) {
        this.config = config;
        this.description = description;
    }

    static SafetensorsModel single(Path file, JsonNode config) throws IOException {
        SafetensorsModel m = new SafetensorsModel(config, file.toString());
        SafetensorsFile f = SafetensorsFile.open(file);
        m.files.add(f);
        for (TensorInfo t : f.tensors()) {
            m.fileOf.put(t.name(), f);
            m.tensors.add(t);
        }
        return m;
    }

    static SafetensorsModel sharded(Path index, JsonNode config) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new IOException(index + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) throw new IOException(index + ": no \"weight_map\" object");
        Path dir = index.toAbsolutePath().getParent();
        SafetensorsModel m = new SafetensorsModel(config, index.toString());
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String shard = e.getValue().asText();
                if (!e.getValue().isTextual() || shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                    throw new IOException(index + ": tensor '" + e.getKey() + "' maps to a bad shard name " + e.getValue());
                }
                SafetensorsFile f = shards.get(shard);
                if (f == null) {
                    f = SafetensorsFile.open(dir.resolve(shard));
                    shards.put(shard, f);
                    m.files.add(f);
                }
                m.fileOf.put(e.getKey(), f);
                m.tensors.add(f.info(e.getKey()));   // fails clearly if the shard lacks it
            }
        } catch (IOException | RuntimeException ex) {
            m.close();
            throw ex;
        }
        for (SafetensorsFile f : m.files) {
            for (TensorInfo t : f.tensors()) {
                if (m.fileOf.get(t.name()) != f) {
                    m.close();
                    throw new IOException(f.path() + ": tensor '" + t.name() + "' is not listed in " + index.getFileName());
                }
            }
        }
        return m;
    }

    @Override public List<TensorInfo> tensors() { return tensors; }

    @Override
    public float[] readFloats(String name) throws IOException {
        return file(name).readFloats(name);
    }

    @Override
    public void copyTo(String name, WritableByteChannel out) throws IOException {
        file(name).copyTo(name, out);
    }

    private SafetensorsFile file(String name) throws IOException {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) throw new IOException(description + ": no tensor named '" + name + "'");
        return f;
    }

    @Override public JsonNode config() { return config; }
    @Override public String description() { return description; }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }
}
