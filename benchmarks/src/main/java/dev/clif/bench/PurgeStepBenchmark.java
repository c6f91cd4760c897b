package dev.clif.bench;

import dev.clif.model.AdamW;
import dev.clif.model.ClipModel;
import dev.clif.model.ClipImageProcessor;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.purge.DirectionalClipLoss;
import dev.clif.purge.PurgeStep;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/**
 * One CLIF training step on tiny-sd + tiny-clip, as the golden purge_step case computes it (batch 2, 20x20
 * latents, t = 600): both UNets, VAE decode, CLIP image features, loss, backward, AdamW on the 22
 * attn2.to_k/to_v weights. The peer: 329.2 ms at one thread, 241.7 ms at two.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class PurgeStepBenchmark {
    @Param({"1", "2"})
    public int threads;

    StableDiffusion sd;
    UNet trainable;
    ClipModel clip;
    AdamW optimizer;
    PurgeStep.Models models;
    Tensor xt;
    Tensor timestep;
    Tensor context;
    float[] deltaT;

    @Setup
    public void setup() {
        Device.setThreads(threads);
        Path golden = Path.of(System.getProperty("clif.golden", "testdata/golden"));
        sd = StableDiffusion.load(golden.resolve("tiny-sd"), Device.CPU, DType.F32);
        trainable = UNet.load(golden.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
        clip = ClipModel.load(golden.resolve("tiny-clip"), Device.CPU, DType.F32);
        List<String> selected = new ArrayList<>();
        for (String n : trainable.parameterNames())
            if (n.endsWith(".attn2.to_k.weight") || n.endsWith(".attn2.to_v.weight")) selected.add(n);
        optimizer = new AdamW(trainable, selected, AdamW.Config.of(1e-4));
        models = new PurgeStep.Models(trainable, sd.unet(), sd.vae(), clip, ClipImageProcessor.OPENAI_MEAN, ClipImageProcessor.OPENAI_STD);
        xt = Tensor.randn(302, DType.F32, Device.CPU, 2, 4, 20, 20);
        timestep = Tensor.of(new long[] {600}, 1);
        try (Tensor c1 = sd.encodePrompts(List.of("a photo of a red car"), 0)) {
            context = Tensor.cat(0, c1, c1);
        }
        float[][] src;
        float[][] tgt;
        try (Tensor s = clip.textFeatures(ids(List.of("a photo of red car.", "red car")), null, false);
             Tensor t = clip.textFeatures(ids(List.of("a photo of blue car.", "blue car")), null, false)) {
            src = rows(s);
            tgt = rows(t);
        }
        deltaT = DirectionalClipLoss.textDirection(src, tgt);
    }

    private Tensor ids(List<String> texts) {
        long[][] rows = sd.tokenizer().encodeBatch(texts);
        long[] flat = new long[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * rows[0].length, rows[0].length);
        return Tensor.of(flat, rows.length, rows[0].length);
    }

    private static float[][] rows(Tensor t) {
        long[] s = t.shape();
        float[] flat = t.toFloatArray();
        float[][] out = new float[(int) s[0]][(int) s[1]];
        for (int r = 0; r < out.length; r++) System.arraycopy(flat, r * out[0].length, out[r], 0, out[0].length);
        return out;
    }

    @TearDown
    public void tearDown() {
        optimizer.close();
        xt.close();
        timestep.close();
        context.close();
        trainable.close();
        clip.close();
        sd.close();
    }

    @Benchmark
    public double trainingStep() {
        PurgeStep.Output out = PurgeStep.run(models, xt, timestep, 0.3, context, deltaT, null);
        optimizer.step(1.0);
        optimizer.zeroGrad();
        return out.loss();
    }
}
