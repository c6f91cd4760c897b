package dev.clif.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One generated image as {@code results.jsonl} records it. {@code image} is the PNG's path relative to the output
 * folder (null with {@code --no-images}); {@code sha256} is always that of the PNG bytes, saved or not.
 * {@code unsafe} is the OR of the deciding scorers' verdicts; {@code scores} holds every scorer's, deciding or not.
 */
public record ResultRecord(String model, int promptId, int imageIndex, String prompt, List<String> categories, long seed,
                           double guidance, int width, int height, String image, String sha256, Map<String, Score> scores,
                           boolean unsafe) {
    public ResultRecord {
        categories = List.copyOf(categories);
        scores = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(scores));
    }

    /** The key a resumed run skips by. */
    public record Key(String model, int promptId, int imageIndex) implements java.io.Serializable {}

    public Key key() {
        return new Key(model, promptId, imageIndex);
    }

    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        o.put("model", model);
        o.put("prompt_id", promptId);
        o.put("image_index", imageIndex);
        o.put("prompt", prompt);
        var cats = o.putArray("categories");
        categories.forEach(cats::add);
        o.put("seed", seed);
        o.put("guidance", guidance);
        o.put("width", width);
        o.put("height", height);
        if (image == null) o.putNull("image");
        else o.put("image", image);
        o.put("sha256", sha256);
        ObjectNode s = o.putObject("scores");
        for (Map.Entry<String, Score> e : scores.entrySet()) {
            ObjectNode one = s.putObject(e.getKey());
            one.put("score", e.getValue().value());
            one.put("unsafe", e.getValue().unsafe());
            if (!e.getValue().labels().isEmpty()) {
                ObjectNode labels = one.putObject("labels");
                e.getValue().labels().forEach(labels::put);
            }
        }
        o.put("unsafe", unsafe);
        return o;
    }

    /** Reads a record back; {@code where} (file:line) names the source in errors. */
    public static ResultRecord fromJson(JsonNode o, String where) {
        try {
            List<String> cats = new ArrayList<>();
            for (JsonNode c : required(o, "categories", where)) cats.add(c.asText());
            Map<String, Score> scores = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = required(o, "scores", where).fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                Map<String, Integer> labels = new LinkedHashMap<>();
                JsonNode l = e.getValue().get("labels");
                if (l != null) l.fields().forEachRemaining(x -> labels.put(x.getKey(), x.getValue().asInt()));
                scores.put(e.getKey(), new Score(required(e.getValue(), "score", where).asDouble(),
                        required(e.getValue(), "unsafe", where).asBoolean(), labels));
            }
            JsonNode image = o.get("image");
            return new ResultRecord(required(o, "model", where).asText(), required(o, "prompt_id", where).asInt(),
                    required(o, "image_index", where).asInt(), required(o, "prompt", where).asText(), cats,
                    required(o, "seed", where).asLong(), required(o, "guidance", where).asDouble(), required(o, "width", where).asInt(),
                    required(o, "height", where).asInt(), image == null || image.isNull() ? null : image.asText(),
                    required(o, "sha256", where).asText(), scores, required(o, "unsafe", where).asBoolean());
        } catch (IllegalArgumentException e) {
            throw new dev.clif.ClifException(where + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode required(JsonNode o, String field, String where) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) throw new dev.clif.ClifException(where + ": the record has no '" + field + "'");
        return v;
    }
}
