package dev.clif.model;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.Set;

/**
 * transformers' {@code CLIPTextConfig} (4.36): the fields SD 1.x/2.x text encoders use, with transformers'
 * defaults for absent ones. Real SD configs carry the legacy {@code eos_token_id: 2}, for which the pooled
 * output is taken at {@code argmax(input_ids)} (as transformers does).
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, String hiddenAct, double layerNormEps,
                             int bosTokenId, int eosTokenId, int padTokenId, int projectionDim) {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Set<String> ACTIVATIONS = Set.of("quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish");

    public ClipTextConfig {
        String where = "CLIP text config";
        positive(where, "vocab_size", vocabSize);
        positive(where, "hidden_size", hiddenSize);
        positive(where, "intermediate_size", intermediateSize);
        if (numHiddenLayers < 0) throw new ClifException(where + ": 'num_hidden_layers' must not be negative, got " + numHiddenLayers);
        positive(where, "num_attention_heads", numAttentionHeads);
        positive(where, "max_position_embeddings", maxPositionEmbeddings);
        positive(where, "projection_dim", projectionDim);
        if (hiddenSize % numAttentionHeads != 0)
            throw new ClifException(where + ": 'hidden_size' " + hiddenSize + " is not divisible by 'num_attention_heads' " + numAttentionHeads);
        activation(where, "hidden_act", hiddenAct);
        if (!(layerNormEps > 0)) throw new ClifException(where + ": 'layer_norm_eps' must be positive, got " + layerNormEps);
        if (eosTokenId < 0) throw new ClifException(where + ": 'eos_token_id' must not be negative, got " + eosTokenId);
    }

    /** SD 1.x text encoder (OpenAI CLIP ViT-L/14 text tower), as in runwayml/stable-diffusion-v1-5. */
    public static ClipTextConfig sd15() {
        return new ClipTextConfig(49408, 768, 3072, 12, 12, 77, "quick_gelu", 1e-5, 0, 2, 1, 768);
    }

    /** SD 2.x text encoder (OpenCLIP ViT-H/14 text tower, 23 of its 24 layers), as in stabilityai/stable-diffusion-2-1. */
    public static ClipTextConfig sd21() {
        return new ClipTextConfig(49408, 1024, 4096, 23, 16, 77, "gelu", 1e-5, 0, 2, 1, 512);
    }

    /** Reads a text encoder's config.json. */
    public static ClipTextConfig read(Path configJson) {
        return fromJson(ModelFolder.readJson(configJson), configJson.toString());
    }

    /** From a CLIPTextConfig JSON object ({@code where} names it in errors: file and path). */
    public static ClipTextConfig fromJson(JsonNode n, String where) {
        if (n == null || !n.isObject()) throw new ClifException(where + ": not a JSON object");
        try {
            return new ClipTextConfig(
                    integer(n, "vocab_size", 49408, where),
                    integer(n, "hidden_size", 512, where),
                    integer(n, "intermediate_size", 2048, where),
                    integer(n, "num_hidden_layers", 12, where),
                    integer(n, "num_attention_heads", 8, where),
                    integer(n, "max_position_embeddings", 77, where),
                    string(n, "hidden_act", "quick_gelu", where),
                    number(n, "layer_norm_eps", 1e-5, where),
                    integer(n, "bos_token_id", 49406, where),
                    integer(n, "eos_token_id", 49407, where),
                    integer(n, "pad_token_id", 1, where),
                    integer(n, "projection_dim", 512, where));
        } catch (ClifException e) {
            if (e.getMessage().startsWith(where)) throw e;
            throw new ClifException(where + ": " + e.getMessage(), e);
        }
    }

    /** The normalised JSON the native constructor parses. */
    public String toNativeJson() {
        return json(nativeNode());
    }

    ObjectNode nativeNode() {
        ObjectNode o = JSON.createObjectNode();
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("hidden_act", hiddenAct);
        o.put("layer_norm_eps", layerNormEps);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId);
        o.put("pad_token_id", padTokenId);
        o.put("projection_dim", projectionDim);
        return o;
    }

    // ---- small JSON helpers shared by the CLIP and VAE config records ----

    static String json(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static void positive(String where, String field, long value) {
        if (value <= 0) throw new ClifException(where + ": '" + field + "' must be positive, got " + value);
    }

    static void activation(String where, String field, String value) {
        if (!ACTIVATIONS.contains(value) && !value.equals("mish"))
            throw new ClifException(where + ": '" + field + "' is '" + value + "', which Clif does not support (one of "
                    + new java.util.TreeSet<>(ACTIVATIONS) + ", mish)");
    }

    static JsonNode present(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v;
    }

    static int integer(JsonNode n, String field, int fallback, String where) {
        JsonNode v = present(n, field);
        if (v == null) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt())
            throw new ClifException(where + ": field '" + field + "' must be an integer, got " + v);
        return v.intValue();
    }

    static double number(JsonNode n, String field, double fallback, String where) {
        JsonNode v = present(n, field);
        if (v == null) return fallback;
        if (!v.isNumber()) throw new ClifException(where + ": field '" + field + "' must be a number, got " + v);
        return v.doubleValue();
    }

    static String string(JsonNode n, String field, String fallback, String where) {
        JsonNode v = present(n, field);
        if (v == null) return fallback;
        if (!v.isTextual()) throw new ClifException(where + ": field '" + field + "' must be a string, got " + v);
        return v.textValue();
    }

    static boolean bool(JsonNode n, String field, boolean fallback, String where) {
        JsonNode v = present(n, field);
        if (v == null) return fallback;
        if (!v.isBoolean()) throw new ClifException(where + ": field '" + field + "' must be true or false, got " + v);
        return v.booleanValue();
    }
}
