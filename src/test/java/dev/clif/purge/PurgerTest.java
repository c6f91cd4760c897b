package dev.clif.purge;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.io.SafetensorsFile;
import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * End to end on tiny-sd + tiny-clip (CPU): one 40-step purge shared by the tests that inspect its outputs.
 */
class PurgerTest {
    static final Path GOLDEN = Path.of(TestData.golden());
    static final Path SD = GOLDEN.resolve("tiny-sd");
    static final Path CLIP = GOLDEN.resolve("tiny-clip");
    static final String UNET_FILE = "unet/diffusion_pytorch_model.safetensors";

    static Path tmp;
    static PurgeResult result;

    /**
     * The purge the tests share: the default objective and parameters, short DDIM trajectories to stay fast, and
     * lr 1e-3: the tiny random models' image embeddings barely move at the real-model default 1e-5 within 40
     * steps (they stay within the loss's tie-break band, see PurgeConfig.DEFAULT_LR).
     */
    static PurgeConfig.Builder tiny(Path out) {
        return PurgeConfig.builder().concept("red car=>blue car").ddimSteps(4).batch(1).seed(7).lr(1e-3).checkpointEvery(50)
                .outputDir(out);
    }

    @BeforeAll
    static void purge() throws IOException {
        Assertions.assertTrue(Files.isDirectory(SD) && Files.isDirectory(CLIP), "golden tiny models not found");
        tmp = Files.createTempDirectory("clif-purge-test");
        PurgeConfig cfg = tiny(tmp.resolve("run")).steps(40).build();
        result = new Purger(cfg, SD, CLIP).run(null);
        double first = result.meanLoss(0, 10), last = result.meanLoss(30, 40);
        double perStep = result.history().stream().mapToDouble(PurgeListener.StepEvent::stepSeconds).average().orElse(0);
        System.out.printf("40-step purge: mean loss first 10 = %.4f, last 10 = %.4f; %.3f s/step; wall %.1f s%n", first, last, perStep,
                result.wallSeconds());
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (tmp != null) PurgedModel.deleteTree(tmp);
    }

    @Test
    void lossFallsOverFortySteps() {
        double first = result.meanLoss(0, 10), last = result.meanLoss(30, 40);
        assertEquals(40, result.history().size());
        assertTrue(last < first - 0.2, "mean loss of the last 10 steps " + last + " should be clearly below the first 10's " + first);
        for (PurgeListener.StepEvent e : result.history()) assertTrue(Double.isFinite(e.loss()) && Double.isFinite(e.gradNorm()));
    }

    @Test
    void onlyTheSelectedTensorsDiffer() {
        List<String> changed = new ArrayList<>();
        try (SafetensorsFile base = SafetensorsFile.open(SD.resolve(UNET_FILE));
             SafetensorsFile purged = SafetensorsFile.open(result.modelDir().resolve(UNET_FILE))) {
            assertEquals(base.names(), purged.names());
            for (String n : base.names()) {
                byte[] a = base.bytes(n).toArray(ValueLayout.JAVA_BYTE);
                byte[] b = purged.bytes(n).toArray(ValueLayout.JAVA_BYTE);
                assertEquals(base.info(n).dtype(), purged.info(n).dtype());
                assertArrayEquals(base.info(n).shape(), purged.info(n).shape());
                if (!Arrays.equals(a, b)) changed.add(n);
            }
        }
        List<String> kv = result.trainableParameters();
        assertEquals(22, kv.size());
        for (String n : kv) assertTrue(n.endsWith(".attn2.to_k.weight") || n.endsWith(".attn2.to_v.weight"), n);
        assertEquals(kv.stream().sorted().toList(), changed.stream().sorted().toList(), "exactly the trained tensors change");
    }

    @Test
    void unchangedComponentsAreCopiedByteForByte() throws IOException {
        for (String f : List.of("model_index.json", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                "tokenizer/vocab.json", "scheduler/scheduler_config.json", "unet/config.json"))
            assertArrayEquals(Files.readAllBytes(SD.resolve(f)), Files.readAllBytes(result.modelDir().resolve(f)), f);
    }

    @Test
    void savedFolderLoadsAndGenerates() {
        try (StableDiffusion sd = StableDiffusion.load(result.modelDir(), Device.CPU, DType.F32);
             Txt2Img.Result r = new Txt2Img(sd).generate(Txt2Img.Request.of("a photo of a red car", 2, 1, 32), null)) {
            assertArrayEquals(new long[] {1, 3, 32, 32}, r.images().shape());
            assertTrue(r.images().allFinite());
        }
    }

    @Test
    void reportDeltaAndCurveAreWritten() throws IOException {
        JsonNode report = new ObjectMapper().readTree(result.report().toFile());
        assertEquals(40, report.get("steps").size());
        assertEquals("red car", report.get("config").get("concepts").get(0).get("source").asText());
        for (String k : List.of("loss", "grad_norm", "step_seconds", "peak_device_memory"))
            assertTrue(report.get("steps").get(0).has(k), k);
        assertTrue(report.get("wall_seconds").asDouble() > 0);
        try (SafetensorsFile delta = SafetensorsFile.open(result.delta())) {
            assertEquals(result.trainableParameters().stream().sorted().toList(), delta.names().stream().sorted().toList());
            assertEquals(result.baseFingerprint(), delta.metadata().get("base_unet_sha256"));
            assertEquals(PurgedModel.fingerprint(SD), result.baseFingerprint());
            assertEquals("40", delta.metadata().get("steps"));
            assertTrue(delta.metadata().get("concepts").contains("blue car"));
            assertTrue(delta.metadata().containsKey("config") && delta.metadata().containsKey("clif_version"));
        }
        byte[] png = Files.readAllBytes(result.lossCurve());
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
    }

    @Test
    void applyDeltaRebuildsTheFolderByteForByte() throws IOException {
        Path rebuilt = tmp.resolve("rebuilt");
        PurgedModel.applyDelta(SD, result.delta(), rebuilt);
        assertEquals(tree(result.modelDir()), tree(rebuilt));
        for (String f : tree(rebuilt))
            assertArrayEquals(Files.readAllBytes(result.modelDir().resolve(f)), Files.readAllBytes(rebuilt.resolve(f)), f);
    }

    @Test
    void applyDeltaRefusesAnotherBase() throws IOException {
        // another base: the purged folder itself (its UNet differs from tiny-sd's)
        ClifException e = assertThrows(ClifException.class,
                () -> PurgedModel.applyDelta(result.modelDir(), result.delta(), tmp.resolve("wrong")));
        assertTrue(e.getMessage().contains("another base model"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("wrong")));
    }

    @Test
    void anExistingOutputFolderIsRefusedWithoutResume() {
        ClifException e = assertThrows(ClifException.class, () -> new Purger(tiny(result.modelDir().getParent()).steps(1).build(), SD, CLIP));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }

    @Test
    void chainModeEsdAndPreservationRun() throws IOException {
        Path benign = tmp.resolve("benign.txt");
        Files.writeString(benign, "a photo of a tree\na photo of a house\n");
        PurgeResult chain = new Purger(tiny(tmp.resolve("chain")).steps(2).mode(PurgeConfig.Mode.CHAIN).chainSteps(2).trainGuidance(2)
                .preserve(benign, 0.5).build(), SD, CLIP).run(null);
        PurgeResult esd = new Purger(tiny(tmp.resolve("esd")).steps(2).method(PurgeConfig.Method.ESD).params("noxattn").build(), SD, CLIP)
                .run(null);
        for (PurgeResult r : List.of(chain, esd)) {
            assertEquals(2, r.history().size());
            for (PurgeListener.StepEvent e : r.history())
                assertTrue(Double.isFinite(e.loss()) && e.gradNorm() > 0 && Double.isFinite(e.gradNorm()), e.toString());
        }
        assertTrue(chain.history().get(1).preserveLoss() > 0, "θ moved, so the preservation MSE is positive at step 2");
        PurgeResult kv = new Purger(tiny(tmp.resolve("kv")).steps(2).preserve(benign, 0).preserveKv(3).build(), SD, CLIP).run(null);
        assertEquals(0.0, kv.history().get(0).preserveLoss(), "θ = θ0 at step 1: the benign keys and values are untouched");
        assertTrue(kv.history().get(1).preserveLoss() > 0, "θ moved at step 1, so the key/value penalty is positive at step 2");
        assertEquals(kv.history().get(1).objectiveLoss() + kv.history().get(1).preserveLoss(), kv.history().get(1).loss(), 1e-12);
        ClifException e = assertThrows(ClifException.class, () -> new Purger(tiny(tmp.resolve("kv-none")).steps(1).params("noxattn")
                .preserve(benign, 0).preserveKv(1).build(), SD, CLIP).run(null));
        assertTrue(e.getMessage().contains("trains no attn2.to_k or attn2.to_v"), e.getMessage());
        assertTrue(esd.trainableParameters().stream().noneMatch(n -> n.contains(".attn2.")));
    }

    static List<String> tree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).sorted().toList();
        }
    }
}
