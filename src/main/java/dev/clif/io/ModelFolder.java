package dev.clif.io;

import dev.clif.ClifException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A diffusers model folder: either a pipeline ({@code model_index.json} naming components such as unet,
 * vae, text_encoder, tokenizer, scheduler, each a subfolder with its config) or a single component
 * folder ({@code config.json} + weights). Weights are safetensors, possibly sharded with an
 * {@code *.safetensors.index.json}; pickled checkpoints are refused, never unpickled.
 */
public final class ModelFolder {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PICKLE_SUFFIXES = List.of(".bin", ".ckpt", ".pt", ".pth", ".pkl");

    /** One component: its subfolder and the library/class model_index.json gives it. */
    public record Component(String name, String library, String className, Path dir) {
        /** The component's config.json (scheduler: scheduler_config.json), parsed. */
        public JsonNode config() {
            Path p = dir.resolve("config.json");
            if (!Files.exists(p)) p = dir.resolve("scheduler_config.json");
            return readJson(p);
        }

        /** The safetensors files holding its weights (empty for tokenizer/scheduler). */
        public List<Path> weightFiles() {
            return ModelFolder.weightFiles(dir);
        }
    }

    private final Path root;
    private final String className;
    private final List<Component> components;

    private ModelFolder(Path root, String className, List<Component> components) {
        this.root = root;
        this.className = className;
        this.components = components;
    }

    public static ModelFolder open(Path root) {
        if (!Files.isDirectory(root)) throw new ClifException(root + ": not a folder");
        Path index = root.resolve("model_index.json");
        if (Files.exists(index)) {
            JsonNode node = readJson(index);
            List<Component> comps = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().startsWith("_") || !e.getValue().isArray() || e.getValue().size() != 2) continue;
                JsonNode lib = e.getValue().get(0);
                JsonNode cls = e.getValue().get(1);
                if (lib.isNull() || cls.isNull()) continue; // e.g. safety_checker: [null, null]
                Path dir = componentDir(root, e.getKey());
                if (!Files.isDirectory(dir))
                    throw new ClifException(index + ": component '" + e.getKey() + "' has no folder " + dir);
                comps.add(new Component(e.getKey(), lib.asText(), cls.asText(), dir));
            }
            return new ModelFolder(root, node.path("_class_name").asText("pipeline"), List.copyOf(comps));
        }
        Path config = root.resolve("config.json");
        if (!Files.exists(config) && !Files.exists(root.resolve("scheduler_config.json"))
                && !Files.exists(root.resolve("vocab.json")))
            throw new ClifException(root + ": not a diffusers model folder (no model_index.json or config.json)");
        String cls = Files.exists(config) ? readJson(config).path("_class_name").asText(
                readJson(config).path("architectures").path(0).asText("model")) : "component";
        return new ModelFolder(root, cls, List.of(new Component(root.getFileName().toString(), "", cls, root)));
    }

    public Path root() {
        return root;
    }

    /**
     * The folder of component {@code name} under {@code root}. A tokenizer component (no weights) may also be a
     * symbolic link that a copy turned into a small text file holding the link's relative target (git writes links so
     * where they are off), e.g. an SDXL folder whose {@code tokenizer_2} is {@code ../tokenizer}: then the target, if it
     * is a tokenizer folder (it holds a vocab.json); anything else stays the file, which no loader takes for a folder.
     */
    public static Path componentDir(Path root, String name) {
        Path dir = root.resolve(name);
        if (!name.startsWith("tokenizer") || !Files.isRegularFile(dir)) return dir;
        try {
            if (Files.size(dir) > 1024) return dir;
            String target = Files.readString(dir).strip();
            if (target.isEmpty() || target.contains("\n")) return dir;
            Path resolved = root.resolve(target).normalize();
            return Files.isRegularFile(resolved.resolve("vocab.json")) ? resolved : dir;
        } catch (IOException | RuntimeException e) {
            return dir;
        }
    }

    public String className() {
        return className;
    }

    public List<Component> components() {
        return components;
    }

    public Component component(String name) {
        for (Component c : components) if (c.name().equals(name)) return c;
        throw new ClifException(root + ": model has no '" + name + "' component");
    }

    public String describe() {
        return className + " with " + components.size() + " component" + (components.size() == 1 ? "" : "s");
    }

    /**
     * The safetensors weight files of a component folder: a sharded index's shards, or the single
     * *.safetensors file. Pickled weights are refused with instructions.
     */
    public static List<Path> weightFiles(Path dir) {
        List<Path> safetensors = new ArrayList<>();
        List<Path> indexes = new ArrayList<>();
        List<Path> pickles = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (n.endsWith(".safetensors.index.json")) indexes.add(p);
                else if (n.endsWith(".safetensors") || n.endsWith(SingleFileView.SUFFIX)) safetensors.add(p);
                else if (PICKLE_SUFFIXES.stream().anyMatch(n::endsWith)) pickles.add(p);
            }
        } catch (IOException e) {
            throw new ClifException(dir + ": cannot list: " + e.getMessage(), e);
        }
        if (!indexes.isEmpty()) {
            if (indexes.size() > 1) throw new ClifException(dir + ": more than one sharded index: " + indexes);
            return shards(indexes.get(0));
        }
        // Prefer the full-precision file when a folder carries variants (model.fp16.safetensors, ...).
        List<Path> plain = safetensors.stream().filter(p -> p.getFileName().toString().chars().filter(ch -> ch == '.').count() == 1).toList();
        if (plain.size() == 1) return plain;
        if (safetensors.size() == 1) return safetensors;
        if (safetensors.size() > 1)
            throw new ClifException(dir + ": several weight files and no index saying which to use: " + safetensors);
        if (!pickles.isEmpty())
            throw new ClifException(dir + ": weights are only in pickled form (" + pickles.get(0).getFileName()
                    + "). Clif never unpickles files, which can run arbitrary code. Convert them to safetensors first, "
                    + "e.g. in Python: `DiffusionPipeline.from_pretrained(dir).save_pretrained(out, safe_serialization=True)` "
                    + "or `safetensors.torch.save_file(torch.load(f), 'model.safetensors')`.");
        return List.of();
    }

    private static List<Path> shards(Path index) {
        JsonNode map = readJson(index).path("weight_map");
        if (!map.isObject()) throw new ClifException(index + ": sharded index has no weight_map object");
        Set<Path> files = new LinkedHashSet<>();
        for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
            JsonNode f = it.next();
            if (!f.isTextual()) throw new ClifException(index + ": weight_map values must be file names");
            Path p = index.resolveSibling(f.textValue()).normalize();
            if (!p.getParent().equals(index.getParent().normalize()))
                throw new ClifException(index + ": shard '" + f.textValue() + "' lies outside the model folder");
            if (!Files.isRegularFile(p)) throw new ClifException(index + ": shard " + p.getFileName() + " is missing");
            files.add(p);
        }
        return List.copyOf(files);
    }

    public static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            if (!Files.exists(p)) throw new ClifException(p + ": no such file");
            throw new ClifException(p + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }
}
