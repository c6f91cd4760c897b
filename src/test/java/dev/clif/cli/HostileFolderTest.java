package dev.clif.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * A corpus of broken model folders, each made from tiny-sd by one hostile change: every one gives one line naming
 * what is wrong and exit 2 from `clif generate`, `clif inspect` and `clif purge`, writes nothing, and leaves the folder
 * as it was. A Hugging Face cache snapshot (every file a symlink into ../../blobs) loads.
 */
class HostileFolderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SD = TestData.goldenPath().resolve("tiny-sd");
    private static final Path CLIP = TestData.goldenPath().resolve("tiny-clip");
    private static final String UNET = "unet/diffusion_pytorch_model.safetensors";
    private static final String TEXT = "text_encoder/model.safetensors";

    @TempDir
    static Path tmp;

    /** One hostile folder: its name, the change, and what each command's one line must contain. */
    record Case(String name, Mutation change, String expected) {}

    interface Mutation {
        void apply(Path folder) throws IOException;
    }

    static List<Case> corpus() {
        List<Case> c = new ArrayList<>();
        // sharded indexes
        c.add(new Case("index-traversal", f -> shardIndex(f, "../../../../etc/passwd"), "outside the model folder"));
        c.add(new Case("index-absolute-path", f -> shardIndex(f, "/etc/passwd"), "outside the model folder"));
        c.add(new Case("index-missing-shard", f -> shardIndex(f, "diffusion_pytorch_model-00002-of-00002.safetensors"), "is missing"));
        c.add(new Case("index-not-an-object", f -> {
            Files.delete(f.resolve(UNET));
            Files.writeString(f.resolve("unet/diffusion_pytorch_model.safetensors.index.json"), "{\"weight_map\": [1, 2]}");
        }, "weight_map"));
        c.add(new Case("index-deeply-nested", f -> {
            Files.delete(f.resolve(UNET));
            Files.writeString(f.resolve("unet/diffusion_pytorch_model.safetensors.index.json"), "{\"weight_map\": " + "[".repeat(200_000));
        }, "diffusion_pytorch_model.safetensors.index.json"));
        // configs that would allocate terabytes or loop for ever
        c.add(new Case("unet-terabyte-channels", f -> json(f, "unet/config.json", o -> o.putArray("block_out_channels").add(1 << 20).add(1 << 20).add(1 << 20)),
                "block_out_channels"));
        c.add(new Case("unet-million-layers", f -> json(f, "unet/config.json", o -> o.put("layers_per_block", 1_000_000)), "layers_per_block"));
        c.add(new Case("unet-huge-sample-size", f -> json(f, "unet/config.json", o -> o.put("sample_size", 1 << 30)), "sample_size"));
        c.add(new Case("vae-terabyte-channels", f -> json(f, "vae/config.json", o -> o.putArray("block_out_channels").add(1 << 20).add(1 << 20)),
                "block_out_channels"));
        c.add(new Case("text-encoder-huge-vocab", f -> json(f, "text_encoder/config.json", o -> o.put("vocab_size", Integer.MAX_VALUE)), "vocab_size"));
        c.add(new Case("text-encoder-huge-positions", f -> json(f, "text_encoder/config.json", o -> o.put("max_position_embeddings", Integer.MAX_VALUE)),
                "max_position_embeddings"));
        c.add(new Case("scheduler-huge-timesteps", f -> json(f, "scheduler/scheduler_config.json", o -> o.put("num_train_timesteps", Integer.MAX_VALUE)),
                "num_train_timesteps"));
        c.add(new Case("scheduler-nan-beta", f -> json(f, "scheduler/scheduler_config.json", o -> o.put("beta_start", "NaN")), "beta_start"));
        c.add(new Case("scheduler-infinite-beta", f -> replace(f, "scheduler/scheduler_config.json", "\"beta_end\": 0.012", "\"beta_end\": 1e999"),
                "beta_end"));
        c.add(new Case("scheduler-negative-beta", f -> json(f, "scheduler/scheduler_config.json", o -> o.put("beta_end", -0.5)), "beta"));
        c.add(new Case("model-index-deeply-nested", f -> Files.writeString(f.resolve("model_index.json"), "{\"unet\": " + "[".repeat(100_000)),
                "model_index.json"));
        c.add(new Case("model-index-not-json", f -> Files.writeString(f.resolve("model_index.json"), "{\"unet\": [\"diffusers\", "), "model_index.json"));
        c.add(new Case("unet-config-an-array", f -> Files.writeString(f.resolve("unet/config.json"), "[1, 2, 3]"), "config"));
        c.add(new Case("component-folder-missing", f -> deleteTree(f.resolve("vae")), "vae"));
        // weights
        c.add(new Case("pickle-only-unet", f -> {
            Files.delete(f.resolve(UNET));
            Files.write(f.resolve("unet/diffusion_pytorch_model.bin"), new byte[] {(byte) 0x80, 2, 'c', 'o', 's', '\n'});
        }, "never unpickles"));
        c.add(new Case("missing-tensor", f -> rewrite(f, UNET, (name, e) -> name.equals("conv_in.bias") ? null : e), "conv_in.bias"));
        c.add(new Case("mis-shaped-tensor", f -> rewrite(f, UNET, (name, e) -> !name.equals("conv_in.weight") ? e
                : new SafetensorsWriter.Entry(name, e.dtype(), new long[] {e.shape()[0] * e.shape()[1], e.shape()[2], e.shape()[3]}, e.data())),
                "conv_in.weight"));
        c.add(new Case("nan-weight", f -> rewrite(f, TEXT, (name, e) -> {
            if (!name.equals("text_model.final_layer_norm.weight")) return e;
            MemorySegment copy = MemorySegment.ofArray(new byte[(int) e.data().byteSize()]).copyFrom(e.data());
            copy.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4, Float.NaN);
            return new SafetensorsWriter.Entry(name, e.dtype(), e.shape(), copy);
        }), "text_model.final_layer_norm.weight"));
        c.add(new Case("truncated-weights", f -> {
            byte[] b = Files.readAllBytes(f.resolve(UNET));
            Files.delete(f.resolve(UNET));
            Files.write(f.resolve(UNET), java.util.Arrays.copyOf(b, b.length / 2));
        }, "diffusion_pytorch_model.safetensors"));
        c.add(new Case("tokenizer-vocab-garbage", f -> Files.writeString(f.resolve("tokenizer/vocab.json"), "\u0000\u0001garbage"), "vocab.json"));
        c.add(new Case("tokenizer-merges-missing", f -> Files.delete(f.resolve("tokenizer/merges.txt")), "merges.txt"));
        return c;
    }

    @TestFactory
    Stream<DynamicTest> everyHostileFolderIsOneLineAndExit2FromEveryCommandAndWritesNothing() throws IOException {
        List<Case> corpus = corpus();
        assertTrue(corpus.size() >= 20, "the corpus has only " + corpus.size() + " folders");
        return corpus.stream().map(k -> DynamicTest.dynamicTest(k.name(), () -> {
            Path folder = tmp.resolve("models").resolve(k.name());
            copyWithLinks(SD, folder);
            k.change().apply(folder);
            Map<String, Long> before = listing(folder);
            Path out = tmp.resolve("out").resolve(k.name());
            List<String[]> commands = List.of(
                    new String[] {"generate", "--model", folder.toString(), "--prompt", "a red car", "--steps", "2", "--seed", "1",
                            "--out", out.resolve("x.png").toString()},
                    new String[] {"inspect", folder.toString()},
                    new String[] {"purge", "--model", folder.toString(), "--clip", CLIP.toString(), "--concept", "red car=>blue car",
                            "--steps", "1", "--ddim-steps", "2", "--out", out.resolve("purge").toString()});
            for (String[] cmd : commands) {
                long t0 = System.nanoTime();
                CliRun r = CliRun.of(cmd); // on this thread: a timeout thread would leave libtorch state behind on its own
                double seconds = (System.nanoTime() - t0) / 1e9;
                System.out.printf("%s: clif %s: %.1f s: %s%n", k.name(), cmd[0], seconds, r.err().strip());
                assertTrue(seconds < 60, k.name() + ": clif " + cmd[0] + " took " + seconds + " s to refuse it");
                String what = k.name() + ": clif " + cmd[0];
                assertEquals(2, r.exit(), what + ": " + r.err() + r.out());
                assertEquals(1, r.err().lines().count(), what + ": one line: " + r.err());
                assertTrue(r.err().startsWith("clif: ") && r.err().contains(k.expected()), what + ": " + r.err());
                for (String javaism : List.of("Exception", "Error:", "null", "java."))
                    assertFalse(r.err().contains(javaism), what + ": a Java detail, not a message: " + r.err());
                assertFalse(Files.exists(out), what + " wrote " + out);
                assertEquals(before, listing(folder), what + " changed the model folder");
            }
        }));
    }

    /** A Hugging Face hub cache: snapshots/REV/… are relative symlinks into ../../blobs/SHA, as huggingface_hub writes them. */
    @Test
    void aHuggingFaceCacheSnapshotLoads(@TempDir Path dir) throws IOException {
        Path repo = dir.resolve("models--clif--tiny-sd");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = repo.resolve("snapshots").resolve("0123456789abcdef0123456789abcdef01234567");
        try (Stream<Path> s = Files.walk(SD)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                String sha = dev.clif.io.Sha256.of(f);
                Path blob = blobs.resolve(sha);
                if (!Files.exists(blob)) Files.copy(f, blob);
                Path link = snapshot.resolve(SD.relativize(f).toString());
                Files.createDirectories(link.getParent());
                Files.createSymbolicLink(link, link.getParent().relativize(blob));
            }
        }
        Files.writeString(Files.createDirectories(repo.resolve("refs")).resolve("main"), snapshot.getFileName().toString());
        assertTrue(Files.isSymbolicLink(snapshot.resolve(UNET)));
        assertTrue(Files.readSymbolicLink(snapshot.resolve(UNET)).toString().startsWith("../../../blobs/"));

        CliRun inspect = CliRun.of("inspect", snapshot.toString());
        assertEquals(0, inspect.exit(), inspect.err());
        assertTrue(inspect.out().contains("2,164,452 parameters in 494 tensors"), inspect.out());
        Path png = dir.resolve("car.png");
        CliRun gen = CliRun.of("generate", "--model", snapshot.toString(), "--prompt", "a red car", "--steps", "2", "--seed", "3", "--out", png.toString());
        assertEquals(0, gen.exit(), gen.err());
        Path direct = dir.resolve("direct.png");
        assertEquals(0, CliRun.of("generate", "--model", SD.toString(), "--prompt", "a red car", "--steps", "2", "--seed", "3", "--out", direct.toString()).exit());
        assertEquals(-1, Files.mismatch(png, direct), "the snapshot draws what the folder draws");
        CliRun purge = CliRun.of("purge", "--model", snapshot.toString(), "--clip", CLIP.toString(), "--concept", "red car=>blue car",
                "--steps", "1", "--ddim-steps", "2", "--out", dir.resolve("purged").toString());
        assertEquals(0, purge.exit(), purge.err());
        assertFalse(Files.isSymbolicLink(dir.resolve("purged/model").resolve(UNET)), "the purged folder holds real files");
    }

    // ---- building the corpus -------------------------------------------------------------------------

    /** Copies {@code from} to {@code to}: weight files as symlinks to the originals (never written to), the rest as copies. */
    static void copyWithLinks(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                Path dst = to.resolve(from.relativize(f).toString());
                Files.createDirectories(dst.getParent());
                if (f.toString().endsWith(".safetensors")) Files.createSymbolicLink(dst, f.toAbsolutePath());
                else Files.copy(f, dst);
            }
        }
    }

    /** The UNet weights behind an index naming the real file for most tensors and {@code shard} for one. */
    static void shardIndex(Path f, String shard) throws IOException {
        Path unet = f.resolve(UNET);
        Path moved = f.resolve("unet/diffusion_pytorch_model-00001-of-00002.safetensors");
        Files.move(unet, moved);
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode map = index.putObject("weight_map");
        try (SafetensorsFile st = SafetensorsFile.open(moved)) {
            for (String n : st.names()) map.put(n, moved.getFileName().toString());
        }
        map.put("conv_in.bias", shard);
        Files.writeString(f.resolve("unet/diffusion_pytorch_model.safetensors.index.json"), index.toPrettyString());
    }

    static void json(Path f, String file, Consumer<ObjectNode> change) throws IOException {
        ObjectNode o = (ObjectNode) JSON.readTree(f.resolve(file).toFile());
        change.accept(o);
        Files.writeString(f.resolve(file), o.toPrettyString());
    }

    static void replace(Path f, String file, String what, String with) throws IOException {
        String s = Files.readString(f.resolve(file));
        assertTrue(s.contains(what), file + " has no " + what);
        Files.writeString(f.resolve(file), s.replace(what, with));
    }

    interface EntryChange {
        SafetensorsWriter.Entry apply(String name, SafetensorsWriter.Entry e);
    }

    /** Rewrites a weight file (replacing the symlink with a real file) with each tensor changed or dropped (null). */
    static void rewrite(Path f, String file, EntryChange change) throws IOException {
        Path p = f.resolve(file);
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        Map<String, String> meta;
        try (SafetensorsFile st = SafetensorsFile.open(p)) {
            meta = new LinkedHashMap<>(st.metadata());
            for (SafetensorsWriter.Entry e : SafetensorsWriter.entries(st)) {
                SafetensorsWriter.Entry copy = new SafetensorsWriter.Entry(e.name(), e.dtype(), e.shape(),
                        MemorySegment.ofArray(e.data().toArray(ValueLayout.JAVA_BYTE)));
                SafetensorsWriter.Entry changed = change.apply(e.name(), copy);
                if (changed != null) out.add(changed);
            }
        }
        Files.delete(p);
        SafetensorsWriter.write(p, out, meta);
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Every path under {@code dir} with its size (links as links), to see that nothing was written. */
    static Map<String, Long> listing(Path dir) throws IOException {
        Map<String, Long> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList())
                m.put(dir.relativize(p).toString(), Files.isSymbolicLink(p) ? -1L : Files.isDirectory(p) ? -2L : Files.size(p));
        }
        return m;
    }
}
