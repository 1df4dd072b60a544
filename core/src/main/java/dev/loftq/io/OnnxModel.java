package dev.loftq.io;

import com.google.protobuf.CodedInputStream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of an ONNX model: its graph's initializers, read from the protobuf wire format with
 * protobuf-java (field numbers from onnx.proto: ModelProto.graph = 7; GraphProto.node = 1, initializer = 5;
 * NodeProto input = 1, name = 3, op_type = 4, attribute = 5; TensorProto dims = 1, data_type = 2,
 * float_data = 4, name = 8, raw_data = 9, data_location = 14).
 *
 * <p>Weights consumed by MatMul (stored [in, out]) or Gemm without transB are exposed transposed to the
 * Hugging Face layout [out, in], under the name of their consuming node when the stored name is a generated
 * one ({@code onnx::MatMul_787} consumed by {@code /encoder/layer.0/attention/self/query/MatMul} becomes
 * {@code encoder.layer.0.attention.self.query.weight}).
 */
public final class OnnxModel {
    /** One initializer. {@code transposed}: stored [in, out], exposed as [out, in]. */
    public record Initializer(String name, String storedName, int dataType, long[] storedDims, byte[] raw,
                              boolean transposed) {
        public long[] shape() {
            return transposed ? new long[]{storedDims[1], storedDims[0]} : storedDims.clone();
        }
    }

    private static final int FLOAT = 1, FLOAT16 = 10, DOUBLE = 11, BFLOAT16 = 16;

    private final Map<String, Initializer> byName;

    private OnnxModel(Map<String, Initializer> byName) {
        this.byName = byName;
    }

    public Map<String, Initializer> initializers() {
        return byName;
    }

    public static OnnxModel read(InputStream in, String what) throws IOException {
        return read(in, what, Integer.MAX_VALUE);
    }

    /** Reads at most {@code limit} bytes (the file size): no length field can make it read or allocate more. */
    public static OnnxModel read(InputStream in, String what, long limit) throws IOException {
        CodedInputStream model = CodedInputStream.newInstance(in);
        model.setSizeLimit((int) Math.min(Integer.MAX_VALUE, limit));
        model.setRecursionLimit(64);
        List<RawTensor> tensors = new ArrayList<>();
        List<Node> nodes = new ArrayList<>();
        boolean sawGraph = false;
        try {
            for (int tag; (tag = model.readTag()) != 0; ) {
                if (tag >>> 3 == 7 && (tag & 7) == 2) {
                    sawGraph = true;
                    int saved = model.pushLimit(model.readRawVarint32());
                    readGraph(model, tensors, nodes);
                    model.popLimit(saved);
                } else if (!model.skipField(tag)) {
                    break;
                }
            }
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IOException(what + ": not a valid ONNX model (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new IOException(what + ": " + e.getMessage(), e);
        }
        if (!sawGraph) throw new IOException(what + ": not an ONNX model (no graph)");

        Map<String, String> consumerName = new HashMap<>();
        Map<String, Boolean> needsTranspose = new HashMap<>();
        for (Node node : nodes) {
            if (node.inputs.size() < 2) continue;
            String weight = node.inputs.get(1);
            if (node.opType.equals("MatMul") || node.opType.equals("Gemm")) {
                consumerName.put(weight, moduleName(node.name));
                needsTranspose.put(weight, node.opType.equals("MatMul") || !node.transB);
            }
        }
        Map<String, Initializer> out = new LinkedHashMap<>();
        for (RawTensor t : tensors) {
            boolean matrixWeight = needsTranspose.containsKey(t.name) && t.dims.length == 2;
            String name = t.name;
            if (matrixWeight && !t.name.endsWith(".weight") && consumerName.get(t.name) != null) {
                name = consumerName.get(t.name) + ".weight";
            }
            if (out.containsKey(name)) name = t.name;     // never let two tensors share a name
            if (out.containsKey(name)) throw new IOException(what + ": duplicate initializer name '" + name + "'");
            out.put(name, new Initializer(name, t.name, t.dataType, t.dims, t.raw, matrixWeight && needsTranspose.get(t.name)));
        }
        return new OnnxModel(out);
    }

    /** "/encoder/layer.0/attention/self/query/MatMul" → "encoder.layer.0.attention.self.query". */
    static String moduleName(String nodeName) {
        String s = nodeName.startsWith("/") ? nodeName.substring(1) : nodeName;
        int last = s.lastIndexOf('/');
        if (last > 0) s = s.substring(0, last);
        return s.replace('/', '.');
    }

    /** The initializer's values as fp32 in the exposed ([out, in]) layout. */
    public static float[] floats(Initializer t, String what) {
        long count = 1;
        for (long d : t.storedDims) count = Math.multiplyExact(count, d);
        int n = Math.toIntExact(count);
        int size = switch (t.dataType) {
            case FLOAT -> 4;
            case FLOAT16, BFLOAT16 -> 2;
            case DOUBLE -> 8;
            default -> throw new IllegalArgumentException(what + ": tensor '" + t.name + "' has ONNX data type "
                    + t.dataType + ", not a floating-point type");
        };
        if (t.raw.length != (long) n * size) {
            throw new IllegalArgumentException(what + ": tensor '" + t.name + "' holds " + t.raw.length + " bytes, its shape needs " + (long) n * size);
        }
        ByteBuffer bb = ByteBuffer.wrap(t.raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = switch (t.dataType) {
                case FLOAT -> bb.getFloat(i * 4);
                case FLOAT16 -> DType.halfToFloat(bb.getShort(i * 2));
                case BFLOAT16 -> DType.bf16ToFloat(bb.getShort(i * 2));
                default -> (float) bb.getDouble(i * 8);
            };
        }
        if (!t.transposed) return v;
        int in = (int) t.storedDims[0], outDim = (int) t.storedDims[1];
        float[] tr = new float[n];
        for (int i = 0; i < in; i++) for (int o = 0; o < outDim; o++) tr[o * in + i] = v[i * outDim + o];
        return tr;
    }

    private record RawTensor(String name, int dataType, long[] dims, byte[] raw) {}

    private static final class Node {
        String name = "", opType = "";
        List<String> inputs = new ArrayList<>();
        boolean transB;
    }

    private static void readGraph(CodedInputStream in, List<RawTensor> tensors, List<Node> nodes) throws IOException {
        for (int tag; (tag = in.readTag()) != 0; ) {
            int field = tag >>> 3;
            if ((field == 1 || field == 5) && (tag & 7) == 2) {
                int limit = in.pushLimit(in.readRawVarint32());
                if (field == 1) nodes.add(readNode(in)); else tensors.add(readTensor(in));
                in.popLimit(limit);
            } else {
                in.skipField(tag);
            }
        }
    }

    private static Node readNode(CodedInputStream in) throws IOException {
        Node n = new Node();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case 1 -> n.inputs.add(in.readStringRequireUtf8());
                case 3 -> n.name = in.readStringRequireUtf8();
                case 4 -> n.opType = in.readStringRequireUtf8();
                case 5 -> {
                    int limit = in.pushLimit(in.readRawVarint32());
                    String attr = "";
                    long value = 0;
                    for (int t; (t = in.readTag()) != 0; ) {
                        if (t >>> 3 == 1) attr = in.readStringRequireUtf8();
                        else if (t >>> 3 == 3 && (t & 7) == 0) value = in.readInt64();
                        else in.skipField(t);
                    }
                    if (attr.equals("transB")) n.transB = value != 0;
                    in.popLimit(limit);
                }
                default -> in.skipField(tag);
            }
        }
        return n;
    }

    private static RawTensor readTensor(CodedInputStream in) throws IOException {
        List<Long> dims = new ArrayList<>();
        String name = "";
        int dataType = 0;
        byte[] raw = null;
        java.io.ByteArrayOutputStream floatData = null;
        for (int tag; (tag = in.readTag()) != 0; ) {
            int field = tag >>> 3, wire = tag & 7;
            switch (field) {
                case 1 -> {
                    if (wire == 2) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) dims.add(in.readInt64());
                        in.popLimit(limit);
                    } else {
                        dims.add(in.readInt64());
                    }
                }
                case 2 -> dataType = in.readInt32();
                case 4 -> {   // float_data, packed or not: keep as little-endian bytes like raw_data
                    if (floatData == null) floatData = new java.io.ByteArrayOutputStream();
                    if (wire == 2) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) writeIntLe(floatData, in.readRawLittleEndian32());
                        in.popLimit(limit);
                    } else {
                        writeIntLe(floatData, in.readRawLittleEndian32());
                    }
                }
                case 8 -> name = in.readStringRequireUtf8();
                case 9 -> raw = in.readByteArray();
                case 14 -> {
                    if (in.readInt32() == 1) throw new IOException("tensor '" + name + "' keeps its data in an external file; "
                            + "convert the model with its weights inside (onnx.save(..., save_as_external_data=False))");
                }
                default -> in.skipField(tag);
            }
        }
        long[] d = new long[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i);
            if (d[i] < 0) throw new IOException("tensor '" + name + "' has a negative dimension " + d[i]);
        }
        if (raw == null) raw = floatData != null ? floatData.toByteArray() : new byte[0];
        return new RawTensor(name, dataType, d, raw);
    }

    private static void writeIntLe(java.io.ByteArrayOutputStream out, int v) {
        out.write(v);
        out.write(v >>> 8);
        out.write(v >>> 16);
        out.write(v >>> 24);
    }
}
