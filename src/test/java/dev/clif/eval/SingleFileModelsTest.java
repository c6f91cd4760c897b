package dev.clif.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.model.ClipTextConfig;
import dev.clif.model.UNetConfig;
import dev.clif.model.VaeConfig;
import dev.clif.sampling.Scheduler;
import dev.clif.sampling.SchedulerConfig;
import dev.clif.shapes.ShippedModels;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The standard configs a single file without --config gets: SD-1.5's, SD-2.1's (768-v) and SDXL base's, as Clif reads them. */
class SingleFileModelsTest {
    private static Path write(String family, Path dir) throws Exception {
        for (String f : family.equals("sdxl") ? SingleFileModels.XL_CONFIG_FILES : SingleFileModels.CONFIG_FILES) {
            Path p = dir.resolve(family).resolve(f);
            Files.createDirectories(p.getParent());
            Files.write(p, SingleFileModels.builtin(family, f));
        }
        return dir.resolve(family);
    }

    @Test
    void sd1ConfigsAreSd15s(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(ShippedModels.present(), "the tokenizer comes with the shapes models");
        Path d = write("sd1", tmp);
        assertEquals(UNetConfig.v1_5(), UNetConfig.parse(Files.readString(d.resolve("unet/config.json")), "UNetConfig.v1_5()"));
        assertEquals(ClipTextConfig.sd15(), ClipTextConfig.read(d.resolve("text_encoder/config.json")));
        assertEquals(VaeConfig.sd(), VaeConfig.read(d.resolve("vae/config.json")));
        try (Scheduler s = Scheduler.fromFolder(d.resolve("scheduler"))) {
            assertEquals("pndm", s.kind());
            assertEquals("epsilon", s.config().predictionType());
        }
        ClipTokenizer tok = ClipTokenizer.load(d.resolve("tokenizer"));
        assertArrayEquals(new long[] {49406, 320, 1125, 1125, 49407}, java.util.Arrays.copyOf(tok.encodeBatch(List.of("a photo photo"))[0], 5));
    }

    @Test
    void sd2ConfigsAreSd21s(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(ShippedModels.present(), "the tokenizer comes with the shapes models");
        Path d = write("sd2", tmp);
        assertEquals(UNetConfig.v2_1(), UNetConfig.parse(Files.readString(d.resolve("unet/config.json")), "UNetConfig.v2_1()"));
        assertEquals(ClipTextConfig.sd21(), ClipTextConfig.read(d.resolve("text_encoder/config.json")));
        SchedulerConfig sc = SchedulerConfig.read(d.resolve("scheduler"));
        assertEquals("v_prediction", sc.predictionType());
        try (Scheduler s = Scheduler.fromFolder(d.resolve("scheduler"))) {
            assertEquals("ddim", s.kind());
        }
        ClipTokenizer tok = ClipTokenizer.load(d.resolve("tokenizer"));
        long[] ids = tok.encodeBatch(List.of("a"))[0];
        assertEquals(49407, ids[2]);
        assertEquals(0, ids[3], "SD 2.x pads with '!' (id 0)");
    }

    @Test
    void sdxlConfigsAreSdxlBases(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(ShippedModels.present(), "the tokenizer comes with the shapes models");
        Path d = write("sdxl", tmp);
        UNetConfig unet = UNetConfig.parse(Files.readString(d.resolve("unet/config.json")), "UNetConfig.xl()");
        assertEquals(UNetConfig.xl(), unet);
        assertTrue(dev.clif.sampling.StableDiffusion.isXlFolder(d));
        ClipTextConfig t1 = ClipTextConfig.read(d.resolve("text_encoder/config.json"));
        ClipTextConfig t2 = ClipTextConfig.read(d.resolve("text_encoder_2/config.json"));
        assertEquals(2048, t1.hiddenSize() + t2.hiddenSize());
        assertEquals(2816, 6 * unet.additionTimeEmbedDim() + t2.projectionDim());
        assertTrue(dev.clif.model.ClipTextEncoder.namesProjection(d.resolve("text_encoder_2/config.json")));
        assertEquals(0.13025, VaeConfig.read(d.resolve("vae/config.json")).scalingFactor(), 0);
        try (Scheduler s = Scheduler.fromFolder(d.resolve("scheduler"))) {
            assertEquals("euler", s.kind());
        }
        long[] one = ClipTokenizer.load(d.resolve("tokenizer")).encodeBatch(List.of("a"))[0];
        long[] two = ClipTokenizer.load(d.resolve("tokenizer_2")).encodeBatch(List.of("a"))[0];
        assertEquals(49407, one[3], "the first tokenizer pads with <|endoftext|>");
        assertEquals(0, two[3], "the second pads with '!' (id 0), as SDXL's tokenizer_2");
    }
}
