package dev.clif.purge;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.io.TensorInfo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Purged diffusers folders and deltas. A purged folder is the base folder with every file copied unchanged except
 * the UNet's safetensors weights, which are rewritten with the trained tensors replaced (every other tensor keeps
 * its exact bytes, and each file keeps its metadata). A delta ({@code delta.safetensors}) holds only the trained
 * tensors, in the base's dtypes, with the SHA-256 of the base UNet's weight files; {@link #applyDelta} rebuilds the
 * purged folder from base + delta byte for byte, because both paths go through {@link #write}.
 *
 * <p>Other UNet weight files of the base (pickled {@code .bin}, fp16 variants) are not copied: they hold the
 * unpurged weights and a loader might prefer them.
 */
public final class PurgedModel {
    private static final Logger log = LoggerFactory.getLogger(PurgedModel.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String DELTA_FORMAT = "clif-delta/1";
    private static final List<String> WEIGHT_SUFFIXES = List.of(".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".pkl");

    private PurgedModel() {}

    /** SHA-256 (hex) over the bytes of the base UNet's safetensors weight files, in load order. */
    public static String fingerprint(Path modelDir) {
        List<Path> files = ModelFolder.weightFiles(modelDir.resolve("unet"));
        if (files.isEmpty()) throw new ClifException(modelDir.resolve("unet") + ": no safetensors weights to fingerprint");
        return dev.clif.io.Sha256.of(files);
    }

    /** Copies the regular files of the (flat) tokenizer folder {@code from} into {@code to}; sub-folders are not followed. */
    private static void copyTokenizer(Path from, Path to) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(from)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            Path dst = to.resolve(from.relativize(f).toString());
            Files.createDirectories(dst.getParent());
            Files.copy(f, dst);
        }
    }

    /**
     * Writes the purged folder {@code out}: a copy of {@code base} whose UNet weights have {@code replacements}
     * (by tensor name; dtype and shape must match the base's) in place of the base tensors. Built beside
     * {@code out} and renamed into place, replacing an older {@code out}.
     */
    public static void write(Path base, List<SafetensorsWriter.Entry> replacements, Path out) {
        Path unetDir = base.resolve("unet").toAbsolutePath().normalize();
        List<Path> weights = ModelFolder.weightFiles(unetDir);
        Set<Path> rewritten = new java.util.HashSet<>();
        for (Path w : weights) rewritten.add(w.toAbsolutePath().normalize());
        Map<String, SafetensorsWriter.Entry> todo = new LinkedHashMap<>();
        for (SafetensorsWriter.Entry e : replacements) todo.put(e.name(), e);
        Path abs = out.toAbsolutePath().normalize();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            deleteTree(tmp);
            Path root = base.toAbsolutePath().normalize();
            List<Path> files;
            try (Stream<Path> s = Files.walk(root, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path f : files) {
                Path rel = root.relativize(f);
                Path dst = tmp.resolve(rel.toString());
                Path linked = rel.getNameCount() == 1 ? ModelFolder.componentDir(root, rel.toString()) : f;
                if (!linked.equals(f)) { // a tokenizer link file: its relative target would not resolve from the copy
                    copyTokenizer(linked, dst);
                    continue;
                }
                Files.createDirectories(dst.getParent());
                if (rewritten.contains(f)) {
                    // a single file's UNet view becomes real weights: the purged UNet is new
                    String n = dst.getFileName().toString();
                    if (n.endsWith(dev.clif.io.SingleFileView.SUFFIX))
                        dst = dst.resolveSibling(n.substring(0, n.length() - ".view.json".length()));
                    rewriteShard(f, todo, dst);
                } else if (f.getParent().equals(unetDir) && isWeightFile(f)) {
                    log.info("not copying {}: it holds unpurged UNet weights", rel);
                } else {
                    Files.copy(f, dst);
                }
            }
            if (!todo.isEmpty())
                throw new ClifException("the base UNet has no tensor " + new TreeSet<>(todo.keySet()).first()
                        + (todo.size() > 1 ? " (and " + (todo.size() - 1) + " more)" : "") + ": the delta does not fit this model");
            // An older folder is renamed aside first, so that a kill at any point leaves either it or the new one
            // whole under the name (never a half-deleted one); the aside copy is hidden and removed after.
            Files.createDirectories(abs.getParent());
            Path old = abs.resolveSibling("." + abs.getFileName() + ".old-" + ProcessHandle.current().pid());
            deleteTree(old);
            if (Files.exists(abs)) move(abs, old);
            move(tmp, abs);
            deleteTree(old);
        } catch (IOException e) {
            throw new ClifException(out + ": cannot write the purged model: " + e.getMessage(), e);
        } finally {
            try {
                deleteTree(tmp);
            } catch (IOException ignored) {
                // best effort: the temporary folder is hidden and named after this process
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private static boolean isWeightFile(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        return WEIGHT_SUFFIXES.stream().anyMatch(n::endsWith) && n.startsWith("diffusion_pytorch_model");
    }

    private static void rewriteShard(Path f, Map<String, SafetensorsWriter.Entry> todo, Path dst) {
        try (SafetensorsFile file = SafetensorsFile.open(f)) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            for (SafetensorsWriter.Entry e : SafetensorsWriter.entries(file)) {
                SafetensorsWriter.Entry r = todo.remove(e.name());
                if (r == null) {
                    entries.add(e);
                    continue;
                }
                TensorInfo info = file.info(e.name());
                if (r.dtype() != info.dtype() || !java.util.Arrays.equals(r.shape(), info.shape()))
                    throw new ClifException("tensor '" + e.name() + "' is " + r.dtype() + java.util.Arrays.toString(r.shape()) + " in the delta but "
                            + info.dtype() + java.util.Arrays.toString(info.shape()) + " in " + f + ": the delta does not fit this model");
                entries.add(r);
            }
            SafetensorsWriter.write(dst, entries, file.metadata());
        }
    }

    /** Writes {@code delta.safetensors}: the trained tensors and the metadata that ties them to their base. */
    public static void writeDelta(Path file, List<SafetensorsWriter.Entry> trained, String baseFingerprint, PurgeConfig config,
                                  int steps, String version) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", DELTA_FORMAT);
        meta.put("base_unet_sha256", baseFingerprint);
        var concepts = JSON.createArrayNode();
        for (ConceptPair p : config.concepts()) concepts.addObject().put("source", p.source()).put("target", p.target());
        meta.put("concepts", concepts.toString());
        meta.put("method", config.method().name().toLowerCase(Locale.ROOT));
        meta.put("steps", Integer.toString(steps));
        var cfg = config.toJson();
        cfg.remove("output_dir"); // where it was written is not part of what the delta is
        meta.put("config", cfg.toString());
        meta.put("clif_version", version);
        SafetensorsWriter.write(file, trained, meta);
    }

    /**
     * Rebuilds a purged folder from its base and a delta. Refuses a delta made for another base (the fingerprint of
     * {@code base}'s UNet weights must equal the delta's) and an {@code out} folder that exists and is not empty.
     */
    public static void applyDelta(Path base, Path deltaFile, Path out) {
        if (!Files.isDirectory(base)) throw new ClifException(base + ": not a folder (expected the base diffusers model)");
        if (!Files.isRegularFile(deltaFile)) throw new ClifException(deltaFile + ": no such delta file");
        if (nonEmpty(out)) throw new ClifException(out + " exists and is not empty: choose a new --out folder");
        try (SafetensorsFile delta = SafetensorsFile.open(deltaFile)) {
            checkFits(delta, base);
            write(base, SafetensorsWriter.entries(delta), out);
        }
    }

    /**
     * Applies a delta to a loaded UNet in memory (no copy on disk): every delta tensor replaces the UNet parameter
     * of the same name. Refuses a delta made for another base ({@code base}'s UNet fingerprint must equal the
     * delta's), an unknown or mis-shaped tensor, and non-finite values, naming the tensor. Returns the number of
     * tensors replaced.
     */
    public static int applyDelta(dev.clif.model.UNet unet, Path base, Path deltaFile) {
        if (!Files.isRegularFile(deltaFile)) throw new ClifException(deltaFile + ": no such delta file");
        try (SafetensorsFile delta = SafetensorsFile.open(deltaFile)) {
            checkFits(delta, base);
            Set<String> params = new java.util.HashSet<>(unet.parameterNames());
            for (String name : delta.names()) {
                if (!params.contains(name))
                    throw new ClifException(deltaFile + ": tensor '" + name + "' is not a parameter of " + base.resolve("unet") + ": the delta does not fit this model");
                TensorInfo info = delta.info(name);
                try (dev.clif.tensor.Tensor p = unet.parameter(name)) {
                    if (!java.util.Arrays.equals(p.shape(), info.shape()))
                        throw new ClifException(deltaFile + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(info.shape())
                                + " but the model's is " + java.util.Arrays.toString(p.shape()));
                }
                delta.requireFinite(name);
                try (dev.clif.tensor.Tensor t = delta.load(name)) {
                    unet.setParameter(name, t);
                }
            }
            return delta.names().size();
        }
    }

    /** Refuses a file that is not a Clif delta, or a delta made for another base than {@code base}. */
    private static void checkFits(SafetensorsFile delta, Path base) {
        Map<String, String> meta = delta.metadata();
        if (!DELTA_FORMAT.equals(meta.get("format")))
            throw new ClifException(delta.path() + ": not a Clif delta (metadata format is " + meta.get("format") + ", expected " + DELTA_FORMAT + ")");
        String want = meta.get("base_unet_sha256");
        String have = fingerprint(base);
        if (!have.equals(want))
            throw new ClifException(delta.path() + " was made for another base model: its UNet fingerprint is sha256:" + abbrev(want)
                    + ", " + base + " has sha256:" + abbrev(have));
    }

    private static String abbrev(String hex) {
        return hex == null ? "(none)" : hex.length() > 16 ? hex.substring(0, 16) + "…" : hex;
    }

    /**
     * Whether {@code dir} holds anything but what a killed purge leaves half-written: hidden temporary files and folders
     * ({@code .NAME.*.tmp} of an atomic file write, {@code .model.tmp-PID} of a folder write) and an empty or
     * temporary-only {@code checkpoint/}.
     */
    static boolean holdsOutputs(Path dir) {
        if (!Files.exists(dir)) return false;
        if (!Files.isDirectory(dir)) return true;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (isLeftover(p)) continue;
                if (p.getFileName().toString().equals("checkpoint") && Files.isDirectory(p) && !holdsOutputs(p)) continue;
                return true;
            }
            return false;
        } catch (IOException e) {
            throw new ClifException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    /** A hidden temporary file or folder of an interrupted atomic write (AtomicFile's, or {@link #write}'s). */
    static boolean isLeftover(Path p) {
        String n = p.getFileName().toString();
        return n.startsWith(".") && (n.endsWith(".tmp") || n.matches("\\..+\\.tmp-\\d+") || n.matches("\\..+\\.old-\\d+"));
    }

    /** Deletes what a killed run left half-written in {@code out} and {@code out/checkpoint} (see {@link #holdsOutputs}). */
    static void removeLeftovers(Path out) {
        for (Path dir : List.of(out, out.resolve("checkpoint"))) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.filter(PurgedModel::isLeftover).toList()) {
                    log.info("removing {}, left half-written by an interrupted run", p);
                    deleteTree(p);
                }
            } catch (IOException e) {
                throw new ClifException(dir + ": cannot remove what an interrupted run left: " + e.getMessage(), e);
            }
        }
    }

    static boolean nonEmpty(Path dir) {
        if (!Files.exists(dir)) return false;
        if (!Files.isDirectory(dir)) return true;
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            throw new ClifException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    /** The delta's metadata, parsed (for tools that show what a delta is). */
    public static Map<String, JsonNode> deltaInfo(Path deltaFile) {
        try (SafetensorsFile delta = SafetensorsFile.open(deltaFile)) {
            Map<String, JsonNode> out = new HashMap<>();
            for (Map.Entry<String, String> e : delta.metadata().entrySet()) {
                try {
                    out.put(e.getKey(), JSON.readTree(e.getValue()));
                } catch (IOException ex) {
                    out.put(e.getKey(), JSON.getNodeFactory().textNode(e.getValue()));
                }
            }
            return out;
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) throw exc;
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
