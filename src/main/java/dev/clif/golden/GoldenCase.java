package dev.clif.golden;

import dev.clif.ClifException;
import dev.clif.io.SafetensorsFile;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One reference case: a sidecar {@code cases/X.json} (its {@code case}, {@code file}, {@code model} and,
 * for purge cases, {@code loss_model} fields) and the safetensors file of inputs and expected outputs it
 * names. Model folders are resolved relative to the golden directory (the parent of {@code cases/}).
 */
public final class GoldenCase implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final Path sidecarPath;
    private final JsonNode sidecar;
    private final SafetensorsFile tensors;

    private GoldenCase(Path root, Path sidecarPath, JsonNode sidecar, SafetensorsFile tensors) {
        this.root = root;
        this.sidecarPath = sidecarPath;
        this.sidecar = sidecar;
        this.tensors = tensors;
    }

    /** Every case under {@code root/cases}, sorted by file name. */
    public static List<Path> sidecars(Path root) {
        Path cases = root.resolve("cases");
        if (!Files.isDirectory(cases)) throw new ClifException(root + " has no cases/ folder");
        try (Stream<Path> s = Files.list(cases)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new ClifException("cannot list " + cases + ": " + e.getMessage(), e);
        }
    }

    public static GoldenCase open(Path sidecarPath) {
        JsonNode node;
        try {
            node = JSON.readTree(sidecarPath.toFile());
        } catch (IOException e) {
            throw new ClifException(sidecarPath + ": not a readable JSON sidecar: " + e.getMessage(), e);
        }
        for (String field : List.of("case", "file", "model"))
            if (!node.path(field).isTextual()) throw new ClifException(sidecarPath + ": sidecar has no '" + field + "' field");
        Path root = sidecarPath.toAbsolutePath().getParent().getParent();
        SafetensorsFile file = SafetensorsFile.open(sidecarPath.resolveSibling(node.get("file").textValue()));
        return new GoldenCase(root, sidecarPath, node, file);
    }

    public String name() {
        return sidecar.get("case").textValue();
    }

    public Path sidecarPath() {
        return sidecarPath;
    }

    public JsonNode sidecar() {
        return sidecar;
    }

    public SafetensorsFile tensors() {
        return tensors;
    }

    /** The folder named by the {@code model} field. */
    public Path model() {
        return folder("model");
    }

    /** The folder named by {@code field} ({@code model}, {@code loss_model}), relative to the golden root. */
    public Path folder(String field) {
        JsonNode f = sidecar.get(field);
        if (f == null || !f.isTextual()) throw new ClifException(sidecarPath + ": sidecar has no '" + field + "' field");
        Path p = root.resolve(f.textValue()).normalize();
        if (!Files.exists(p)) throw new ClifException(sidecarPath + ": '" + field + "' names " + p + ", which does not exist");
        return p;
    }

    public Path root() {
        return root;
    }

    /** A stored tensor as a native CPU tensor (caller closes it, or a scope does). */
    public Tensor tensor(String name) {
        return tensors.load(name);
    }

    /** The tolerance at {@code suggested_tolerance[.path...]}. */
    public Tolerance tolerance(String... path) {
        JsonNode n = sidecar.path("suggested_tolerance");
        for (String p : path) n = n.path(p);
        if (n.isMissingNode()) throw new ClifException(sidecarPath + ": no suggested_tolerance." + String.join(".", path));
        return Tolerance.from(n);
    }

    /** Names of stored tensors starting with {@code prefix}. */
    public List<String> names(String prefix) {
        List<String> out = new ArrayList<>();
        for (String n : tensors.names()) if (n.startsWith(prefix)) out.add(n);
        return out;
    }

    @Override
    public void close() {
        tensors.close();
    }
}
