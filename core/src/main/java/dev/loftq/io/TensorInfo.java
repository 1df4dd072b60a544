package dev.loftq.io;

/** A tensor's name, element type and shape (row-major; for matrices the Hugging Face layout [out, in]). */
public record TensorInfo(String name, DType dtype, long[] shape) {
    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long bytes() {
        return Math.multiplyExact(numel(), dtype.size);
    }

    public boolean isMatrix() {
        return shape.length == 2;
    }
}
