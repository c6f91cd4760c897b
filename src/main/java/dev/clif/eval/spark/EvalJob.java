package dev.clif.eval.spark;

import dev.clif.ClifException;
import dev.clif.eval.EvalConfig;
import dev.clif.eval.ModelSpec;
import dev.clif.eval.PromptSet;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An {@link EvalConfig} as the JSON text that travels to the executors: paths as strings (every executor must be able to
 * read them: a shared file system), models as their {@code NAME=SPEC}, so each task rebuilds the very config the driver
 * planned with and so the very same plan.
 */
final class EvalJob {
    private static final ObjectMapper JSON = new ObjectMapper();

    private EvalJob() {}

    static String toJson(EvalConfig c) {
        ObjectNode o = JSON.createObjectNode();
        if (c.prompts() != null) o.put("prompts", c.prompts().toString());
        o.putPOJO("categories", c.filter().categories());
        o.put("hard_only", c.filter().hardOnly());
        if (c.filter().limit() != null) o.put("limit", c.filter().limit());
        var models = o.putArray("models");
        for (ModelSpec m : c.models()) models.add(m.name() + "=" + m.spec());
        o.putPOJO("scorers", c.scorers());
        o.putPOJO("also_score", c.alsoScore());
        if (c.clip() != null) o.put("clip", c.clip().toString());
        o.put("images_per_prompt", c.imagesPerPrompt());
        o.put("steps", c.steps());
        if (c.guidance() != null) o.put("guidance", c.guidance());
        if (c.seed() != null) o.put("seed", c.seed());
        if (c.width() != null) o.put("width", c.width()).put("height", c.height());
        if (c.scheduler() != null) o.put("scheduler", c.scheduler());
        o.put("device", c.device().toString());
        o.put("dtype", c.dtype().name().toLowerCase(Locale.ROOT));
        o.put("batch", c.batch());
        o.put("out", c.out().toString());
        o.put("resume", c.resume());
        o.put("save_images", c.saveImages());
        if (c.referenceScorer() != null) o.put("reference_scorer", c.referenceScorer());
        o.put("bootstrap_samples", c.bootstrapSamples());
        o.put("bootstrap_seed", c.bootstrapSeed());
        EvalConfig.PreservationConfig p = c.preservation();
        if (p != null) {
            ObjectNode po = o.putObject("preservation");
            if (p.captions() != null) po.put("captions", p.captions().toString());
            if (p.sample() != null) po.put("sample", p.sample());
            po.put("sample_seed", p.sampleSeed());
            po.putPOJO("categories", p.categories());
            if (p.reference() != null) po.put("reference", p.reference());
            if (p.features() != null) po.put("features", p.features());
        }
        return o.toString();
    }

    static EvalConfig fromJson(String text) {
        JsonNode o;
        try {
            o = JSON.readTree(text);
        } catch (IOException e) {
            throw new ClifException("a Spark task received a malformed job description: " + e.getMessage(), e);
        }
        EvalConfig.Builder b = EvalConfig.builder()
                .prompts(o.has("prompts") ? Path.of(o.get("prompts").asText()) : null)
                .filter(new PromptSet.Filter(strings(o.get("categories")), o.get("hard_only").asBoolean(),
                        o.has("limit") ? o.get("limit").asInt() : null))
                .clip(o.has("clip") ? Path.of(o.get("clip").asText()) : null)
                .imagesPerPrompt(o.get("images_per_prompt").asInt())
                .steps(o.get("steps").asInt())
                .guidance(o.has("guidance") ? o.get("guidance").asDouble() : null)
                .seed(o.has("seed") ? o.get("seed").asLong() : null)
                .size(o.has("width") ? o.get("width").asInt() : null, o.has("height") ? o.get("height").asInt() : null)
                .scheduler(o.has("scheduler") ? o.get("scheduler").asText() : null)
                .device(Device.parse(o.get("device").asText()))
                .dtype(DType.parse(o.get("dtype").asText()))
                .batch(o.get("batch").asInt())
                .out(Path.of(o.get("out").asText()))
                .resume(o.get("resume").asBoolean())
                .saveImages(o.get("save_images").asBoolean())
                .referenceScorer(o.has("reference_scorer") ? o.get("reference_scorer").asText() : null)
                .bootstrap(o.get("bootstrap_samples").asInt(), o.get("bootstrap_seed").asLong());
        JsonNode p = o.get("preservation");
        if (p != null)
            b.preservation(new EvalConfig.PreservationConfig(p.has("captions") ? Path.of(p.get("captions").asText()) : null,
                    p.has("sample") ? p.get("sample").asInt() : null, p.get("sample_seed").asLong(), strings(p.get("categories")),
                    p.has("reference") ? p.get("reference").asText() : null, p.has("features") ? p.get("features").asText() : null));
        for (String m : strings(o.get("models"))) b.model(ModelSpec.parse(m));
        strings(o.get("scorers")).forEach(b::scorer);
        strings(o.get("also_score")).forEach(b::alsoScore);
        return b.build();
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
