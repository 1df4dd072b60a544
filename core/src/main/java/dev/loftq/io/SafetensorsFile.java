package dev.loftq.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A validated, memory-mapped safetensors file (files over 2 GB work). Tensors are read through a mapping of
 * just that tensor that is unmapped right after, so reading a checkpoint many times the size of memory does
 * not pile its pages up in the process's resident set. Opening checks everything the
 * format promises — header length, UTF-8 JSON object, known dtypes, shapes, offsets that tile the
 * byte buffer exactly, no duplicates, file size — and fails with an {@link IOException} naming the file
 * and the tensor, before any tensor data is touched or any large allocation is made.
 */
public final class SafetensorsFile implements AutoCloseable {
    public static final long MAX_HEADER = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
            .build());

    private final Path path;
    private final FileChannel channel;
    private final long dataStart, bufferSize;
    private Arena arena;
    private MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private record Entry(TensorInfo info, long begin, long end) {}

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, long bufferSize, Map<String, Entry> entries,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.bufferSize = bufferSize;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) throw bad(path, "file is " + size + " bytes, shorter than the 8-byte header length");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            if (n < 2 || n > MAX_HEADER) throw bad(path, "header length " + Long.toUnsignedString(n) + " is not in 2.." + MAX_HEADER);
            if (8 + n > size) throw bad(path, "header length " + n + " runs past the end of the " + size + "-byte file (truncated?)");
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            String header;
            try {
                header = StandardCharsets.UTF_8.newDecoder().decode(hb.flip()).toString();
            } catch (CharacterCodingException e) {
                throw bad(path, "header is not valid UTF-8");
            }
            if (!header.startsWith("{")) throw bad(path, "header does not start with '{'");
            JsonNode root;
            try {
                root = JSON.readTree(header.stripTrailing());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw bad(path, "header is not valid JSON: " + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) throw bad(path, "header is not a JSON object");
            long bufferSize = size - 8 - n;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parseEntries(path, root, bufferSize, metadata);
            return new SafetensorsFile(path, ch, 8 + n, bufferSize, entries, metadata);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static Map<String, Entry> parseEntries(Path path, JsonNode root, long bufferSize, Map<String, String> metadata)
            throws IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw bad(path, "__metadata__ is not an object");
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = m.next();
                    if (!e.getValue().isTextual()) throw bad(path, "__metadata__ value of '" + e.getKey() + "' is not a string");
                    metadata.put(e.getKey(), e.getValue().asText());
                }
                continue;
            }
            if (!v.isObject()) throw bad(path, "tensor '" + name + "': entry is not an object");
            JsonNode dt = v.get("dtype"), shape = v.get("shape"), offs = v.get("data_offsets");
            if (dt == null || !dt.isTextual()) throw bad(path, "tensor '" + name + "': missing dtype");
            if (shape == null || !shape.isArray()) throw bad(path, "tensor '" + name + "': missing shape");
            if (offs == null || !offs.isArray() || offs.size() != 2 || !offs.get(0).canConvertToLong() || !offs.get(1).canConvertToLong()
                    || !offs.get(0).isIntegralNumber() || !offs.get(1).isIntegralNumber()) {
                throw bad(path, "tensor '" + name + "': data_offsets must be two integers");
            }
            DType dtype;
            try {
                dtype = DType.parse(dt.asText());
            } catch (IllegalArgumentException e) {
                throw bad(path, "tensor '" + name + "': " + e.getMessage());
            }
            long[] dims = new long[shape.size()];
            long numel = 1;
            for (int i = 0; i < dims.length; i++) {
                JsonNode d = shape.get(i);
                if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) throw bad(path, "tensor '" + name + "': bad dimension " + d);
                dims[i] = d.asLong();
                try {
                    numel = Math.multiplyExact(numel, dims[i]);
                } catch (ArithmeticException e) {
                    throw bad(path, "tensor '" + name + "': shape overflows");
                }
            }
            long begin = offs.get(0).asLong(), end = offs.get(1).asLong();
            if (begin < 0 || end < begin || end > bufferSize) {
                throw bad(path, "tensor '" + name + "': data_offsets [" + begin + ", " + end + ") outside the " + bufferSize + "-byte buffer");
            }
            long expected;
            try {
                expected = Math.multiplyExact(numel, dtype.size);
            } catch (ArithmeticException e) {
                throw bad(path, "tensor '" + name + "': shape overflows");
            }
            if (end - begin != expected) {
                throw bad(path, "tensor '" + name + "': " + (end - begin) + " bytes but shape " + java.util.Arrays.toString(dims)
                        + " of " + dtype + " needs " + expected);
            }
            entries.put(name, new Entry(new TensorInfo(name, dtype, dims), begin, end));
        }
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        for (Entry e : sorted) {
            if (e.begin != at) {
                throw bad(path, "tensor '" + e.info.name() + "' starts at " + e.begin + " but the previous data ends at " + at
                        + (e.begin < at ? " (overlap)" : " (hole)"));
            }
            at = e.end;
        }
        if (at != bufferSize) throw bad(path, "tensor data ends at " + at + " but the buffer holds " + bufferSize + " bytes");
        return entries;
    }

    public Path path() { return path; }
    public Map<String, String> metadata() { return metadata; }

    public List<TensorInfo> tensors() {
        return entries.values().stream().map(Entry::info).toList();
    }

    public TensorInfo info(String name) throws IOException {
        return entry(name).info;
    }

    private Entry entry(String name) throws IOException {
        Entry e = entries.get(name);
        if (e == null) throw new IOException(path + ": no tensor named '" + name + "'");
        return e;
    }

    /** The tensor's values as fp32 (F32, F16, BF16 or F64 input). */
    public float[] readFloats(String name) throws IOException {
        Entry e = entry(name);
        DType dt = e.info.dtype();
        if (!dt.isFloat()) throw new IOException(path + ": tensor '" + name + "' is " + dt + ", not a floating-point type");
        int n = Math.toIntExact(e.info.numel());
        float[] out = new float[n];
        if (n == 0) return out;
        try (Arena once = Arena.ofConfined()) {
            decode(channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, e.end - e.begin, once), dt, out);
        }
        return out;
    }

    private static void decode(MemorySegment s, DType dt, float[] out) {
        int n = out.length;
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfDouble f64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        switch (dt) {
            case F32 -> MemorySegment.copy(s, f32, 0, out, 0, n);
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = DType.bf16ToFloat(s.getAtIndex(i16, i)); }
            case F16 -> { for (int i = 0; i < n; i++) out[i] = DType.halfToFloat(s.getAtIndex(i16, i)); }
            default -> { for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(f64, i); }
        }
    }

    /** The tensor's bytes exactly as stored (little-endian), valid until close (whole-file mapping). */
    public synchronized MemorySegment raw(String name) throws IOException {
        Entry e = entry(name);
        if (data == null) {
            arena = Arena.ofShared();
            data = bufferSize == 0 ? MemorySegment.NULL : channel.map(FileChannel.MapMode.READ_ONLY, dataStart, bufferSize, arena);
        }
        return data.asSlice(e.begin, e.end - e.begin);
    }

    /** Copies the tensor's stored bytes to out through a mapping of just this tensor. */
    public void copyTo(String name, WritableByteChannel out) throws IOException {
        Entry e = entry(name);
        if (e.end == e.begin) return;
        try (Arena once = Arena.ofConfined()) {
            ByteBuffer bb = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, e.end - e.begin, once).asByteBuffer();
            while (bb.hasRemaining()) out.write(bb);
        }
    }

    @Override
    public synchronized void close() {
        if (arena != null) arena.close();
        try {
            channel.close();
        } catch (IOException ignored) {
            // read-only channel: nothing was buffered
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos + buf.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    private static IOException bad(Path path, String why) {
        return new IOException(path + ": invalid safetensors file: " + why);
    }
}
