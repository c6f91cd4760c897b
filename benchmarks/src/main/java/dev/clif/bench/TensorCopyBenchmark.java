package dev.clif.bench;

import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/** Copying tensor data between Java memory and libtorch, in and out, at 1 KB, 1 MB and 64 MB. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Thread)
public class TensorCopyBenchmark {
    @Param({"1024", "1048576", "67108864"})
    public int bytes;

    Arena arena;
    MemorySegment offHeap;
    float[] onHeap;
    Tensor tensor;

    @Setup
    public void setup() {
        arena = Arena.ofConfined();
        offHeap = arena.allocate(bytes, 64);
        onHeap = new float[bytes / 4];
        tensor = Tensor.zeros(DType.F32, Device.CPU, bytes / 4);
    }

    @TearDown
    public void tearDown() {
        tensor.close();
        arena.close();
    }

    @Benchmark
    public long copyInFromSegment() {
        try (Tensor t = Tensor.fromSegment(offHeap, DType.F32, Device.CPU, bytes / 4)) {
            return t.handle().address();
        }
    }

    @Benchmark
    public long copyInFromArray() {
        try (Tensor t = Tensor.of(onHeap, bytes / 4)) {
            return t.handle().address();
        }
    }

    @Benchmark
    public MemorySegment copyOutToSegment() {
        tensor.copyTo(offHeap);
        return offHeap;
    }

    @Benchmark
    public float[] copyOutToArray() {
        return tensor.toFloatArray();
    }
}
