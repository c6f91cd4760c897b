package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.io.SafetensorsFile;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `clif purge` killed with SIGKILL at random points (some while a checkpoint is being written) and resumed each time
 * with `--resume` ends with the delta and purged UNet an uninterrupted run writes, byte for byte; after every kill each
 * file that exists under the output folder is whole (every safetensors file parses and tiles its data, every JSON and
 * PNG reads), and the finished folder holds no temporary file.
 */
class KillResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = 20;
    private static final int EVERY = 2;
    private static final int KILLS = 10;

    private static List<String> command(Path out, boolean resume) {
        String java = ProcessHandle.current().info().command().orElse("java");
        // Kernel routes calibrate as in use: a resumed child reproduces the reference's bits only because the
        // reference's decisions were saved to the route cache when it exited (children killed mid-run save none).
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "dev.clif.cli.Main", "purge",
                "--model", PurgerTest.SD.toString(), "--clip", PurgerTest.CLIP.toString(), "--concept", "red car=>blue car",
                "--ddim-steps", "2", "--batch", "1", "--seed", "5", "--lr", "1e-3", "--params", "full",
                "--steps", Integer.toString(STEPS), "--checkpoint-every", Integer.toString(EVERY), "--out", out.toString()));
        if (resume) cmd.add("--resume");
        return cmd;
    }

    private static Process start(Path out, boolean resume, Path log) throws IOException {
        return new ProcessBuilder(command(out, resume)).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    @Test
    void aPurgeKilledTenTimesResumesToTheSameDelta(@TempDir Path tmp) throws Exception {
        Path log = tmp.resolve("children.log");
        Path whole = tmp.resolve("whole");
        // The uninterrupted run, timed: when its first checkpoint appears and when it ends.
        long t0 = System.nanoTime();
        Process ref = start(whole, false, log);
        long firstCheckpoint = -1;
        while (ref.isAlive()) {
            if (firstCheckpoint < 0 && Files.isRegularFile(Checkpoint.file(whole))) firstCheckpoint = (System.nanoTime() - t0) / 1_000_000;
            Thread.sleep(1);
        }
        long wholeMillis = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, ref.exitValue(), () -> read(log));
        assertTrue(firstCheckpoint > 0, "the reference run wrote no checkpoint");
        long interval = Math.max(1, (wholeMillis - firstCheckpoint) / (STEPS / EVERY));
        assertNoLeftovers(whole);

        // Kills 2, 5 and 8 wait for a checkpoint's temporary file (the child's first or second) and land during its
        // write; the last (and any after the training is done) waits for the final outputs' writing; the others land
        // at a random time from two checkpoint intervals before the child's first checkpoint to one after, so that each
        // child gets a little further and the purge is still under way at every kill.
        Path out = tmp.resolve("killed");
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int kills = 0, duringWrite = 0, attempts = 0;
        List<String> story = new ArrayList<>();
        while (kills < KILLS) {
            assertTrue(++attempts < 2 * KILLS, "could not land " + KILLS + " kills (seed " + seed + "): " + story);
            Process p = start(out, Files.isDirectory(out), log);
            boolean trained = stepOf(out).equals("checkpoint at step " + STEPS);
            String aim = kills == KILLS - 1 || trained ? "outputs" : kills % 3 == 1 ? "checkpoint" : "time";
            long delay = Math.max(0, firstCheckpoint - 2 * interval + (long) (random.nextDouble() * 3 * interval));
            int skipWrites = random.nextInt(2); // a checkpoint-aimed kill lands in this run's first or second checkpoint write
            long start = System.nanoTime();
            boolean sawWrite = false, writing = false;
            while (p.isAlive()) {
                long elapsed = (System.nanoTime() - start) / 1_000_000;
                if (aim.equals("time")) {
                    if (elapsed >= delay) break;
                } else {
                    boolean now = beingWritten(aim.equals("checkpoint") ? out.resolve("checkpoint") : out);
                    if (now && !writing && skipWrites-- <= 0 || now && aim.equals("outputs")) {
                        sawWrite = true;
                        break;
                    }
                    writing = now;
                }
                if (elapsed > 3 * wholeMillis) break;
                Thread.sleep(0, 200_000);
            }
            if (!p.isAlive()) {
                assertEquals(0, p.exitValue(), () -> read(log));
                story.add("finished before the kill");
                continue;
            }
            p.destroyForcibly(); // SIGKILL on Linux
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            kills++;
            if (sawWrite) duringWrite++;
            story.add((aim.equals("time") ? "at " + delay + " ms" : sawWrite ? "while writing " + aim : "at the end of the wait for " + aim)
                    + " (" + stepOf(out) + ")");
            assertEverythingWhole(out, story);
        }
        assertTrue(duringWrite >= 2, "fewer than two kills landed during a write: " + story);

        Process last = start(out, Files.isDirectory(out), log);
        assertTrue(last.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, last.exitValue(), () -> read(log));
        System.out.println("kill -9 purge: " + kills + " kills (" + duringWrite + " during a write), seed " + seed + ", uninterrupted run "
                + wholeMillis + " ms: " + story);

        assertArrayEquals(Files.readAllBytes(whole.resolve("delta.safetensors")), Files.readAllBytes(out.resolve("delta.safetensors")),
                "delta after " + story);
        assertArrayEquals(Files.readAllBytes(whole.resolve("model").resolve(PurgerTest.UNET_FILE)),
                Files.readAllBytes(out.resolve("model").resolve(PurgerTest.UNET_FILE)), "purged UNet after " + story);
        assertEquals(JSON.readTree(whole.resolve("purge-report.json").toFile()).get("steps"),
                stripTimes(JSON.readTree(out.resolve("purge-report.json").toFile()).get("steps"), JSON.readTree(whole.resolve("purge-report.json").toFile()).get("steps")));
        assertNoLeftovers(out);
        assertEverythingWhole(out, story);
    }

    /** The resumed report's per-step records with the reference's timings put in (timings differ run to run). */
    private static com.fasterxml.jackson.databind.JsonNode stripTimes(com.fasterxml.jackson.databind.JsonNode steps,
                                                                    com.fasterxml.jackson.databind.JsonNode reference) {
        com.fasterxml.jackson.databind.node.ArrayNode copy = steps.deepCopy();
        for (int i = 0; i < copy.size() && i < reference.size(); i++)
            for (String timing : List.of("step_seconds", "peak_device_memory"))
                ((com.fasterxml.jackson.databind.node.ObjectNode) copy.get(i)).set(timing, reference.get(i).get(timing));
        return copy;
    }

    /** An atomic write into {@code dir} is under way: a hidden temporary file or folder exists there. */
    private static boolean beingWritten(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(PurgedModel::isLeftover);
        } catch (IOException e) {
            return false; // listed while a rename happened: look again
        }
    }

    private static String stepOf(Path out) {
        Path ck = Checkpoint.file(out);
        if (!Files.isRegularFile(ck)) return "no checkpoint yet";
        try (SafetensorsFile f = SafetensorsFile.open(ck)) {
            return "checkpoint at step " + f.metadata().get("step");
        }
    }

    /** Every file under {@code out} that is not a hidden temporary one is whole. */
    private static void assertEverythingWhole(Path out, List<String> story) throws IOException {
        if (!Files.exists(out)) return;
        List<Path> files;
        try (Stream<Path> s = Files.walk(out)) {
            files = s.filter(Files::isRegularFile).filter(p -> !insideLeftover(out, p)).toList();
        }
        for (Path f : files) {
            String n = f.getFileName().toString();
            String where = out.relativize(f) + " after " + story;
            if (n.endsWith(".safetensors")) {
                try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                    assertFalse(sf.names().isEmpty(), where);
                }
            } else if (n.endsWith(".json")) {
                assertNotNull(JSON.readTree(f.toFile()), where);
            } else if (n.endsWith(".png")) {
                assertNotNull(ImageIO.read(f.toFile()), where);
            } else if (n.equals("merges.txt")) {
                assertTrue(Files.readString(f).startsWith("#version"), where);
            } else {
                fail("unexpected file " + where);
            }
        }
        Path model = out.resolve("model");
        if (Files.isDirectory(model)) // a model folder under its name is complete
            for (String c : List.of("unet/config.json", PurgerTest.UNET_FILE, "vae/config.json", "text_encoder/config.json",
                    "tokenizer/vocab.json", "scheduler/scheduler_config.json", "model_index.json"))
                assertTrue(Files.isRegularFile(model.resolve(c)), "model/" + c + " missing after " + story);
    }

    private static boolean insideLeftover(Path out, Path file) {
        for (Path p = file; p != null && !p.equals(out); p = p.getParent())
            if (PurgedModel.isLeftover(p)) return true;
        return false;
    }

    private static void assertNoLeftovers(Path out) throws IOException {
        try (Stream<Path> s = Files.walk(out)) {
            List<Path> left = s.filter(PurgedModel::isLeftover).toList();
            assertEquals(List.of(), left, "temporary files left in a finished output folder");
        }
    }

    private static String read(Path log) {
        try {
            String s = Files.readString(log);
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return e.toString();
        }
    }
}
