package dev.clif.cli;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import dev.clif.io.SafetensorsTest;

class CliTest {
    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @TestFactory
    Stream<DynamicTest> inspectRefusesEveryMalformedFileWithOneLineAndExit2() {
        Map<Path, String> corpus = SafetensorsTest.corpus();
        return corpus.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey().getFileName().toString(), () -> {
            CliRun r = run("inspect", e.getKey().toString());
            assertEquals("", r.out(), "nothing on stdout for a bad file");
            r.assertOneLineExit2(e.getValue());
        }));
    }

    @Test
    void inspectListsTensorsOfAFile() {
        Path f = Path.of(TestData.golden(), "cases/unet_forward.safetensors");
        Assertions.assertTrue(Files.exists(f));
        CliRun r = run("inspect", f.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("latents") && r.out().contains("[2, 4, 16, 16]") && r.out().contains("8 tensors"), r.out());
    }

    @Test
    void inspectDescribesAModelFolder() {
        Path d = Path.of(TestData.golden(), "tiny-sd");
        Assertions.assertTrue(Files.isDirectory(d));
        CliRun r = run("inspect", d.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("StableDiffusionPipeline with 5 components"), r.out());
        assertTrue(r.out().contains("2,164,452 parameters in 494 tensors"), r.out());
    }

    @Test
    void missingPathsAndPickledWeightsAreOneLineErrors(@TempDir Path tmp) throws Exception {
        CliRun missing = run("inspect", tmp.resolve("nope").toString());
        assertEquals(2, missing.exit());
        assertEquals(1, missing.err().lines().count(), missing.err());
        Path unet = Files.createDirectories(tmp.resolve("unet"));
        Files.writeString(unet.resolve("config.json"), "{\"_class_name\": \"UNet2DConditionModel\"}");
        Files.write(unet.resolve("diffusion_pytorch_model.bin"), new byte[] {1, 2, 3});
        CliRun pickled = run("inspect", unet.toString());
        assertEquals(2, pickled.exit());
        assertTrue(pickled.err().contains("never unpickles"), pickled.err());
        assertEquals(1, pickled.err().lines().count());
    }

    @Test
    void unknownOptionsExit2() {
        CliRun r = run("inspect", "--bogus", "x");
        assertEquals(2, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    @Test
    void versionNamesLibtorchAndTheLibrary() {
        CliRun r = run("--version");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("libtorch 1.") || r.out().contains("libtorch 2."), r.out());
        assertTrue(r.out().contains("CUDA: "), r.out());
        assertTrue(r.out().contains("native library: /"), r.out());
    }

    @Test
    void generateWritesAPngAndTheSameSeedGivesTheSameBytes(@TempDir Path tmp) throws Exception {
        Path model = Path.of(TestData.golden(), "tiny-sd");
        Assertions.assertTrue(Files.isDirectory(model));
        String[] args = {"generate", "--model", model.toString(), "--prompt", "a red car", "--steps", "4", "--seed", "11"};
        CliRun a = run(concat(args, "--out", tmp.resolve("a.png").toString()));
        CliRun b = run(concat(args, "--out", tmp.resolve("b.png").toString()));
        CliRun c = run("generate", "--model", model.toString(), "--prompt", "a red car", "--steps", "4", "--seed", "12",
                "--out", tmp.resolve("c.png").toString());
        assertEquals(0, a.exit(), a.err());
        assertEquals(0, b.exit(), b.err());
        byte[] png = Files.readAllBytes(tmp.resolve("a.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals("PNG", new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(-1, Files.mismatch(tmp.resolve("a.png"), tmp.resolve("b.png")), "same seed, different bytes");
        assertNotEquals(-1, Files.mismatch(tmp.resolve("a.png"), tmp.resolve("c.png")), "another seed gave the same image");
        javax.imageio.ImageIO.read(tmp.resolve("a.png").toFile()).getRGB(0, 0);
    }

    @Test
    void generateRefusesBadOptionsInOneLine(@TempDir Path tmp) {
        Path model = Path.of(TestData.golden(), "tiny-sd");
        Assertions.assertTrue(Files.isDirectory(model));
        for (String[] extra : new String[][] {{"--size", "33x32"}, {"--size", "big"}, {"--scheduler", "dpm"}, {"--steps", "0"},
                {"--dtype", "fp16"}}) {
            CliRun r = run(concat(new String[] {"generate", "--model", model.toString(), "--prompt", "x", "--out",
                    tmp.resolve("x.png").toString()}, extra));
            assertEquals(2, r.exit(), String.join(" ", extra) + ": " + r.err());
            assertEquals(1, r.err().lines().filter(l -> l.startsWith("clif: ")).count(), r.err());
            assertFalse(Files.exists(tmp.resolve("x.png")), "no output file on failure");
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
