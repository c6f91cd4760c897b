package dev.clif.bench;

import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/**
 * tiny-sd text-to-image, 2 DDIM steps, CFG 7.5, 32x32, with VAE decode (the peer's pipeline_decode: 101.5 ms
 * at one thread, 73.5 ms at two). Includes prompt encoding, as the peer's pipeline call does.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class PipelineBenchmark {
    @Param({"1", "2"})
    public int threads;

    StableDiffusion sd;
    Txt2Img pipeline;
    Txt2Img.Request request;

    @Setup
    public void setup() {
        Device.setThreads(threads);
        sd = StableDiffusion.load(Path.of(System.getProperty("clif.golden", "testdata/golden"), "tiny-sd"), Device.CPU, DType.F32);
        pipeline = new Txt2Img(sd);
        request = new Txt2Img.Request("a photo of an astronaut riding a horse", "", 2, 7.5, "ddim", 91, 32, 32, 1, 0, 0);
    }

    @TearDown
    public void tearDown() {
        sd.close();
    }

    @Benchmark
    public long twoStepsWithDecode() {
        try (Txt2Img.Result r = pipeline.generate(request, null)) {
            return r.images().handle().address();
        }
    }
}
