package dev.clif.fuzz;

import dev.clif.ClifException;
import dev.clif.TestData;
import dev.clif.eval.PromptSet;
import dev.clif.eval.PromptSetReader;
import dev.clif.eval.ResultsLog;
import dev.clif.io.ModelFolder;
import dev.clif.io.Npy;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.TensorInfo;
import dev.clif.model.ClipConfig;
import dev.clif.model.ClipTextConfig;
import dev.clif.model.UNetConfig;
import dev.clif.model.VaeConfig;
import dev.clif.sampling.Scheduler;
import dev.clif.sampling.SchedulerConfig;
import dev.clif.text.ClipTokenizer;
import dev.clif.text.TextFixer;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Jazzer fuzz targets for every reader of files that strangers hand Clif. The property: any input ends in success or
 * in a {@link ClifException} (the documented, one-line error), never another exception, a hang (a 10 s timeout per
 * input) or an allocation beyond the heap (an OutOfMemoryError is a finding; `make fuzz` runs with -Xmx1g).
 *
 * <p>Without JAZZER_FUZZ each target runs its committed regression inputs
 * (src/test/resources/dev/clif/fuzz/ReaderFuzzTestInputs/TARGET/); `make fuzz FUZZ_SECONDS=N` fuzzes each target.
 */
class ReaderFuzzTest {
    private static final Path DIR = scratch();
    private static ClipTokenizer tokenizer;

    private static Path scratch() {
        try {
            Path shm = Path.of("/dev/shm");
            Path d = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "clif-fuzz") : Files.createTempDirectory("clif-fuzz");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(d)));
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code body}; a ClifException is the documented outcome for bad input, anything else propagates. */
    private static void expectClean(Runnable body) {
        try {
            body.run();
        } catch (ClifException e) {
            if (e.getMessage() == null || e.getMessage().isBlank()) throw new AssertionError("a ClifException without a message", e);
        }
    }

    private static Path write(String name, byte[] data) {
        try {
            Path p = DIR.resolve(name);
            Files.createDirectories(p.getParent());
            Files.write(p, data);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- safetensors -------------------------------------------------------------------------------

    @FuzzTest
    void safetensors(byte[] data) {
        Path p = write("f.safetensors", data);
        expectClean(() -> {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                f.metadata();
                for (String name : f.names()) {
                    TensorInfo info = f.info(name);
                    if (f.bytes(name).byteSize() != info.end() - info.begin()) throw new AssertionError("span of " + name);
                }
            }
        });
    }

    // ---- .npy --------------------------------------------------------------------------------------

    @FuzzTest
    void npy(byte[] data) {
        expectClean(() -> {
            Npy n = Npy.parse(data, "fuzz.npy");
            long count = 1;
            for (long d : n.shape()) count *= d;
            if (count != n.values().length) throw new AssertionError("shape and values disagree");
            n.floats();
        });
    }

    // ---- results log -------------------------------------------------------------------------------

    @FuzzTest
    void resultsLog(byte[] data) {
        Path p = write("results.jsonl", data);
        expectClean(() -> ResultsLog.read(p));
    }

    // ---- prompt sets -------------------------------------------------------------------------------

    @FuzzTest
    void promptSet(byte[] data) {
        Path p = write("prompts.csv", data);
        expectClean(() -> {
            PromptSet all = PromptSetReader.read(p, PromptSet.Filter.ALL);
            List<String> cats = PromptSetReader.categories(all);
            PromptSetReader.read(p, new PromptSet.Filter(cats.isEmpty() ? List.of("x") : List.of(cats.get(0)), true, 2));
        });
    }

    // ---- tokenizer ---------------------------------------------------------------------------------

    /** Text fixing and BPE over the real vocabulary, on the bytes as UTF-8 and as UTF-16 code units (lone surrogates). */
    @FuzzTest
    void tokenizerText(byte[] data) {
        if (tokenizer == null) tokenizer = ClipTokenizer.load(TestData.goldenPath().resolve("tiny-sd/tokenizer"));
        StringBuilder units = new StringBuilder();
        for (int i = 0; i + 1 < data.length; i += 2) units.append((char) (((data[i] & 0xff) << 8) | (data[i + 1] & 0xff)));
        for (String s : List.of(new String(data, StandardCharsets.UTF_8), units.toString())) {
            expectClean(() -> {
                TextFixer.fixText(s);
                tokenizer.tokens(s);
                long[] ids = tokenizer.encodePadded(s);
                if (ids.length != tokenizer.maxLength()) throw new AssertionError("padded to " + ids.length);
                for (long id : ids) if (id < 0 || id >= tokenizer.vocabSize()) throw new AssertionError("id " + id + " outside the vocabulary");
            });
        }
    }

    /** A tokenizer folder made of fuzzed files: vocab.json, merges.txt, tokenizer_config.json (split at 0 bytes). */
    @FuzzTest
    void tokenizerFiles(byte[] data) {
        List<byte[]> parts = split(data, 3);
        Path dir = DIR.resolve("tokenizer");
        clear(dir);
        write("tokenizer/vocab.json", parts.get(0));
        write("tokenizer/merges.txt", parts.get(1));
        if (parts.get(2).length > 0) write("tokenizer/tokenizer_config.json", parts.get(2));
        expectClean(() -> {
            ClipTokenizer t = ClipTokenizer.load(dir);
            t.encodePadded("a photo of a red car");
            t.encodePadded(new String(parts.get(0), StandardCharsets.UTF_8));
        });
    }

    // ---- model folders, sharded indexes and configs -------------------------------------------------

    private static final String[] FOLDER_FILES = {
            "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors.index.json",
            "scheduler/scheduler_config.json", "vae/config.json", "text_encoder/config.json"};

    /**
     * A diffusers folder made of fuzzed files (split at 0 bytes): model_index.json, the UNet config and its sharded
     * index, the scheduler, VAE and text-encoder configs; opened, listed, and every config parsed and built.
     */
    @FuzzTest
    void modelFolder(byte[] data) {
        List<byte[]> parts = split(data, FOLDER_FILES.length);
        Path root = DIR.resolve("model");
        clear(root);
        for (int i = 0; i < FOLDER_FILES.length; i++)
            if (parts.get(i).length > 0) write("model/" + FOLDER_FILES[i], parts.get(i));
        write("model/unet/shard-1.safetensors", new byte[0]);
        expectClean(() -> {
            ModelFolder folder = ModelFolder.open(root);
            folder.describe();
            for (ModelFolder.Component c : folder.components()) {
                expectClean(c::weightFiles);
                expectClean(c::config);
            }
        });
        expectClean(() -> UNetConfig.read(root.resolve("unet/config.json")));
        expectClean(() -> VaeConfig.read(root.resolve("vae/config.json")));
        expectClean(() -> ClipTextConfig.read(root.resolve("text_encoder/config.json")));
        expectClean(() -> ClipConfig.read(root.resolve("text_encoder/config.json")));
        expectClean(() -> ModelFolder.weightFiles(root.resolve("unet")));
        expectClean(() -> {
            try (Scheduler s = Scheduler.fromFolder(root.resolve("scheduler"))) {
                s.betas();
            }
        });
        expectClean(() -> {
            SchedulerConfig c = SchedulerConfig.read(root.resolve("scheduler"));
            for (String kind : List.of("ddim", "pndm", "euler"))
                try (Scheduler s = Scheduler.create(c, kind)) {
                    s.betas();
                }
        });
    }

    // ---- helpers -----------------------------------------------------------------------------------

    /** {@code n} parts of {@code data}, cut at its first n-1 zero bytes (missing parts are empty). */
    static List<byte[]> split(byte[] data, int n) {
        List<byte[]> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < data.length && parts.size() < n - 1; i++)
            if (data[i] == 0) {
                parts.add(java.util.Arrays.copyOfRange(data, start, i));
                start = i + 1;
            }
        parts.add(java.util.Arrays.copyOfRange(data, Math.min(start, data.length), data.length));
        while (parts.size() < n) parts.add(new byte[0]);
        return parts;
    }

    private static void clear(Path dir) {
        deleteTree(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
