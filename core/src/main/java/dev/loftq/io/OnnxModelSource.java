package dev.loftq.io;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;

/** An ONNX model's initializers as a {@link ModelSource}; MatMul weights exposed as [out, in]. */
final class OnnxModelSource implements ModelSource {
    private final OnnxModel model;
    private final String description;
    private final JsonNode config;
    private final List<TensorInfo> tensors = new ArrayList<>();

    OnnxModelSource(OnnxModel model, String description, JsonNode config) throws IOException {
        this.model = model;
        this.description = description;
        this.config = config;
        for (OnnxModel.Initializer t : model.initializers().values()) {
            DType dt = dtype(t.dataType());
            if (dt == null) continue;   // strings, complex: nothing a LoRA backbone needs
            TensorInfo info = new TensorInfo(t.name(), dt, t.shape());
            long bytes;
            try {
                bytes = info.bytes();
            } catch (ArithmeticException e) {
                throw new IOException(description + ": tensor '" + t.name() + "' has a shape too large to exist " + java.util.Arrays.toString(t.shape()));
            }
            if (t.raw().length != bytes) {
                throw new IOException(description + ": tensor '" + t.name() + "' holds " + t.raw().length + " bytes, its shape needs " + info.bytes());
            }
            tensors.add(info);
        }
    }

    /** ONNX TensorProto.DataType → DType (null when there is none). */
    static DType dtype(int onnx) {
        return switch (onnx) {
            case 1 -> DType.F32;
            case 2 -> DType.U8;
            case 3 -> DType.I8;
            case 4 -> DType.U16;
            case 5 -> DType.I16;
            case 6 -> DType.I32;
            case 7 -> DType.I64;
            case 9 -> DType.BOOL;
            case 10 -> DType.F16;
            case 11 -> DType.F64;
            case 12 -> DType.U32;
            case 13 -> DType.U64;
            case 16 -> DType.BF16;
            default -> null;
        };
    }

    @Override public List<TensorInfo> tensors() { return tensors; }

    @Override
    public float[] readFloats(String name) throws IOException {
        return OnnxModel.floats(init(name), description);
    }

    @Override
    public void copyTo(String name, WritableByteChannel out) throws IOException {
        OnnxModel.Initializer t = init(name);
        ByteBuffer bb;
        if (!t.transposed()) {
            bb = ByteBuffer.wrap(t.raw());
        } else {
            // Only fp32 matrices reach here transposed in practice; others go through fp32 and back.
            float[] v = OnnxModel.floats(t, description);
            DType dt = dtype(t.dataType());
            if (!dt.isFloat()) throw new IOException(description + ": cannot copy transposed tensor '" + name + "' of " + dt);
            bb = SafetensorsWriter.encode(v, dt);
        }
        while (bb.hasRemaining()) out.write(bb);
    }

    private OnnxModel.Initializer init(String name) throws IOException {
        OnnxModel.Initializer t = model.initializers().get(name);
        if (t == null) throw new IOException(description + ": no tensor named '" + name + "'");
        return t;
    }

    @Override public JsonNode config() { return config; }
    @Override public String description() { return description; }
    @Override public void close() {}
}
