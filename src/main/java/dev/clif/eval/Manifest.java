package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.AtomicFile;
import dev.clif.io.Sha256;
import dev.clif.tensor.NativeLibrary;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}: what makes an evaluation's numbers reproducible. {@code settings} is everything that decides
 * the images and verdicts (the prompt file's SHA-256 and filter, sampling settings, device and dtype, every model's
 * weight fingerprint, every scorer's files and their SHA-256); a resumed run must have the same settings.
 * {@code environment} (Clif and libtorch versions, Java, when) is recorded, not compared.
 */
public final class Manifest {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Manifest() {}

    public static ObjectNode settings(EvalConfig c, PromptSet set, List<ModelSpec> models, List<Scorer> deciding, List<Scorer> also) {
        return settings(c, set, models, deciding, also, null);
    }

    /** With the FID/KID feature extractor of a preservation run (null for none). */
    public static ObjectNode settings(EvalConfig c, PromptSet set, List<ModelSpec> models, List<Scorer> deciding, List<Scorer> also,
                                      FeatureExtractor features) {
        ObjectNode s = JSON.createObjectNode();
        ObjectNode p = s.putObject("prompts");
        if (c.prompts() != null) {
            p.put("file", c.prompts().toString());
            p.put("sha256", Sha256.of(c.prompts()));
        }
        p.put("format", set.format().name().toLowerCase(java.util.Locale.ROOT));
        p.put("count", set.prompts().size());
        p.putPOJO("refused", set.refused());
        ObjectNode f = p.putObject("filter");
        f.putPOJO("categories", c.filter().categories());
        f.put("hard_only", c.filter().hardOnly());
        if (c.filter().limit() == null) f.putNull("limit");
        else f.put("limit", c.filter().limit());
        s.put("images_per_prompt", c.imagesPerPrompt());
        s.put("steps", c.steps());
        s.put("scheduler", c.scheduler() == null ? "the model's own" : c.scheduler());
        putNullable(s, "guidance_override", c.guidance());
        putNullable(s, "seed_override", c.seed());
        s.put("size_override", c.width() == null ? null : c.width() + "x" + c.height());
        s.put("device", c.device().toString());
        s.put("dtype", c.dtype().name().toLowerCase(java.util.Locale.ROOT));
        s.put("batch", c.batch());
        ObjectNode ms = s.putObject("models");
        for (ModelSpec m : models) ms.putPOJO(m.name(), m.fingerprint());
        ObjectNode sc = s.putObject("scorers");
        for (Scorer x : deciding) sc.putPOJO(x.name(), withRole(x.describe(), "decides"));
        for (Scorer x : also) sc.putPOJO(x.name(), withRole(x.describe(), "reported"));
        EvalConfig.PreservationConfig pc = c.preservation();
        if (pc != null) {
            ObjectNode pr = s.putObject("preservation");
            if (pc.captions() != null) {
                ObjectNode cap = pr.putObject("captions");
                cap.put("file", pc.captions().toString());
                cap.put("sha256", Sha256.of(pc.captions()));
                putNullable(cap, "sample", pc.sample());
                cap.put("sample_seed", pc.sampleSeed());
            }
            pr.putPOJO("categories", pc.measured());
            if (pc.reference() == null) pr.putNull("fid_reference");
            else pr.put("fid_reference", pc.reference());
            if (features != null) pr.putPOJO("fid_features", features.describe());
        }
        return s;
    }

    private static Map<String, Object> withRole(Map<String, Object> d, String role) {
        Map<String, Object> o = new java.util.LinkedHashMap<>();
        o.put("role", role);
        o.putAll(d);
        return o;
    }

    private static void putNullable(ObjectNode o, String field, Number v) {
        if (v == null) o.putNull(field);
        else if (v instanceof Double d) o.put(field, d);
        else o.put(field, v.longValue());
    }

    /** Writes the manifest, or on resume checks that the run in {@code file} had the same settings. */
    public static void writeOrCheck(Path file, ObjectNode settings, boolean resume) {
        if (resume && Files.exists(file)) {
            JsonNode old;
            try {
                old = JSON.readTree(file.toFile());
            } catch (IOException e) {
                throw new ClifException(file + ": not a readable manifest: " + e.getMessage(), e);
            }
            JsonNode before = JSON.valueToTree(old.get("settings"));
            JsonNode now = JSON.valueToTree(settings);
            String diff = firstDifference("", before, now);
            if (diff != null)
                throw new ClifException(file.getParent() + " was made with other settings (" + diff + "): resume it with the same ones, or choose a new --out");
            return;
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("format", "clif-eval/1");
        ObjectNode env = root.putObject("environment");
        env.put("clif_version", version());
        env.put("libtorch", NativeLibrary.torchVersion());
        env.put("java", Runtime.version().toString());
        env.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        env.put("created", Instant.now().toString());
        root.set("settings", settings);
        AtomicFile.write(file, tmp -> JSON.writeValue(tmp.toFile(), root));
    }

    /** The path of the first field where two JSON trees differ, with both values; null if equal. */
    static String firstDifference(String path, JsonNode a, JsonNode b) {
        if (a == null || b == null) return a == b ? null : (path.isEmpty() ? "settings" : path) + ": " + a + " then, " + b + " now";
        if (a.isObject() && b.isObject()) {
            for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                String d = firstDifference(path.isEmpty() ? k : path + "." + k, a.get(k), b.get(k));
                if (d != null) return d;
            }
            for (Iterator<String> it = a.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!b.has(k)) return (path.isEmpty() ? k : path + "." + k) + ": " + a.get(k) + " then, absent now";
            }
            return null;
        }
        return a.equals(b) ? null : (path.isEmpty() ? "settings" : path) + ": " + a + " then, " + b + " now";
    }

    static String version() {
        String v = Manifest.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
