package dev.clif.bench;

import dev.clif.ffi.clif_h;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.Tensor;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/** The cost of crossing the Java ⇄ C boundary: a trivial downcall, and a checked query on a tensor. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class DowncallBenchmark {
    Tensor t;

    @Setup
    public void setup() {
        NativeLibrary.load();
        t = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
    }

    @TearDown
    public void tearDown() {
        t.close();
    }

    /** clif_tensor_live_count: no arguments, no error check, returns a long. */
    @Benchmark
    public long trivialDowncall() {
        return clif_h.clif_tensor_live_count();
    }

    /** Tensor.numel(): allocates an out-slot, calls, checks the status. */
    @Benchmark
    public long checkedQuery() {
        return t.numel();
    }
}
