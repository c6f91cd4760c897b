package dev.clif.bench;

import dev.clif.io.SafetensorsFile;
import dev.clif.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/** Opening (map + validate) tiny-sd/unet's safetensors, and copying every tensor into libtorch. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class SafetensorsLoadBenchmark {
    Path file;

    @Setup
    public void setup() {
        file = Path.of(System.getProperty("clif.golden", "testdata/golden"), "tiny-sd/unet/diffusion_pytorch_model.safetensors");
        if (!Files.exists(file)) throw new IllegalStateException("missing " + file + " (set -Dclif.golden=...)");
    }

    @Benchmark
    public int openAndValidate() {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.names().size();
        }
    }

    @Benchmark
    public long loadAllTensors() {
        long n = 0;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                f.requireFinite(name);
                try (Tensor t = f.load(name)) {
                    n += t.handle().address() & 1;
                }
            }
        }
        return n;
    }
}
