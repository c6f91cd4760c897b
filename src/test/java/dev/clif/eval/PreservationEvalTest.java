package dev.clif.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.eval.scorers.ClipScoreScorer;
import dev.clif.io.RgbImage;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.Device;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CLIP score and FID/KID through the engine on the shipped shapes model, checked against the metrics run by hand. */
class PreservationEvalTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path captions(Path dir) throws Exception {
        return Files.writeString(dir.resolve("captions.txt"), """
                a red circle
                a blue square and a green triangle
                a yellow triangle
                a green circle
                a blue circle and a red square
                a yellow square
                """);
    }

    static EvalConfig.Builder config(Path captions, Path out, String reference) {
        return EvalConfig.builder().model("base=shapes").model("twin=shapes").clip(Path.of("shapes-clip"))
                .preservation(new EvalConfig.PreservationConfig(captions, null, 0, null, reference, null))
                .imagesPerPrompt(2).steps(10).guidance(5.0).batch(4).out(out).bootstrap(200, 0);
    }

    @Test
    void captionsGiveClipScoresAndFidKidToTheShapesTruth(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("eval");
        Evaluation.Report r = new Evaluation(config(captions(tmp), out, Preservation.SHAPES_TRUTH).build()).run(null);
        Preservation p = r.preservation();
        assertEquals(List.of(CaptionSetReader.CATEGORY), p.categories());
        assertTrue(p.features().startsWith("CLIP image embeddings, shapes-clip"), p.features());
        Preservation.ModelPreservation base = p.models().get("base"), twin = p.models().get("twin");
        assertEquals(12, base.images());
        assertEquals(12, base.referenceImages());
        // The two models are the same weights on the same seeds: the same images, so the same figures.
        assertEquals(base.clipScore().value(), twin.clipScore().value(), 1e-12);
        assertEquals(base.fid(), twin.fid(), 1e-9);

        // By hand: the images read back, the truth drawn, the features, the metrics.
        List<ResultRecord> recs = ResultsLog.read(r.results()).stream().filter(x -> x.model().equals("base")).toList();
        List<RgbImage> images = new ArrayList<>(), truth = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (ResultRecord x : recs) {
            images.add(RgbImage.read(out.resolve(x.image())));
            prompts.add(x.prompt());
            ShapesWorld w = new ShapesWorld(x.width());
            dev.clif.shapes.Image t = w.render(w.scene(x.prompt(), x.seed()));
            truth.add(new RgbImage(t.width(), t.height(), t.rgb()));
        }
        try (ClipScoreScorer clip = ClipScoreScorer.fromSpec(null, new ScorerContext(ModelAliases.resolve("shapes-clip"), Device.CPU))) {
            double[] pairs = clip.pairScores(images, prompts);
            for (int i = 0; i < pairs.length; i++)
                assertEquals(pairs[i], recs.get(i).scores().get(ClipScoreScorer.NAME).value(), 1e-4, "record " + i);
            assertEquals(ClipScore.metric(pairs), base.clipScore().value(), 1e-4);
            double[][] fi = clip.imageFeatures(images), ft = clip.imageFeatures(truth);
            assertEquals(FrechetDistance.fid(fi, ft), base.fid(), 1e-6);
            assertEquals(KernelDistance.kid(fi, ft, 0).mean(), base.kid().mean(), 1e-9);
        }
        assertTrue(base.clipScore().ci95()[0] <= base.clipScore().value() && base.clipScore().value() <= base.clipScore().ci95()[1]);
        assertTrue(base.fid() > 0);

        JsonNode summary = JSON.readTree(r.summaryFile().toFile());
        JsonNode ps = summary.get("preservation").get("models").get("base");
        assertEquals(base.fid(), ps.get("fid").asDouble(), 1e-12);
        assertEquals(base.clipScore().value(), ps.get("clip_score").get("value").asDouble(), 1e-12);
        assertEquals(12, ps.get("kid").get("subset_size").asInt());
        assertEquals("shapes-truth", summary.get("preservation").get("reference").asText());
        JsonNode manifest = JSON.readTree(r.manifest().toFile()).get("settings");
        assertEquals("reported", manifest.get("scorers").get("clip-score").get("role").asText());
        assertEquals(64, manifest.get("preservation").get("captions").get("sha256").asText().length());
        assertTrue(manifest.get("preservation").get("fid_features").get("features").asText().contains("shapes-clip"));
    }

    @Test
    void fidToAnotherModelOfTheRunIsZeroForTheSameWeights(@TempDir Path tmp) throws Exception {
        Evaluation.Report r = new Evaluation(config(captions(tmp), tmp.resolve("eval"), "model=base").build()).run(null);
        Preservation.ModelPreservation twin = r.preservation().models().get("twin");
        assertEquals(0, twin.fid(), 1e-6);
        assertNull(r.preservation().models().get("base").fid(), "the reference is not compared with itself");
        assertNotNull(r.preservation().models().get("base").clipScore());
    }

    @Test
    void aReferenceFolderAndRefusalsBeforeAnythingIsGenerated(@TempDir Path tmp) throws Exception {
        Path caps = captions(tmp);
        ClifException noModel = assertThrows(ClifException.class, () -> new Evaluation(config(caps, tmp.resolve("a"), "model=nope").build()).run(null));
        assertTrue(noModel.getMessage().contains("no --model named 'nope'"), noModel.getMessage());
        assertFalse(Files.exists(tmp.resolve("a")));
        Path bad = Files.writeString(tmp.resolve("bad.txt"), "a red circle\na purple square\n");
        ClifException notShapes = assertThrows(ClifException.class,
                () -> new Evaluation(config(bad, tmp.resolve("b"), Preservation.SHAPES_TRUTH).build()).run(null));
        assertTrue(notShapes.getMessage().contains("line 2, prompt 1 'a purple square' is not a shapes-world caption"), notShapes.getMessage());
        assertFalse(Files.exists(tmp.resolve("b")));
        ClifException noClip = assertThrows(ClifException.class, () -> new Evaluation(EvalConfig.builder().model("base=shapes")
                .preservation(new EvalConfig.PreservationConfig(caps, null, 0, null, null, null)).out(tmp.resolve("c")).build()).run(null));
        assertTrue(noClip.getMessage().contains("give --clip"), noClip.getMessage());

        // A folder of reference images: the truth drawn at other seeds.
        Path refs = Files.createDirectories(tmp.resolve("refs"));
        ShapesWorld w = new ShapesWorld();
        for (int i = 0; i < 8; i++) Files.write(refs.resolve(String.format("%02d.png", i)),
                new RgbImage(32, 32, w.draw(100 + i).rgb()).pngBytes());
        Evaluation.Report r = new Evaluation(config(caps, tmp.resolve("d"), refs.toString()).imagesPerPrompt(1).build()).run(null);
        assertEquals(8, r.preservation().models().get("base").referenceImages());
        assertTrue(Double.isFinite(r.preservation().models().get("base").fid()));
    }
}
