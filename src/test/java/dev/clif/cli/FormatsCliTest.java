package dev.clif.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.io.SingleFileCheckpoint;
import dev.clif.shapes.ShippedModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** issue 18 on the command line: the new samplers by name, single-file checkpoints in and out, pickles refused. */
class FormatsCliTest {
    private static String previousCache;

    @BeforeAll
    static void privateCache(@TempDir Path cache) {
        previousCache = System.getProperty("clif.cache");
        System.setProperty("clif.cache", cache.toString()); // single-file folders and the source registry
    }

    @AfterAll
    static void restoreCache() {
        if (previousCache == null) System.clearProperty("clif.cache");
        else System.setProperty("clif.cache", previousCache);
    }

    private static Path singleFileRoot() {
        return dev.clif.TestData.goldenPath().resolve("single-file");
    }

    /**
     * sd15-narrow/ as a loadable folder: the golden tree stores its tokenizer/ as a git symlink checked out as a file
     * holding the target ("../../tiny-sd/tokenizer"), so a copy takes that folder in its place.
     */
    private static Path narrowFolder(Path tmp) throws Exception {
        Path src = singleFileRoot().resolve("sd15-narrow");
        Path dst = tmp.resolve("sd15-narrow-folder");
        if (Files.isDirectory(dst)) return dst;
        try (var s = Files.walk(src)) {
            for (Path f : s.toList()) {
                Path rel = src.relativize(f);
                Path to = dst.resolve(rel.toString());
                if (Files.isDirectory(f)) Files.createDirectories(to);
                else if (rel.toString().equals("tokenizer") && Files.size(f) < 200) {
                    Path target = f.resolveSibling(Files.readString(f).trim()).normalize();
                    Files.createDirectories(to);
                    try (var t = Files.list(target)) {
                        for (Path g : t.toList()) Files.copy(g, to.resolve(g.getFileName().toString()));
                    }
                } else Files.copy(f, to);
            }
        }
        return dst;
    }

    @Test
    void generateOnShapesWithDpmpp2mKarrasAndEulerAIsReproducible(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assertions.assertTrue(ShippedModels.present(), "this build ships no shapes models");
        for (String scheduler : List.of("dpmpp-2m-karras", "Euler a")) {
            byte[][] png = new byte[2][];
            for (int i = 0; i < 2; i++) {
                Path out = tmp.resolve(scheduler.replace(' ', '_') + i + ".png");
                CliRun r = CliRun.of("generate", "--model", "shapes", "--prompt", "a red circle", "--steps", "6", "--seed", "5",
                        "--scheduler", scheduler, "--out", out.toString());
                assertEquals(0, r.exit(), r.err());
                png[i] = Files.readAllBytes(out);
            }
            assertArrayEquals(png[0], png[1], scheduler + ": same seed, same bytes");
        }
        Path other = tmp.resolve("other.png");
        assertEquals(0, CliRun.of("generate", "--model", "shapes", "--prompt", "a red circle", "--steps", "6", "--seed", "6",
                "--scheduler", "dpmpp-2m-karras", "--out", other.toString()).exit());
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(other), Files.readAllBytes(tmp.resolve("dpmpp-2m-karras0.png"))));
        CliRun.of("generate", "--model", "shapes", "--prompt", "x", "--scheduler", "DPM++ SDE", "--out", tmp.resolve("x.png").toString())
                .assertOneLineExit2("unknown scheduler kind 'DPM++ SDE'");
    }

    @Test
    void convertFolderToSingleFileWritesDiffusersScriptsFile(@TempDir Path tmp) throws Exception {
        Path golden = singleFileRoot().resolve("sd15-narrow.safetensors");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isRegularFile(golden), "no golden data at " + golden);
        Path out = tmp.resolve("narrow.safetensors");
        CliRun r = CliRun.of("convert", "--model", singleFileRoot().resolve("sd15-narrow").toString(), "--to-single-file", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(Files.readAllBytes(golden), Files.readAllBytes(out), "the file diffusers' script wrote, byte for byte");
    }

    @Test
    void convertSingleFileToFolderGivesTheFolderBack(@TempDir Path tmp) throws Exception {
        Path golden = singleFileRoot().resolve("sd15-narrow.safetensors");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isRegularFile(golden), "no golden data at " + golden);
        Path folder = narrowFolder(tmp);
        Path out = tmp.resolve("narrow");
        CliRun r = CliRun.of("convert", "--model", golden.toString(), "--config", folder.toString(), "--to-folder", out.toString());
        assertEquals(0, r.exit(), r.err());
        for (String c : SingleFileCheckpoint.COMPONENTS) {
            String w = SingleFileCheckpoint.weightFileName(c);
            try (SafetensorsFile want = SafetensorsFile.open(folder.resolve(c).resolve(w));
                 SafetensorsFile got = SafetensorsFile.open(out.resolve(c).resolve(w))) {
                assertEquals(want.names(), got.names(), c);
                for (String n : want.names()) {
                    assertArrayEquals(want.info(n).shape(), got.info(n).shape(), n);
                    assertEquals(-1L, want.bytes(n).mismatch(got.bytes(n)), n);
                }
            }
            assertArrayEquals(Files.readAllBytes(folder.resolve(c).resolve(w)), Files.readAllBytes(out.resolve(c).resolve(w)), c + " file bytes");
            assertArrayEquals(Files.readAllBytes(folder.resolve(c).resolve(c.equals("scheduler") ? "scheduler_config.json" : "config.json")),
                    Files.readAllBytes(out.resolve(c).resolve("config.json")));
        }
        // and back again: the single file of the converted folder is the original single file
        Path again = tmp.resolve("again.safetensors");
        assertEquals(0, CliRun.of("convert", "--model", out.toString(), "--to-single-file", again.toString()).exit());
        assertArrayEquals(Files.readAllBytes(golden), Files.readAllBytes(again));
    }

    /** A single file with the folder's configs loads exactly the folder's weights, so it draws the same image. */
    @Test
    void generateFromTheSingleFileMakesTheFolderImage(@TempDir Path tmp) throws Exception {
        Path golden = singleFileRoot().resolve("sd15-narrow.safetensors");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isRegularFile(golden), "no golden data at " + golden);
        Path folder = narrowFolder(tmp);
        String[] common = {"--prompt", "a red car", "--steps", "2", "--seed", "3", "--size", "64x64", "--scheduler", "dpmpp-2m"};
        Path a = tmp.resolve("folder.png"), b = tmp.resolve("single.png");
        CliRun r = CliRun.of(concat(new String[] {"generate", "--model", folder.toString(), "--out", a.toString()}, common));
        assertEquals(0, r.exit(), r.err());
        r = CliRun.of(concat(new String[] {"generate", "--model", golden.toString(), "--config", folder.toString(), "--out", b.toString()}, common));
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        // the narrow file is not a standard SD 1.x: without --config it is refused, naming what it found
        CliRun.of("generate", "--model", golden.toString(), "--prompt", "x", "--out", tmp.resolve("x.png").toString())
                .assertOneLineExit2("not a standard SD 1.x/2.x/XL architecture");
    }

    /** A purge from a single file, written back as a single file; an eval of FILE+DELTA finds the same base. */
    @Test
    void purgeASingleFileModel(@TempDir Path tmp) throws Exception {
        Path golden = dev.clif.TestData.goldenPath();
        Path sd = golden.resolve("tiny-sd"), clip = golden.resolve("tiny-clip");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isDirectory(sd) && Files.isDirectory(clip), "no golden tiny-sd");
        Path single = tmp.resolve("tiny.safetensors");
        assertEquals(0, CliRun.of("convert", "--model", sd.toString(), "--to-single-file", single.toString()).exit());
        Path out = tmp.resolve("purged");
        CliRun r = CliRun.of("purge", "--model", single.toString(), "--config", sd.toString(), "--clip", clip.toString(),
                "--out", out.toString(), "--ddim-steps", "2", "--steps", "2", "--batch", "1", "--seed", "3",
                "--concept", "red car=>blue car", "--single-file");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("single file: "), r.out());
        // the purged single file holds the purged folder's tensors
        Path back = tmp.resolve("back");
        assertEquals(0, CliRun.of("convert", "--model", out.resolve("model.safetensors").toString(), "--config", sd.toString(),
                "--to-folder", back.toString()).exit());
        for (String c : SingleFileCheckpoint.COMPONENTS) {
            String w = SingleFileCheckpoint.weightFileName(c);
            try (SafetensorsFile purged = SafetensorsFile.open(dev.clif.io.ModelFolder.weightFiles(out.resolve("model").resolve(c)).get(0));
                 SafetensorsFile got = SafetensorsFile.open(back.resolve(c).resolve(w))) {
                assertEquals(new java.util.TreeSet<>(purged.names()), new java.util.TreeSet<>(got.names()), c);
                for (String n : purged.names()) assertEquals(-1L, purged.bytes(n).mismatch(got.bytes(n)), c + " " + n);
            }
        }
        // apply-delta on the single file rebuilds the purged folder byte for byte
        Path rebuilt = tmp.resolve("rebuilt");
        CliRun a = CliRun.of("apply-delta", "--model", single.toString(), "--config", sd.toString(),
                "--delta", out.resolve("delta.safetensors").toString(), "--out", rebuilt.toString());
        assertEquals(0, a.exit(), a.err());
        try (var files = Files.walk(out.resolve("model"))) {
            for (Path f : files.filter(Files::isRegularFile).toList())
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(rebuilt.resolve(out.resolve("model").relativize(f).toString())), f.toString());
        }
        // the delta fits the single file (same base fingerprint), in memory as eval applies it
        dev.clif.eval.ModelSpec spec = dev.clif.eval.ModelSpec.parse("p=" + single + "+" + out.resolve("delta.safetensors") + ";config=" + sd);
        try (dev.clif.sampling.StableDiffusion m = spec.load(dev.clif.tensor.Device.CPU, dev.clif.tensor.DType.F32)) {
            assertNotNull(m.unet());
        }
    }

    @Test
    void inspectNamesTheFamilyAndComponents() {
        Path golden = singleFileRoot().resolve("sd15-narrow.safetensors");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isRegularFile(golden), "no golden data at " + golden);
        CliRun r = CliRun.of("inspect", golden.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("single-file Stable Diffusion checkpoint, SD 1.x"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.trim().startsWith("unet") && l.contains("in 684 tensors")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.trim().startsWith("text_encoder") && l.contains("in 37 tensors")), r.out());
    }

    @Test
    void picklesAreRefusedWithTheConversionHint(@TempDir Path tmp) throws Exception {
        Path ckpt = tmp.resolve("model.ckpt");
        Files.write(ckpt, new byte[] {(byte) 0x80, 2, 0x7d});
        CliRun.of("generate", "--model", ckpt.toString(), "--prompt", "x", "--out", tmp.resolve("x.png").toString())
                .assertOneLineExit2("never unpickles");
        CliRun.of("convert", "--model", ckpt.toString(), "--to-folder", tmp.resolve("f").toString()).assertOneLineExit2("save_file");
        CliRun.of("inspect", ckpt.toString()).assertOneLineExit2("never unpickles");
        CliRun.of("eval", "--prompts", ckpt.toString(), "--model", "a=" + ckpt, "--scorer", "shapes-exact",
                "--out", tmp.resolve("e").toString()).assertOneLineExit2("never unpickles");
        Path notSd = tmp.resolve("lora.safetensors");
        SafetensorsWriter.write(notSd, List.of(SafetensorsWriter.Entry.of("lora_up.weight", new float[] {1}, 1)), Map.of());
        CliRun.of("convert", "--model", notSd.toString(), "--to-folder", tmp.resolve("g").toString())
                .assertOneLineExit2("not a Stable Diffusion single-file checkpoint");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void sdxlSingleFileRoundTripAndGenerateFromIt(@TempDir Path tmp) throws Exception {
        Path sdxl = dev.clif.TestData.goldenPath().resolve("sdxl/tiny-sdxl");
        Path file = tmp.resolve("tiny-sdxl.safetensors");
        CliRun w = CliRun.of("convert", "--model", sdxl.toString(), "--to-single-file", file.toString());
        assertEquals(0, w.exit(), w.err());
        assertTrue(w.out().contains("645 tensors"), w.out());
        // tiny-sdxl is no standard SDXL: without --config it is refused, naming what it found
        CliRun.of("generate", "--model", file.toString(), "--prompt", "x", "--out", tmp.resolve("x.png").toString())
                .assertOneLineExit2("not a standard SD 1.x/2.x/XL architecture (SDXL with a 32-wide text encoder");
        Path folder = tmp.resolve("back");
        CliRun b = CliRun.of("convert", "--model", file.toString(), "--config", sdxl.toString(), "--to-folder", folder.toString());
        assertEquals(0, b.exit(), b.err());
        for (String c : dev.clif.io.SingleFileCheckpoint.XL_COMPONENTS) {
            String weights = dev.clif.io.SingleFileCheckpoint.weightFileName(c);
            assertEquals(-1L, Files.mismatch(sdxl.resolve(c).resolve(weights), folder.resolve(c).resolve(weights)), c + " comes back byte for byte");
        }
        Path fromFile = tmp.resolve("file.png"), fromFolder = tmp.resolve("folder.png");
        for (String[] m : new String[][] {{file.toString(), fromFile.toString()}, {sdxl.toString(), fromFolder.toString()}}) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("generate", "--model", m[0], "--prompt", "a red car",
                    "--steps", "3", "--seed", "3", "--out", m[1]));
            if (m[0].endsWith(".safetensors")) args.addAll(java.util.List.of("--config", sdxl.toString()));
            CliRun g = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, g.exit(), g.err());
        }
        assertArrayEquals(Files.readAllBytes(fromFolder), Files.readAllBytes(fromFile), "the single file generates the folder's image");
    }
}
