package dev.loftq.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Streams a safetensors file: the header is fixed up front from the tensors' names, dtypes and shapes,
 * then each tensor's bytes are written in that order, one at a time. The file is written under
 * {@code <name>.tmp} and only renamed to its final name by {@link #commit()} once every byte is on disk,
 * so a crash or a full disk never leaves a complete-looking file. Header padded with spaces to 8 bytes.
 */
public final class SafetensorsWriter implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path target, temp;
    private final FileChannel ch;
    private final List<TensorInfo> tensors;
    private int next;
    private long written;
    private boolean committed;

    public SafetensorsWriter(Path target, List<TensorInfo> tensors, Map<String, String> metadata) throws IOException {
        this.target = target;
        this.temp = target.resolveSibling(target.getFileName() + ".tmp");
        this.tensors = new ArrayList<>(tensors);
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (TensorInfo t : tensors) {
            if (root.has(t.name())) throw new IllegalArgumentException("duplicate tensor name '" + t.name() + "'");
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", t.dtype().name());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            ArrayNode offs = e.putArray("data_offsets");
            offs.add(offset);
            offset += t.bytes();
            offs.add(offset);
        }
        byte[] header = JSON.writeValueAsBytes(root);
        int padded = (header.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(header);
        while (head.hasRemaining()) head.put((byte) ' ');
        Files.createDirectories(target.toAbsolutePath().getParent());
        this.ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        writeFully(head.flip());
    }

    /** Writes the bytes of the next tensor (must be exactly its size). */
    public void write(String name, ByteBuffer bytes) throws IOException {
        TensorInfo t = expect(name);
        if (bytes.remaining() != t.bytes()) throw new IllegalArgumentException("tensor '" + name + "': got " + bytes.remaining() + " bytes, expected " + t.bytes());
        writeFully(bytes);
        next++;
    }

    /** Writes the next tensor from a producer that must emit exactly its size through {@link #writeChunk}. */
    public void write(String name, ChunkProducer producer) throws IOException {
        TensorInfo t = expect(name);
        long before = written;
        producer.produce(this);
        if (written - before != t.bytes()) throw new IllegalStateException("tensor '" + name + "': wrote " + (written - before) + " bytes, expected " + t.bytes());
        next++;
    }

    @FunctionalInterface
    public interface ChunkProducer {
        void produce(SafetensorsWriter w) throws IOException;
    }

    public void writeChunk(ByteBuffer bytes) throws IOException {
        writeFully(bytes);
    }

    /** A channel view for producers that copy from another channel-based source. */
    public java.nio.channels.WritableByteChannel asChannel() {
        return new java.nio.channels.WritableByteChannel() {
            @Override public int write(ByteBuffer b) throws IOException {
                int n = b.remaining();
                writeFully(b);
                return n;
            }

            @Override public boolean isOpen() { return ch.isOpen(); }

            @Override public void close() {}
        };
    }

    public void writeFloats(String name, float[] v) throws IOException {
        write(name, encode(v, DType.F32));
    }

    public void writeBytes(String name, byte[] v) throws IOException {
        write(name, ByteBuffer.wrap(v));
    }

    public void writeString(String name, String s) throws IOException {
        writeBytes(name, s.getBytes(StandardCharsets.UTF_8));
    }

    private TensorInfo expect(String name) {
        if (next >= tensors.size()) throw new IllegalStateException("all tensors already written, got '" + name + "'");
        TensorInfo t = tensors.get(next);
        if (!t.name().equals(name)) throw new IllegalStateException("expected tensor '" + t.name() + "' next, got '" + name + "'");
        return t;
    }

    /** Flushes to disk and renames the temporary file to its final name. */
    public void commit() throws IOException {
        if (next != tensors.size()) throw new IllegalStateException("only " + next + " of " + tensors.size() + " tensors written");
        ch.force(true);
        ch.close();
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
    }

    /** Without a commit: closes and deletes the temporary file. */
    @Override
    public void close() throws IOException {
        if (committed) return;
        ch.close();
        Files.deleteIfExists(temp);
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) written += ch.write(b);
    }

    /** fp32 values as little-endian bytes of dtype (F32, F16, BF16 round to nearest even, F64). */
    public static ByteBuffer encode(float[] v, DType dtype) {
        ByteBuffer bb = ByteBuffer.allocate(v.length * dtype.size).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> bb.asFloatBuffer().put(v);
            case F16 -> { for (float f : v) bb.putShort(Float.floatToFloat16(f)); }
            case BF16 -> { for (float f : v) bb.putShort(DType.floatToBf16(f)); }
            case F64 -> { for (float f : v) bb.putDouble(f); }
            default -> throw new IllegalArgumentException("cannot encode floats as " + dtype);
        }
        return bb.rewind();
    }
}
