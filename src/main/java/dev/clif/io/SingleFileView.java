package dev.clif.io;

import dev.clif.AtomicFile;
import dev.clif.ClifException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One component of a single-file checkpoint standing in a diffusers folder without a copy of its weights: a small
 * {@code unet/diffusion_pytorch_model.safetensors.view.json} (etc.) naming the component and the SHA-256 and size of
 * the single file. {@link SafetensorsFile#open} reads it as a view of the mapped single file under diffusers' names
 * ({@link SingleFileCheckpoint}), so every folder-based loader, fingerprint and copy works unchanged. Because the
 * marker holds the content hash and not a path, the fingerprint of such a folder is the single file's content, and
 * a copied folder (a purge's output) still finds its weights: the file is looked up by hash in a registry of single
 * files this machine has seen ({@code ~/.cache/clif/single-file/sources/}, or {@code -Dclif.cache}).
 */
public final class SingleFileView {
    public static final String SUFFIX = ".safetensors.view.json";
    public static final String FORMAT = "clif-single-file-view/1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\..*");

    private SingleFileView() {}

    /** Where Clif keeps its single-file folders and the registry of sources. */
    public static Path cacheRoot() {
        String p = System.getProperty("clif.cache");
        return (p != null ? Path.of(p) : Path.of(System.getProperty("user.home"), ".cache", "clif")).resolve("single-file");
    }

    /** Records that the single file with {@code sha256} lies at {@code source} (size and modification time as now). */
    public static void register(Path source, String sha256) {
        try {
            ObjectNode n = JSON.createObjectNode();
            n.put("path", source.toAbsolutePath().normalize().toString());
            n.put("size", Files.size(source));
            n.put("mtime_ms", Files.getLastModifiedTime(source).toMillis());
            AtomicFile.writeBytes(cacheRoot().resolve("sources").resolve(sha256 + ".json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
        } catch (IOException e) {
            throw new ClifException(source + ": cannot register the single file: " + e.getMessage(), e);
        }
    }

    /** The registered file with {@code sha256}, if it is still there unchanged (same size and modification time). */
    public static Path registered(String sha256) {
        Path entry = cacheRoot().resolve("sources").resolve(sha256 + ".json");
        if (!Files.isRegularFile(entry)) return null;
        JsonNode n = ModelFolder.readJson(entry);
        Path p = Path.of(n.path("path").asText());
        try {
            if (Files.isRegularFile(p) && Files.size(p) == n.path("size").asLong()
                    && Files.getLastModifiedTime(p).toMillis() == n.path("mtime_ms").asLong()) return p;
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** Writes the marker of {@code component} of the single file with {@code sha256} and {@code size}. */
    public static void writeMarker(Path marker, String component, String sha256, long size) {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("component", component);
        n.put("source_sha256", sha256);
        n.put("source_size", size);
        try {
            AtomicFile.writeBytes(marker, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
        } catch (IOException e) {
            throw new ClifException(marker + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** The view a marker stands for. A text encoder keeps only the layers its config.json beside the marker has. */
    static SafetensorsFile open(Path marker) {
        if (!Files.isRegularFile(marker)) throw new SafetensorsException(marker + ": no such file");
        JsonNode n = ModelFolder.readJson(marker);
        if (!FORMAT.equals(n.path("format").asText()))
            throw new SafetensorsException(marker + ": not a Clif single-file view (format " + n.path("format") + ", expected " + FORMAT + ")");
        String component = n.path("component").asText();
        if (!SingleFileCheckpoint.XL_COMPONENTS.contains(component))
            throw new SafetensorsException(marker + ": unknown component '" + component + "'");
        String sha = n.path("source_sha256").asText();
        Path source = registered(sha);
        if (source == null)
            throw new ClifException(marker + ": stands for the single file with SHA-256 " + sha + ", which this machine does not have "
                    + "(or which changed since): pass that .safetensors file with --model once so Clif finds it again");
        SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(source);
        try {
            List<SafetensorsWriter.Entry> entries = ckpt.component(component);
            Path config = marker.resolveSibling("config.json");
            if (component.equals("text_encoder") && Files.isRegularFile(config)) {
                int layers = ModelFolder.readJson(config).path("num_hidden_layers").asInt(Integer.MAX_VALUE);
                List<SafetensorsWriter.Entry> kept = new ArrayList<>();
                for (SafetensorsWriter.Entry e : entries) {
                    Matcher m = LAYER.matcher(e.name());
                    if (!m.matches() || Integer.parseInt(m.group(1)) < layers) kept.add(e); // SD 2.x drops OpenCLIP's last layer
                }
                entries = kept;
            }
            return ckpt.file().view(source, entries, Map.of("format", "pt"), ckpt::close);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }
}
