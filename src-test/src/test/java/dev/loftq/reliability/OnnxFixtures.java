package dev.loftq.reliability;

import com.google.protobuf.CodedOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Writes tiny ONNX models (protobuf wire format, onnx.proto field numbers) for tests. */
final class OnnxFixtures {
    private OnnxFixtures() {}

    /** A graph of {@code layers} MatMul nodes, each with an fp32 [in, out] initializer with a generated name. */
    static byte[] matmulModel(int layers, int in, int out, long seed) throws IOException {
        java.util.Random r = new java.util.Random(seed);
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        CodedOutputStream g = CodedOutputStream.newInstance(graph);
        for (int l = 0; l < layers; l++) {
            String w = "onnx::MatMul_" + (100 + l);
            ByteArrayOutputStream node = new ByteArrayOutputStream();
            CodedOutputStream n = CodedOutputStream.newInstance(node);
            n.writeString(1, l == 0 ? "x" : "h" + (l - 1));
            n.writeString(1, w);
            n.writeString(2, "h" + l);
            n.writeString(3, "/encoder/layer." + l + "/dense/MatMul");
            n.writeString(4, "MatMul");
            n.flush();
            g.writeByteArray(1, node.toByteArray());
            ByteArrayOutputStream tensor = new ByteArrayOutputStream();
            CodedOutputStream t = CodedOutputStream.newInstance(tensor);
            t.writeInt64(1, in);
            t.writeInt64(1, out);
            t.writeInt32(2, 1);
            t.writeString(8, w);
            ByteBuffer raw = ByteBuffer.allocate(in * out * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < in * out; i++) raw.putFloat((float) r.nextGaussian() * 0.05f);
            t.writeByteArray(9, raw.array());
            t.flush();
            g.writeByteArray(5, tensor.toByteArray());
        }
        g.flush();
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        CodedOutputStream m = CodedOutputStream.newInstance(model);
        m.writeInt64(1, 8);
        m.writeByteArray(7, graph.toByteArray());
        m.flush();
        return model.toByteArray();
    }
}
