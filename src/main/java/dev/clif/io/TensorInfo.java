package dev.clif.io;

import dev.clif.tensor.DType;

import java.util.Arrays;

/** One entry of a safetensors header: where a tensor's bytes lie in the data section. */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public long byteSize() {
        return end - begin;
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
