package dev.clif.model;

import static dev.clif.model.ClipTextConfig.integer;
import static dev.clif.model.ClipTextConfig.number;
import static dev.clif.model.ClipTextConfig.positive;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;

/**
 * transformers' {@code CLIPConfig} (4.36): both towers' configs, the shared projection size and the initial
 * logit scale. Absent tower fields take transformers' defaults (configs saved with {@code use_diff} omit them).
 */
public record ClipConfig(ClipTextConfig text, ClipVisionConfig vision, int projectionDim, double logitScaleInitValue) {
    public ClipConfig {
        if (text == null || vision == null) throw new ClifException("CLIP config: text and vision configs are required");
        positive("CLIP config", "projection_dim", projectionDim);
    }

    /** OpenAI CLIP ViT-L/14 (openai/clip-vit-large-patch14), the usual CLIP-loss model. */
    public static ClipConfig vitL14() {
        return new ClipConfig(ClipTextConfig.sd15(), ClipVisionConfig.vitL14(), 768, 2.6592);
    }

    public static ClipConfig read(Path configJson) {
        return fromJson(ModelFolder.readJson(configJson), configJson.toString());
    }

    public static ClipConfig fromJson(JsonNode n, String where) {
        if (n == null || !n.isObject()) throw new ClifException(where + ": not a JSON object");
        JsonNode t = n.get("text_config");
        JsonNode v = n.get("vision_config");
        if (t != null && !t.isNull() && !t.isObject()) throw new ClifException(where + ": field 'text_config' must be an object");
        if (v != null && !v.isNull() && !v.isObject()) throw new ClifException(where + ": field 'vision_config' must be an object");
        ObjectNode empty = ClipTextConfig.JSON.createObjectNode();
        ClipTextConfig text = ClipTextConfig.fromJson(t == null || t.isNull() ? empty : t, where + " text_config");
        ClipVisionConfig vision = ClipVisionConfig.fromJson(v == null || v.isNull() ? empty : v, where + " vision_config");
        return new ClipConfig(text, vision, integer(n, "projection_dim", 512, where),
                number(n, "logit_scale_init_value", 2.6592, where));
    }

    public String toNativeJson() {
        ObjectNode o = ClipTextConfig.JSON.createObjectNode();
        o.set("text_config", text.nativeNode());
        o.set("vision_config", vision.nativeNode());
        o.put("projection_dim", projectionDim);
        o.put("logit_scale_init_value", logitScaleInitValue);
        return ClipTextConfig.json(o);
    }
}
