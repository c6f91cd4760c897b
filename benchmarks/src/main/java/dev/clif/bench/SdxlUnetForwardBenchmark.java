package dev.clif.bench;

import dev.clif.model.Conditioning;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.model.UNetConfig;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.HostMemory;
import dev.clif.tensor.Tensor;

import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/**
 * One forward (no grad) of an SDXL-sized UNet: the real SDXL 1.0 base config ({@link UNetConfig#xl()}: block_out_channels
 * 320/640/1280, transformer_layers_per_block [1, 2, 10], cross_attention_dim 2048, text_time added conditioning with
 * addition_time_embed_dim 256 and projection_class_embeddings_input_dim 2816; 2.57 B parameters) with random weights,
 * conditioned as the SDXL pipeline conditions it (77 text states of width 2048, pooled text embeds of 1280, six time ids).
 *
 * <p>{@code latent=32} (a 256x256 image) keeps a CPU run possible: the weights alone are 10.3 GB in fp32, and a CPU
 * forward costs seconds. {@code precision=auto} is fp16 on CUDA (where {@code latent=128}, SDXL's 1024x1024, is the
 * figure to take) and fp32 on a CPU. Single-shot timings: each measured call is one forward. The teardown prints the
 * parameter count and the peak memory (the CUDA allocator's peak, or the process's peak resident set on a CPU).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
@State(Scope.Benchmark)
public class SdxlUnetForwardBenchmark {
    @Param({"32"})
    public int latent;

    /** 2: a classifier-free guidance batch [negative, positive], as every sampling step runs it. */
    @Param({"2"})
    public int batch;

    @Param({"auto"})
    public String precision;

    /** libtorch's CPU threads (0: leave libtorch's default). */
    @Param({"0"})
    public int threads;

    Device device;
    DType dtype;
    UNet unet;
    Tensor sample;
    Tensor timesteps;
    Conditioning conditioning;
    long parameters;
    long peak;

    @Setup
    public void setup() {
        if (threads > 0) Device.setThreads(threads);
        device = Device.best();
        dtype = precision.equals("auto") ? (device.isCuda() ? DType.F16 : DType.F32) : DType.parse(precision);
        UNetConfig config = UNetConfig.xl();
        unet = UNet.random(config, 1, device, dtype);
        for (String n : unet.parameterNames()) try (Tensor p = unet.parameter(n)) {
            parameters += p.numel();
        }
        sample = Tensor.randn(11, dtype, device, batch, 4, latent, latent);
        try (Tensor t = Tensor.of(new long[] {500}, 1)) {
            timesteps = t.to(device);
        }
        int pooled = config.projectionClassEmbeddingsInputDim() - StableDiffusion.TIME_IDS * config.additionTimeEmbedDim();
        int side = latent * 8;
        try (Tensor ids = StableDiffusion.timeIds(batch, side, side, 0, 0, side, side)) {
            conditioning = new Conditioning(Tensor.randn(12, dtype, device, batch, 77, config.crossAttentionDim().get(0)),
                    Tensor.randn(13, dtype, device, batch, pooled), ids.to(device, dtype));
        }
    }

    @TearDown
    public void tearDown() {
        System.out.printf(Locale.ROOT, "%nsdxl unet forward on %s, batch %d, latent %dx%d, %s: %,d parameters, peak %s memory %.2f GiB%n",
                device.isCuda() ? "cuda:" + device.index() : "cpu", batch, latent, latent, dtype.name().toLowerCase(Locale.ROOT), parameters,
                device.isCuda() ? "device" : "resident", peak / (double) (1L << 30));
        conditioning.close();
        sample.close();
        timesteps.close();
        unet.close();
    }

    @Benchmark
    public long forward() {
        if (device.isCuda()) device.resetPeakMemory();
        try (Tensor out = unet.forward(sample, timesteps, conditioning, false)) {
            if (device.isCuda()) {
                device.synchronize();
                peak = Math.max(peak, device.memory().peakAllocated());
            } else {
                peak = Math.max(peak, HostMemory.peakResidentBytes());
            }
            return out.handle().address();
        }
    }
}
