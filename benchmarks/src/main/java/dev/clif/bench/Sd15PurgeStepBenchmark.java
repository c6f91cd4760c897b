package dev.clif.bench;

import dev.clif.model.AdamW;
import dev.clif.model.ClipConfig;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.model.UNet;
import dev.clif.model.UNetConfig;
import dev.clif.model.Vae;
import dev.clif.model.VaeConfig;
import dev.clif.purge.ParameterSelection;
import dev.clif.purge.PurgeStep;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.HostMemory;
import dev.clif.tensor.Tensor;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/**
 * One CLIF training step at real scale, random weights: an SD-1.5 UNet pair (trainable θ and frozen θ0), the SD
 * VAE decoder and a CLIP ViT-L/14 loss model, the default parameter selection (attn2.to_k/to_v, 32 tensors),
 * batch 1, with and without gradient checkpointing inside the trainable UNet. Throughput is steps per second; the
 * peak memory of the measured steps is printed at the end of each trial (the CUDA allocator's peak, or on the CPU
 * the process's peak resident set).
 *
 * <p>{@code size=auto} and {@code precision=auto} mean what the issue asks for on CUDA, 512x512 pictures in bf16
 * mixed precision; on a CPU, where one 512x512 step takes minutes, 128x128 in fp32, so that the benchmark still
 * runs everywhere (the CPU figure is not comparable with the CUDA one).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 10)
@Measurement(iterations = 3, time = 10)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class Sd15PurgeStepBenchmark {
    @Param({"false", "true"})
    public boolean checkpointing;

    @Param({"auto"})
    public String size;

    @Param({"auto"})
    public String precision;

    /** libtorch's intra-op threads on the CPU (0: leave the default); the peer's figures are per thread count. */
    @Param({"0"})
    public int threads;

    Device device;
    UNet trainable;
    UNet frozen;
    Vae vae;
    ClipModel clip;
    AdamW optimizer;
    PurgeStep.Models models;
    Tensor xt;
    Tensor timestep;
    Tensor context;
    float[] deltaT;
    long peak;
    int pixels;
    DType dtype;

    @Setup
    public void setup() {
        if (threads > 0) Device.setThreads(threads);
        device = Device.best();
        pixels = size.equals("auto") ? (device.isCuda() ? 512 : 128) : Integer.parseInt(size);
        dtype = precision.equals("auto") ? (device.isCuda() ? DType.BF16 : DType.F32) : DType.parse(precision);
        UNetConfig unetConfig = UNetConfig.v1_5();
        // Same seed for both: θ starts equal to θ0, as in a real purge (float32 master weights; see Purger).
        trainable = UNet.random(unetConfig, 1, device, DType.F32);
        frozen = UNet.random(unetConfig, 1, device, DType.F32);
        vae = Vae.random(VaeConfig.sd(), 2, device, DType.F32);
        clip = ClipModel.random(ClipConfig.vitL14(), 3, device, DType.F32);
        List<String> selected = ParameterSelection.select(trainable.parameterNames(), List.of("xattn-kv"));
        for (String n : selected) trainable.setRequiresGrad(n, true);
        trainable.setGradientCheckpointing(checkpointing);
        optimizer = new AdamW(trainable, selected, AdamW.Config.of(1e-5));
        models = new PurgeStep.Models(trainable, frozen, vae, clip, ClipImageProcessor.OPENAI_MEAN, ClipImageProcessor.OPENAI_STD,
                dtype, null);
        xt = Tensor.randn(4, DType.F32, device, 1, 4, pixels / 8, pixels / 8);
        try (Tensor t = Tensor.of(new long[] {600}, 1)) {
            timestep = t.to(device);
        }
        context = Tensor.randn(5, DType.F32, device, 1, 77, unetConfig.crossAttentionDim().get(0));
        deltaT = new float[clip.config().projectionDim()];
        java.util.SplittableRandom r = new java.util.SplittableRandom(6);
        double norm = 0;
        for (int i = 0; i < deltaT.length; i++) {
            deltaT[i] = (float) r.nextGaussian();
            norm += deltaT[i] * deltaT[i];
        }
        for (int i = 0; i < deltaT.length; i++) deltaT[i] /= (float) Math.sqrt(norm);
    }

    @TearDown
    public void tearDown() {
        System.out.printf(Locale.ROOT, "%nsd15 purge step on %s, %dx%d, %s, gradient checkpointing %s: peak %s memory %.2f GiB%n",
                device.isCuda() ? "cuda:" + device.index() : "cpu", pixels, pixels, dtype.name().toLowerCase(Locale.ROOT),
                checkpointing, device.isCuda() ? "device" : "resident", peak / (double) (1L << 30));
        optimizer.close();
        xt.close();
        timestep.close();
        context.close();
        clip.close();
        vae.close();
        frozen.close();
        trainable.close();
    }

    @Benchmark
    public double trainingStep() {
        if (device.isCuda()) device.resetPeakMemory();
        PurgeStep.Output out = PurgeStep.run(models, xt, timestep, 0.3, context, deltaT, null);
        optimizer.step(1.0);
        optimizer.zeroGrad();
        if (device.isCuda()) {
            device.synchronize();
            peak = Math.max(peak, device.memory().peakAllocated());
        } else {
            peak = Math.max(peak, HostMemory.peakResidentBytes());
        }
        return out.loss();
    }
}
