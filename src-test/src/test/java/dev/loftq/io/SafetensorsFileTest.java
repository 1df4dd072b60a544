package dev.loftq.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsFileTest {
    @TempDir
    Path tmp;

    Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = tmp.resolve("t" + System.nanoTime() + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    void assertInvalid(String needle, String header, int dataBytes) throws IOException {
        Path p = file(header, dataBytes);
        IOException e = assertThrows(IOException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().contains(needle) && e.getMessage().contains(p.getFileName().toString()), e.getMessage());
    }

    @Test
    void roundTripsThroughTheWriter() throws IOException {
        Path p = tmp.resolve("rt.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(p, List.of(new TensorInfo("a", DType.F32, new long[]{2, 3}),
                new TensorInfo("b", DType.BF16, new long[]{4}), new TensorInfo("c", DType.U8, new long[]{3})), Map.of("format", "pt"))) {
            w.writeFloats("a", new float[]{1, 2, 3, 4, 5, 6});
            w.write("b", SafetensorsWriter.encode(new float[]{1.5f, -2f, 0f, 3.25f}, DType.BF16));
            w.writeBytes("c", new byte[]{7, 8, 9});
            assertFalse(Files.exists(p), "not visible before commit");
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals("pt", f.metadata().get("format"));
            assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, f.readFloats("a"));
            assertArrayEquals(new float[]{1.5f, -2f, 0f, 3.25f}, f.readFloats("b"));
            assertThrows(IOException.class, () -> f.readFloats("c"));
            assertThrows(IOException.class, () -> f.readFloats("zzz"));
        }
        ByteBuffer head = ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0, head.getLong() % 8, "header padded to 8 bytes");
    }

    @Test
    void anUncommittedWriterLeavesNothing() throws IOException {
        Path p = tmp.resolve("x.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(p, List.of(new TensorInfo("a", DType.F32, new long[]{1})), null)) {
            w.writeFloats("a", new float[]{1});
        }
        assertFalse(Files.exists(p));
        assertFalse(Files.exists(tmp.resolve("x.safetensors.tmp")));
    }

    @Test
    void rejectsEveryKindOfLie() throws IOException {
        assertInvalid("buffer holds", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16);   // buffer longer than tensors
        assertInvalid("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertInvalid("needs", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
        assertInvalid("unsupported dtype", "{\"a\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1);
        assertInvalid("Duplicate", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertInvalid("outside", "{\"a\":{\"dtype\":\"U8\",\"shape\":[9],\"data_offsets\":[0,9]}}", 4);
        assertInvalid("start with '{'", "[1,2]", 0);
        assertInvalid("not valid JSON", "{\"a\": ", 0);
        assertInvalid("overflows", "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8);
        assertInvalid("bad dimension", "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0);
        assertInvalid("not an object", "{\"a\": 5}", 0);
        String deep = "{\"__metadata__\":" + "[".repeat(200) + "]".repeat(200) + "}";
        assertInvalid("JSON", deep, 0);
        Path p = tmp.resolve("utf.safetensors");
        ByteBuffer b = ByteBuffer.allocate(8 + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(4).put(new byte[]{'{', (byte) 0xC3, (byte) 0x28, '}'});
        Files.write(p, b.array());
        IOException e = assertThrows(IOException.class, () -> SafetensorsFile.open(p));
        assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
    }
}
