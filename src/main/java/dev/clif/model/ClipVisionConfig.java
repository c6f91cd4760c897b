package dev.clif.model;

import static dev.clif.model.ClipTextConfig.integer;
import static dev.clif.model.ClipTextConfig.number;
import static dev.clif.model.ClipTextConfig.positive;
import static dev.clif.model.ClipTextConfig.string;

import dev.clif.ClifException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** transformers' {@code CLIPVisionConfig} (4.36), with its defaults for absent fields. */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                               int numChannels, int imageSize, int patchSize, String hiddenAct, double layerNormEps,
                               int projectionDim) {
    public ClipVisionConfig {
        String where = "CLIP vision config";
        positive(where, "hidden_size", hiddenSize);
        positive(where, "intermediate_size", intermediateSize);
        if (numHiddenLayers < 0) throw new ClifException(where + ": 'num_hidden_layers' must not be negative, got " + numHiddenLayers);
        positive(where, "num_attention_heads", numAttentionHeads);
        positive(where, "num_channels", numChannels);
        positive(where, "image_size", imageSize);
        positive(where, "patch_size", patchSize);
        positive(where, "projection_dim", projectionDim);
        if (hiddenSize % numAttentionHeads != 0)
            throw new ClifException(where + ": 'hidden_size' " + hiddenSize + " is not divisible by 'num_attention_heads' " + numAttentionHeads);
        if (imageSize % patchSize != 0)
            throw new ClifException(where + ": 'image_size' " + imageSize + " is not a multiple of 'patch_size' " + patchSize);
        ClipTextConfig.activation(where, "hidden_act", hiddenAct);
        if (!(layerNormEps > 0)) throw new ClifException(where + ": 'layer_norm_eps' must be positive, got " + layerNormEps);
    }

    /** OpenAI CLIP ViT-L/14 at 224 px (openai/clip-vit-large-patch14). */
    public static ClipVisionConfig vitL14() {
        return new ClipVisionConfig(1024, 4096, 24, 16, 3, 224, 14, "quick_gelu", 1e-5, 768);
    }

    public static ClipVisionConfig fromJson(JsonNode n, String where) {
        if (n == null || !n.isObject()) throw new ClifException(where + ": not a JSON object");
        try {
            return new ClipVisionConfig(
                    integer(n, "hidden_size", 768, where),
                    integer(n, "intermediate_size", 3072, where),
                    integer(n, "num_hidden_layers", 12, where),
                    integer(n, "num_attention_heads", 12, where),
                    integer(n, "num_channels", 3, where),
                    integer(n, "image_size", 224, where),
                    integer(n, "patch_size", 32, where),
                    string(n, "hidden_act", "quick_gelu", where),
                    number(n, "layer_norm_eps", 1e-5, where),
                    integer(n, "projection_dim", 512, where));
        } catch (ClifException e) {
            if (e.getMessage().startsWith(where)) throw e;
            throw new ClifException(where + ": " + e.getMessage(), e);
        }
    }

    /** Patches per image side. */
    public int grid() {
        return imageSize / patchSize;
    }

    public String toNativeJson() {
        return ClipTextConfig.json(nativeNode());
    }

    ObjectNode nativeNode() {
        ObjectNode o = ClipTextConfig.JSON.createObjectNode();
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_channels", numChannels);
        o.put("image_size", imageSize);
        o.put("patch_size", patchSize);
        o.put("hidden_act", hiddenAct);
        o.put("layer_norm_eps", layerNormEps);
        o.put("projection_dim", projectionDim);
        return o;
    }
}
