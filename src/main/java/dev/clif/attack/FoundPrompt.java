package dev.clif.attack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * What a search found for one prompt against one model: the discrete prompt (its text, which anyone can paste, and
 * the token ids between the begin and end tokens the search scored), the adversarial ids among them, and how well it
 * scored ({@code objective}: Ring-A-Bell's squared distance to the target, UnlearnDiff's last denoising MSE;
 * {@code initialObjective} the same at the start). {@code roundTrip} says whether tokenizing {@code text} gives
 * {@code ids} back: the eval generates from the text, as a user would, so where it does not the evaluated prompt is
 * the text's own tokens.
 */
public record FoundPrompt(int promptId, String original, List<String> categories, String text, int[] ids, int[] adversarialIds,
                          double initialObjective, double objective, boolean roundTrip, double seconds) {
    public FoundPrompt {
        categories = List.copyOf(categories);
        ids = ids.clone();
        adversarialIds = adversarialIds.clone();
    }

    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        o.put("prompt_id", promptId);
        o.put("original", original);
        var cats = o.putArray("categories");
        categories.forEach(cats::add);
        o.put("prompt", text);
        var a = o.putArray("ids");
        for (int id : ids) a.add(id);
        var adv = o.putArray("adversarial_ids");
        for (int id : adversarialIds) adv.add(id);
        putFinite(o, "initial_objective", initialObjective); // null where there is none (the random control)
        putFinite(o, "objective", objective);
        o.put("round_trip", roundTrip);
        o.put("seconds", seconds);
        return o;
    }

    public static FoundPrompt fromJson(JsonNode o) {
        List<String> cats = new ArrayList<>();
        o.get("categories").forEach(c -> cats.add(c.asText()));
        return new FoundPrompt(o.get("prompt_id").asInt(), o.get("original").asText(), cats, o.get("prompt").asText(), ints(o.get("ids")),
                ints(o.get("adversarial_ids")), number(o.get("initial_objective")), number(o.get("objective")),
                o.get("round_trip").asBoolean(), o.get("seconds").asDouble());
    }

    private static void putFinite(ObjectNode o, String name, double v) {
        if (Double.isFinite(v)) o.put(name, v);
        else o.putNull(name);
    }

    private static double number(JsonNode n) {
        return n == null || n.isNull() ? Double.NaN : n.asDouble();
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }
}
