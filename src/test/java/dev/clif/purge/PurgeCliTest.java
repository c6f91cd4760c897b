package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.cli.CliRun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;


/** `clif purge` and `clif apply-delta`: a short happy path, and one line + exit 2 for each kind of bad input. */
class PurgeCliTest {

    @TempDir
    Path tmp;

    @BeforeEach
    void needGolden() {
        Assertions.assertTrue(Files.isDirectory(PurgerTest.SD) && Files.isDirectory(PurgerTest.CLIP));
    }

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    List<String> purge(String out, String... extra) {
        List<String> a = new ArrayList<>(List.of("purge", "--model", PurgerTest.SD.toString(), "--clip", PurgerTest.CLIP.toString(),
                "--out", tmp.resolve(out).toString(), "--ddim-steps", "2"));
        a.addAll(List.of(extra));
        if (!a.contains("--concept")) a.addAll(List.of("--concept", "red car=>blue car"));
        return a;
    }

    static void assertOneLineExit2(CliRun r, String expected) {
        r.assertOneLineExit2(expected);
    }

    /** The shipped shapes models by name on both sides: --model shapes and the loss model --clip shapes-clip. */
    @Test
    void shapesAliasesForTheModelAndTheLossClip() throws IOException {
        CliRun r = run("purge", "--model", "shapes", "--clip", "shapes-clip", "--concept", "red=>blue", "--steps", "1",
                "--out", tmp.resolve("shapes").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.isRegularFile(tmp.resolve("shapes/delta.safetensors")), r.out());
    }

    @Test
    void ucePurgeFromTheCommandLineNeedsNoLossClip() throws IOException {
        Path keep = tmp.resolve("keep.txt");
        Files.writeString(keep, "a green tree\na photo of a dog\n");
        CliRun r = run("purge", "--model", PurgerTest.SD.toString(), "--concept", "red car=>blue car", "--method", "uce",
                "--preserve", keep.toString(), "--uce-preserve-scale", "1", "--out", tmp.resolve("uce").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.isRegularFile(tmp.resolve("uce/delta.safetensors")) && Files.isRegularFile(tmp.resolve("uce/purge-report.json")));
        assertTrue(Files.isRegularFile(tmp.resolve("uce/model").resolve(PurgerTest.UNET_FILE)));
        assertFalse(r.out().contains("loss curve"), r.out());
        assertOneLineExit2(run("purge", "--model", PurgerTest.SD.toString(), "--concept", "a=>b", "--method", "uce", "--uce-ridge", "-1",
                "--out", tmp.resolve("u2").toString()), "--uce-ridge must be 'auto' or a number >= 0");
        assertOneLineExit2(run("purge", "--model", PurgerTest.SD.toString(), "--concept", "a=>b", "--method", "uce", "--preserve", keep.toString(),
                "--preserve-weight", "1", "--out", tmp.resolve("u3").toString()), "--uce-preserve-scale, not --preserve-weight");
        assertOneLineExit2(run("purge", "--model", PurgerTest.SD.toString(), "--concept", "a=>b", "--out", tmp.resolve("u4").toString()),
                "needs the loss CLIP (--clip DIR)");
    }

    @Test
    void purgeThenApplyDelta() throws IOException {
        CliRun r = run(purge("run", "--steps", "2", "--batch", "1", "--seed", "3").toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        Path model = tmp.resolve("run/model");
        assertTrue(Files.isRegularFile(model.resolve(PurgerTest.UNET_FILE)));
        assertTrue(r.out().contains("delta: "), r.out());
        CliRun a = run("apply-delta", "--model", PurgerTest.SD.toString(), "--delta", tmp.resolve("run/delta.safetensors").toString(),
                "--out", tmp.resolve("rebuilt").toString());
        assertEquals(0, a.exit(), a.err());
        for (String f : PurgerTest.tree(model))
            assertArrayEquals(Files.readAllBytes(model.resolve(f)), Files.readAllBytes(tmp.resolve("rebuilt").resolve(f)), f);
        // a delta for another base: one line, exit 2
        CliRun wrong = run("apply-delta", "--model", model.toString(), "--delta", tmp.resolve("run/delta.safetensors").toString(),
                "--out", tmp.resolve("wrong").toString());
        assertOneLineExit2(wrong, "another base model");
        // an output folder that exists (and is not empty)
        assertOneLineExit2(run(purge("run", "--steps", "1").toArray(String[]::new)), "already exists");
    }

    @Test
    void malformedConcept() {
        assertOneLineExit2(run(purge("x", "--concept", "nudity").toArray(String[]::new)), "malformed");
        assertOneLineExit2(run(purge("x", "--concept", "nudity=>").toArray(String[]::new)), "target");
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void keyValuePreservationNeedsBenignPrompts() {
        assertOneLineExit2(run(purge("x", "--preserve-kv-weight", "1").toArray(String[]::new)), "--preserve-kv-weight needs --preserve FILE");
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void unknownPresetAndEmptyGlob() {
        assertOneLineExit2(run(purge("x", "--params", "attention").toArray(String[]::new)), "unknown parameter preset");
        assertOneLineExit2(run(purge("y", "--params", "*.attn9.*").toArray(String[]::new)), "matches no UNet parameter");
        assertFalse(Files.exists(tmp.resolve("x")), "nothing written for a refused purge");
    }

    @Test
    void lossModelWithoutVisionTower() throws IOException {
        Path textOnly = Files.createDirectories(tmp.resolve("text-only-clip"));
        Files.writeString(textOnly.resolve("config.json"), "{\"architectures\": [\"CLIPTextModel\"], \"text_config\": {}}");
        List<String> a = purge("x");
        a.set(a.indexOf("--clip") + 1, textOnly.toString());
        assertOneLineExit2(run(a.toArray(String[]::new)), "no vision tower");
    }

    @Test
    void otherBadInputs() throws IOException {
        assertOneLineExit2(run(purge("x", "--dtype", "fp16", "--device", "cpu").toArray(String[]::new)), "needs a CUDA device");
        assertOneLineExit2(run(purge("x", "--mode", "sideways").toArray(String[]::new)), "unknown mode");
        assertOneLineExit2(run(purge("x", "--resume").toArray(String[]::new)), "no checkpoint");
        assertOneLineExit2(run(purge("x", "--prompts", tmp.resolve("none.txt").toString()).toArray(String[]::new)), "none.txt");
        assertOneLineExit2(run(purge("x", "--preserve-weight", "0.5").toArray(String[]::new)), "--preserve");
        Path out = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(out.resolve("something"), "x");
        assertOneLineExit2(run(purge("full").toArray(String[]::new)), "already exists");
        assertOneLineExit2(run("apply-delta", "--model", PurgerTest.SD.toString(), "--delta", tmp.resolve("nope.safetensors").toString(),
                "--out", tmp.resolve("o").toString()), "no such delta");
    }
}
