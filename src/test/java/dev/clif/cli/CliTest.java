package dev.clif.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import dev.clif.io.SafetensorsTest;
import picocli.CommandLine;

class CliTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @TestFactory
    Stream<DynamicTest> inspectRefusesEveryMalformedFileWithOneLineAndExit2() {
        Map<Path, String> corpus = SafetensorsTest.corpus();
        return corpus.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey().getFileName().toString(), () -> {
            Run r = run("inspect", e.getKey().toString());
            assertEquals(2, r.exit(), r.err());
            assertEquals("", r.out(), "nothing on stdout for a bad file");
            assertEquals(1, r.err().lines().count(), "one line: " + r.err());
            assertTrue(r.err().startsWith("clif: ") && r.err().contains(e.getValue()), r.err());
        }));
    }

    @Test
    void inspectListsTensorsOfAFile() {
        Path f = Path.of(System.getProperty("clif.golden", "../shared/golden"), "cases/unet_forward.safetensors");
        Assumptions.assumeTrue(Files.exists(f));
        Run r = run("inspect", f.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("latents") && r.out().contains("[2, 4, 16, 16]") && r.out().contains("8 tensors"), r.out());
    }

    @Test
    void inspectDescribesAModelFolder() {
        Path d = Path.of(System.getProperty("clif.golden", "../shared/golden"), "tiny-sd");
        Assumptions.assumeTrue(Files.isDirectory(d));
        Run r = run("inspect", d.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("StableDiffusionPipeline with 5 components"), r.out());
        assertTrue(r.out().contains("2,164,452 parameters in 494 tensors"), r.out());
    }

    @Test
    void missingPathsAndPickledWeightsAreOneLineErrors(@TempDir Path tmp) throws Exception {
        Run missing = run("inspect", tmp.resolve("nope").toString());
        assertEquals(2, missing.exit());
        assertEquals(1, missing.err().lines().count(), missing.err());
        Path unet = Files.createDirectories(tmp.resolve("unet"));
        Files.writeString(unet.resolve("config.json"), "{\"_class_name\": \"UNet2DConditionModel\"}");
        Files.write(unet.resolve("diffusion_pytorch_model.bin"), new byte[] {1, 2, 3});
        Run pickled = run("inspect", unet.toString());
        assertEquals(2, pickled.exit());
        assertTrue(pickled.err().contains("never unpickles"), pickled.err());
        assertEquals(1, pickled.err().lines().count());
    }

    @Test
    void unknownOptionsExit2() {
        Run r = run("inspect", "--bogus", "x");
        assertEquals(2, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    @Test
    void versionNamesLibtorchAndTheLibrary() {
        Run r = run("--version");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("libtorch 1.") || r.out().contains("libtorch 2."), r.out());
        assertTrue(r.out().contains("CUDA: "), r.out());
        assertTrue(r.out().contains("native library: /"), r.out());
    }
}
