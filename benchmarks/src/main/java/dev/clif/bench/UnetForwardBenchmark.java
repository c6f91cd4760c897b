package dev.clif.bench;

import dev.clif.model.UNet;
import dev.clif.model.UNetConfig;
import dev.clif.tensor.Autocast;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/**
 * UNet forward without grad. "tiny": tiny-sd, batch 2, 16x16 latents (the peer's unet_forward, 44.7 ms at one
 * thread). "sd15": the real SD-1.5 config with random weights, batch 1, 32x32 latents (the peer's
 * sd15_unet_forward); on CUDA in fp16 when a GPU is present.
 *
 * <p>{@code precision} on the CPU: {@code f32}; {@code bf16}, the model and its inputs cast to bfloat16 (what the
 * peer's sd15_unet_forward_bf16 does); {@code bf16-autocast}, float32 weights run in a bf16 autocast region (how a
 * purge runs with {@code --dtype bf16}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class UnetForwardBenchmark {
    @Param({"tiny"})
    public String model;

    @Param({"1", "2"})
    public int threads;

    @Param({"f32"})
    public String precision;

    UNet unet;
    Tensor sample;
    Tensor timesteps;
    Tensor context;
    boolean autocast;

    @Setup
    public void setup() {
        Device.setThreads(threads);
        Device device = model.equals("sd15") ? Device.best() : Device.CPU;
        DType dtype = device.isCuda() ? DType.F16 : precision.equals("bf16") ? DType.BF16 : DType.F32;
        autocast = !device.isCuda() && precision.equals("bf16-autocast");
        if (!List.of("f32", "bf16", "bf16-autocast").contains(precision))
            throw new IllegalArgumentException("precision must be f32, bf16 or bf16-autocast, got " + precision);
        if (model.equals("tiny")) {
            unet = UNet.load(Path.of(System.getProperty("clif.golden", "testdata/golden"), "tiny-sd/unet"), device, dtype);
            sample = Tensor.randn(11, dtype, device, 2, 4, 16, 16);
            context = Tensor.randn(12, dtype, device, 2, 77, 32);
            timesteps = Tensor.of(new long[] {999, 500}, 2).to(device);
        } else {
            UNetConfig c = UNetConfig.v1_5();
            unet = UNet.random(c, 1, device, dtype);
            sample = Tensor.randn(11, dtype, device, 1, 4, 32, 32);
            context = Tensor.randn(12, dtype, device, 1, 77, 768);
            timesteps = Tensor.of(new long[] {500}, 1).to(device);
        }
    }

    @TearDown
    public void tearDown() {
        sample.close();
        context.close();
        timesteps.close();
        unet.close();
    }

    @Benchmark
    public long forward() {
        try (Autocast region = autocast ? Autocast.open(unet.device(), DType.BF16) : null;
             Tensor out = unet.forward(sample, timesteps, context, false)) {
            if (unet.device().isCuda()) unet.device().synchronize();
            return out.handle().address();
        }
    }
}
