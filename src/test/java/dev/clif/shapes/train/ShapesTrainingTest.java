package dev.clif.shapes.train;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.clif.model.ClipModel;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNetConfig;
import dev.clif.model.Vae;
import dev.clif.model.VaeConfig;
import dev.clif.sampling.Txt2Img;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Short runs of the three trainers (the shipped architectures, few steps): losses fall, the folders written
 * load back with Clif's own loaders and generate, and a resumed run continues exactly where it stopped.
 */
class ShapesTrainingTest {
    static Path tokenizer;

    @BeforeAll
    static void findTokenizer() {
        Path golden = Path.of(TestData.golden());
        tokenizer = golden.resolve("tiny-sd").resolve("tokenizer");
        Assertions.assertTrue(Files.isRegularFile(tokenizer.resolve("vocab.json")), "no tokenizer at " + tokenizer);
    }

    private static void assertFalls(TrainLoop.Stats s, int k) {
        double first = s.firstMean(k), last = s.lastMean(k);
        assertTrue(last < first, s.stage() + ": loss did not fall: first " + k + " mean " + first + ", last " + k + " mean " + last);
    }

    @Test
    void trainsWritesLoadsAndGenerates(@TempDir Path out) {
        VaeTrainer.Config v = VaeTrainer.Config.standard();
        ClipTrainer.Config c = ClipTrainer.Config.standard();
        SdTrainer.Config s = SdTrainer.Config.standard();
        ShapesTraining.Plan plan = new ShapesTraining.Plan(
                new VaeTrainer.Config(v.model(), 40, 8, 2e-3, 5, v.klWeight(), 20, 2),
                new ClipTrainer.Config(c.model(), 30, 16, 1e-3, 5, 20),
                new SdTrainer.Config(s.unetJson(), 30, 8, 1e-3, 5, 0.1, 20));
        ShapesTraining.Report r = ShapesTraining.run(new ShapesTraining.Options(out, 7, 30, false, tokenizer, DType.F32, plan,
                TrainLoop.Listener.NONE));
        assertFalls(r.vae(), 5);
        assertFalls(r.clip(), 5);
        assertFalls(r.unet(), 10);
        assertTrue(r.scalingFactor() > 0 && Double.isFinite(r.scalingFactor()));
        assertTrue(r.unet().parameters() < 1_000_000, "UNet has " + r.unet().parameters() + " parameters");

        Path sd = out.resolve("sd");
        for (String f : new String[] {"model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors", "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
                "text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt"})
            assertTrue(Files.isRegularFile(sd.resolve(f)), "missing sd/" + f);
        // configs round-trip through the readers
        assertEquals(ShapesModels.unet().toNativeJson(), UNetConfig.read(sd.resolve("unet/config.json")).toNativeJson());
        VaeConfig vc = VaeConfig.read(sd.resolve("vae/config.json"));
        assertEquals(r.scalingFactor(), vc.scalingFactor(), 1e-12);

        try (StableDiffusion model = StableDiffusion.load(sd, Device.CPU, DType.F32);
             TensorScope scope = TensorScope.open()) {
            assertEquals(32, model.defaultImageSize());
            Txt2Img.Request req = new Txt2Img.Request("a red circle", "", 2, 5.0, null, 1, 32, 32, 2, 0, 0);
            Txt2Img.Result res = new Txt2Img(model).generate(req, null);
            assertArrayEquals(new long[] {2, 3, 32, 32}, res.images().shape());
            assertTrue(res.images().allFinite());
        }
        try (ClipModel clip = ClipModel.load(out.resolve("clip"), Device.CPU, DType.F32);
             TensorScope scope = TensorScope.open()) {
            Tensor pixels = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 32, 32);
            assertArrayEquals(new long[] {1, 32}, clip.imageFeatures(pixels, false).shape());
        }
        assertTrue(Files.isRegularFile(out.resolve("clip/preprocessor_config.json")));
        assertTrue(Files.isRegularFile(out.resolve("clip/vocab.json")));
    }

    @Test
    void resumeContinuesWhereItStopped(@TempDir Path dir) {
        ShapesWorld world = new ShapesWorld();
        VaeTrainer.Config base = VaeTrainer.Config.standard();
        VaeTrainer.Config c = new VaeTrainer.Config(base.model(), 8, 4, 2e-3, 2, base.klWeight(), 4, 1);
        VaeTrainer.Result full = VaeTrainer.train(c, world, 5, null, false, Long.MAX_VALUE, TrainLoop.Listener.NONE);
        double[] straight = full.stats().losses();
        full.vae().close();
        Path ck = dir.resolve("vae.safetensors");
        try {
            VaeTrainer.train(c, world, 5, ck, false, Long.MAX_VALUE, (stage, step, total, loss) -> {
                if (step == 5) throw new StopHere(); // after the checkpoint of step 4
            });
            throw new AssertionError("the listener should have stopped the run");
        } catch (StopHere expected) {
            // a crash after step 5
        }
        VaeTrainer.Result resumed = VaeTrainer.train(c, world, 5, ck, true, Long.MAX_VALUE, TrainLoop.Listener.NONE);
        resumed.vae().close();
        assertEquals(4, resumed.stats().firstStep());
        assertArrayEquals(Arrays.copyOfRange(straight, 4, 8), resumed.stats().losses(), 1e-6);
    }

    static final class StopHere extends RuntimeException {}
}
