package dev.clif.bench;

import dev.clif.attack.RingABell;
import dev.clif.attack.UnlearnDiff;
import dev.clif.model.ClipTextConfig;
import dev.clif.model.ClipTextEncoder;
import dev.clif.model.UNet;
import dev.clif.model.UNetConfig;
import dev.clif.sampling.DdimScheduler;
import dev.clif.sampling.SchedulerConfig;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.HostMemory;
import dev.clif.tensor.Tensor;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/**
 * One UnlearnDiffAtk iteration at real scale, random weights: the SD-1.5 text encoder (CLIP ViT-L/14 text tower) and
 * UNet, K = 5 prefix tokens over CLIP's 49 405 ordinary ids: sample the prefix, the text encoder from embeddings, the
 * UNet's ε on a noised latent, MSE, backward through the UNet and the encoder into the embeddings, dL/dP = dL/dE·Wᵀ
 * over the vocabulary, Adam and the simplex projection. The paper's attack is 40 of these per prompt.
 *
 * <p>{@code size=auto}: 512x512 on CUDA; on a CPU 128x128 (a 16x16 latent, as {@link Sd15PurgeStepBenchmark}), so that
 * it runs everywhere; the CPU figure is not comparable with a 512x512 one. The tokenizer and scheduler configuration come
 * from the golden tiny-sd folder ({@code -Dclif.golden}, set by {@code make bench}): CLIP's BPE and SD's schedule.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class UnlearnDiffIterationBenchmark {
    @Param({"auto"})
    public String size;

    Device device;
    ClipTextEncoder encoder;
    UNet unet;
    UnlearnDiff attack;
    int[] body;
    int[] vocabulary;
    Tensor x0;
    int pixels;
    long peak;

    @Setup
    public void setup() {
        device = Device.best();
        pixels = size.equals("auto") ? (device.isCuda() ? 512 : 128) : Integer.parseInt(size);
        Path tiny = Path.of(System.getProperty("clif.golden", "testdata/golden")).resolve("tiny-sd");
        ClipTokenizer tokenizer = ClipTokenizer.load(tiny.resolve("tokenizer"));
        encoder = ClipTextEncoder.random(ClipTextConfig.sd15(), 1, device, DType.F32);
        unet = UNet.random(UNetConfig.v1_5(), 2, device, DType.F32);
        attack = new UnlearnDiff(encoder, tokenizer, unet, new DdimScheduler(SchedulerConfig.read(tiny.resolve("scheduler"))));
        int[] ids = tokenizer.encode("a photo of a person on the beach");
        body = Arrays.copyOfRange(ids, 1, ids.length - 1);
        vocabulary = RingABell.ordinaryIds(tokenizer, ClipTextConfig.sd15().vocabSize());
        x0 = Tensor.randn(3, DType.F32, device, 1, 4, pixels / 8, pixels / 8);
    }

    @TearDown
    public void tearDown() {
        System.out.printf(Locale.ROOT, "%nunlearndiff iteration on %s, %dx%d, fp32, K 5, vocabulary %d: peak %s memory %.2f GiB%n",
                device.isCuda() ? "cuda:" + device.index() : "cpu", pixels, pixels, vocabulary.length, device.isCuda() ? "device" : "resident",
                peak / (double) (1L << 30));
        x0.close();
        unet.close();
        encoder.close();
    }

    @Benchmark
    public double iteration() {
        if (device.isCuda()) device.resetPeakMemory();
        UnlearnDiff.Result r = attack.search(body, x0, new UnlearnDiff.Settings(5, 1, 0.01, 0.1, 0, vocabulary), null);
        if (device.isCuda()) {
            device.synchronize();
            peak = Math.max(peak, device.memory().peakAllocated());
        } else {
            peak = Math.max(peak, HostMemory.peakResidentBytes());
        }
        return r.finalLoss();
    }
}
