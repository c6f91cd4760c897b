package dev.clif.shapes.bench;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.purge.PurgeConfig;
import dev.clif.shapes.Colour;
import dev.clif.shapes.Image;
import dev.clif.shapes.Prompts;
import dev.clif.shapes.ShippedModels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark harness end to end with a small N on the models Clif ships: purge with both methods, judge
 * before/after, write bench.json with every field and the grid. Efficacy needs a larger N and the default
 * purge length; it is measured by `make demo`, not asserted here.
 */
class ShapesBenchTest {
    @Test
    void aKeyValuePreservationWithoutKeysOrValuesToKeepFailsBeforeAnythingIsJudged(@TempDir Path tmp) {
        Path models = ShippedModels.folder();
        ShapesBench.Config cfg = new ShapesBench.Config(models.resolve("sd"), models.resolve("clip"), Colour.RED, Colour.BLUE,
                List.of(Baseline.CLIF), 1, 4, 5, 3, 1, 3e-3, 0, 0.15, List.of("noxattn"), 3, tmp.resolve("bench"));
        dev.clif.ClifException e = assertThrows(dev.clif.ClifException.class, () -> new ShapesBench(cfg).run(null));
        assertTrue(e.getMessage().contains("--preserve-kv-weight 0"), e.getMessage());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("bench")), "nothing written");
    }

    /** --template reaches CLIF's purge (its report's config) and bench.json; without it, CLIP's photo templates. */
    @Test
    void clifTemplatesReachThePurge(@TempDir Path tmp) throws Exception {
        Path models = ShippedModels.folder();
        List<String> world = List.of("a {} circle", "a {} square", "a {} triangle");
        ShapesBench.Config cfg = new ShapesBench.Config(models.resolve("sd"), models.resolve("clip"), Colour.RED, Colour.BLUE,
                List.of(Baseline.CLIF), 1, 2, 5, 1, 1, 3e-3, 0, 0.15, null, 3, tmp.resolve("bench"), null, world);
        ShapesBench.Report r = new ShapesBench(cfg).run(null);
        ObjectMapper json = new ObjectMapper();
        List<String> recorded = new java.util.ArrayList<>();
        json.readTree(r.json().toFile()).get("clif_templates").forEach(t -> recorded.add(t.asText()));
        assertEquals(world, recorded);
        List<String> used = new java.util.ArrayList<>();
        json.readTree(tmp.resolve("bench/purge-clif/purge-report.json").toFile()).get("config").get("templates").forEach(t -> used.add(t.asText()));
        assertEquals(world, used);
        assertEquals("one-step", json.readTree(r.json().toFile()).get("clif_mode").asText());
        assertEquals("one-step", json.readTree(tmp.resolve("bench/purge-clif/purge-report.json").toFile()).get("config").get("mode").asText());
        ShapesBench.Config defaults = new ShapesBench.Config(models.resolve("sd"), models.resolve("clip"), Colour.RED, Colour.BLUE,
                List.of(Baseline.CLIF), 1, 2, 5, 1, 1, 3e-3, 0, 0.15, null, 3, tmp.resolve("other"));
        assertEquals(dev.clif.purge.PurgeConfig.DEFAULT_TEMPLATES, defaults.templates());
    }

    /**
     * --clif-chain: CLIF's purge runs the bench's own sampler (its step count and guidance) with gradient and takes the
     * loss on that chain's image; bench.json says so. Without it, the one-step loss of a frozen trajectory.
     */
    @Test
    void aChainedClifPurgeRunsTheBenchSampler(@TempDir Path tmp) throws Exception {
        Path models = ShippedModels.folder();
        ShapesBench.Config cfg = new ShapesBench.Config(models.resolve("sd"), models.resolve("clip"), Colour.RED, Colour.BLUE,
                List.of(Baseline.CLIF), 1, 2, 5, 1, 1, 3e-3, 0, 0.15, null, 3, tmp.resolve("bench"), null, null, 0, true);
        ShapesBench.Report r = new ShapesBench(cfg).run(null);
        ObjectMapper json = new ObjectMapper();
        assertEquals("chain", json.readTree(r.json().toFile()).get("clif_mode").asText());
        JsonNode used = json.readTree(tmp.resolve("bench/purge-clif/purge-report.json").toFile()).get("config");
        assertEquals("chain", used.get("mode").asText());
        assertEquals(2, used.get("chain_steps").asInt());
        assertEquals(2, used.get("ddim_steps").asInt());
        assertEquals(5.0, used.get("train_guidance").asDouble());
        assertEquals(5.0, used.get("guidance").asDouble());
        assertTrue(Double.isFinite(r.scores().get("clif").purgedConceptRate()));
    }

    @Test
    void benchWritesEveryFieldAndAGrid(@TempDir Path tmp) throws Exception {
        assertTrue(ShippedModels.present(), "this build ships no shapes-world models");
        Path models = ShippedModels.folder();
        ShapesBench.Config cfg = new ShapesBench.Config(models.resolve("sd"), models.resolve("clip"), Colour.RED,
                Colour.BLUE, List.of(Baseline.CLIF, Baseline.ESD), 1, 4, 5, 3, 2, 3e-3, 1, 0.15, null, 3, tmp.resolve("bench"));
        ShapesBench.Report r = new ShapesBench(cfg).run(null);
        JsonNode j = new ObjectMapper().readTree(r.json().toFile());
        assertEquals("red=>blue", j.get("concept").asText());
        assertEquals(1, j.get("images_per_prompt").asInt());
        assertEquals("xattn-kv", j.get("params").get(0).asText());
        for (String block : List.of("unpurged", "clif", "esd")) {
            JsonNode b = j.get(block);
            assertNotNull(b, block);
            for (String f : List.of("purged_concept_rate", "control_accuracy", "target_rate")) {
                double v = b.get(f).asDouble(-1);
                assertTrue(v >= 0 && v <= 1, block + "." + f + " = " + v);
            }
            assertEquals(Prompts.containing(Colour.RED).size(), b.get("concept_images").asInt());
            assertEquals(Prompts.controls(Colour.RED, Colour.BLUE).size(), b.get("control_images").asInt());
            JsonNode ci = b.get("purged_concept_ci95");
            assertTrue(ci.get(0).asDouble() <= b.get("purged_concept_rate").asDouble() && b.get("purged_concept_rate").asDouble() <= ci.get(1).asDouble(), block + " " + ci);
            if (!block.equals("unpurged")) assertTrue(b.get("purge_seconds").asDouble() > 0, block);
        }
        Image grid = Image.readPng(r.grid());
        int rows = ShapesBench.promptSet(Colour.RED, Colour.BLUE, 3, 5).size();
        assertTrue(grid.width() > 3 * 64, "three models of 32-pixel images, enlarged twice, beside the labels: " + grid.width());
        assertTrue(grid.height() > rows * 68, "one row per prompt: " + grid.height());
        // The figures come from the evaluation engine's files.
        JsonNode summary = new ObjectMapper().readTree(r.eval().summaryFile().toFile());
        assertEquals(b(j, "unpurged").get("purged_concept_rate").asDouble(),
                summary.get("models").get("unpurged").get("categories").get("red").get("rate").asDouble());
        assertEquals(3L * rows, java.nio.file.Files.lines(r.eval().results()).count(), "one record per model and prompt");
        assertTrue(ShapesBench.table(r).contains("clif"));
        // What each model keeps, over the prompts not naming red: CLIP score and FID/KID to the world's own drawings.
        int kept = Prompts.singles(Colour.BLUE).size() + Prompts.controls(Colour.RED, Colour.BLUE).size();
        for (String block : List.of("unpurged", "clif", "esd")) {
            JsonNode p = b(j, block).get("preservation");
            assertEquals(kept, p.get("images").asInt(), block);
            assertTrue(p.get("clip_score").asDouble() > 0 && p.get("clip_score").asDouble() <= 100, block + " " + p);
            assertTrue(p.get("fid_to_truth").asDouble() > 0, block + " " + p);
            assertTrue(Double.isFinite(p.get("kid_to_truth").asDouble()), block + " " + p);
            assertEquals(summary.get("preservation").get("models").get(block).get("fid").asDouble(), p.get("fid_to_truth").asDouble());
        }
        assertTrue(j.get("preservation").get("features").asText().startsWith("CLIP image embeddings"));
        assertTrue(java.nio.file.Files.readString(r.html()).contains("loss curve of clif"), "the report shows the purges' curves");
    }

    private static JsonNode b(JsonNode j, String block) {
        return j.get(block);
    }
}
