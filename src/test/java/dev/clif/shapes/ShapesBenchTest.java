package dev.clif.shapes;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.purge.PurgeConfig;

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
    void aControlIsRightOnlyWhenDrawnExactlyAsAsked() {
        List<Part> asked = Part.parse("a green circle");
        java.util.Map<Colour, Double> cov = java.util.Map.of(Colour.GREEN, 0.1);
        assertTrue(ShapesBench.drawsExactly(new Verdict(java.util.Set.of(Colour.GREEN), java.util.Map.of(), cov), asked),
                "green, shape unnamed");
        assertTrue(ShapesBench.drawsExactly(new Verdict(java.util.Set.of(Colour.GREEN), java.util.Map.of(Colour.GREEN, ShapeKind.CIRCLE), cov), asked));
        assertFalse(ShapesBench.drawsExactly(new Verdict(java.util.Set.of(Colour.GREEN), java.util.Map.of(Colour.GREEN, ShapeKind.SQUARE), cov), asked),
                "a confidently named wrong shape");
        assertFalse(ShapesBench.drawsExactly(new Verdict(java.util.Set.of(Colour.GREEN, Colour.BLUE, Colour.YELLOW), java.util.Map.of(), cov), asked),
                "a many-coloured blob contains green but is not a green circle");
        assertFalse(ShapesBench.drawsExactly(new Verdict(java.util.Set.of(), java.util.Map.of(), java.util.Map.of()), asked), "nothing drawn");
    }

    @Test
    void aKeyValuePreservationWithoutKeysOrValuesToKeepFailsBeforeAnythingIsJudged(@TempDir Path tmp) {
        Path models = ShippedModels.folder();
        ShapesBench.Config cfg = new ShapesBench.Config(models.resolve("sd"), models.resolve("clip"), Colour.RED, Colour.BLUE,
                List.of(PurgeConfig.Method.CLIF), 1, 4, 5, 3, 1, 3e-3, 0, 0.15, List.of("noxattn"), 3, tmp.resolve("bench"));
        dev.clif.ClifException e = assertThrows(dev.clif.ClifException.class, () -> new ShapesBench(cfg).run(null));
        assertTrue(e.getMessage().contains("--preserve-kv-weight 0"), e.getMessage());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("bench")), "nothing written");
    }

    @Test
    void benchWritesEveryFieldAndAGrid(@TempDir Path tmp) throws Exception {
        assertTrue(ShippedModels.present(), "this build ships no shapes-world models");
        Path models = ShippedModels.folder();
        ShapesBench.Config cfg = new ShapesBench.Config(models.resolve("sd"), models.resolve("clip"), Colour.RED,
                Colour.BLUE, List.of(PurgeConfig.Method.CLIF, PurgeConfig.Method.ESD), 1, 4, 5, 3, 2, 3e-3, 1, 0.15, null, 3, tmp.resolve("bench"));
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
            if (!block.equals("unpurged")) assertTrue(b.get("purge_seconds").asDouble() > 0, block);
        }
        Image grid = Image.readPng(r.grid());
        assertTrue(grid.width() >= 3 * 32 && grid.height() >= 24 * 32, grid.width() + "x" + grid.height());
        assertTrue(ShapesBench.table(r).contains("clif"));
    }
}
