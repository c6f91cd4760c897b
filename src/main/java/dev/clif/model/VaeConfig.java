package dev.clif.model;

import static dev.clif.model.ClipTextConfig.bool;
import static dev.clif.model.ClipTextConfig.integer;
import static dev.clif.model.ClipTextConfig.number;
import static dev.clif.model.ClipTextConfig.positive;
import static dev.clif.model.ClipTextConfig.string;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code AutoencoderKL} config (0.25, plus the later {@code mid_block_add_attention},
 * {@code use_quant_conv}, {@code use_post_quant_conv} when present), with diffusers' defaults.
 */
public record VaeConfig(int inChannels, int outChannels, List<String> downBlockTypes, List<String> upBlockTypes,
                        List<Integer> blockOutChannels, int layersPerBlock, String actFn, int latentChannels,
                        int normNumGroups, int sampleSize, double scalingFactor, boolean midBlockAddAttention,
                        boolean useQuantConv, boolean usePostQuantConv) {
    public VaeConfig {
        String where = "VAE config";
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        blockOutChannels = List.copyOf(blockOutChannels);
        positive(where, "in_channels", inChannels);
        positive(where, "out_channels", outChannels);
        positive(where, "latent_channels", latentChannels);
        positive(where, "layers_per_block", layersPerBlock);
        positive(where, "norm_num_groups", normNumGroups);
        positive(where, "sample_size", sampleSize);
        if (blockOutChannels.isEmpty()) throw new ClifException(where + ": 'block_out_channels' is empty");
        if (downBlockTypes.size() != blockOutChannels.size() || upBlockTypes.size() != blockOutChannels.size())
            throw new ClifException(where + ": 'down_block_types' (" + downBlockTypes.size() + "), 'up_block_types' ("
                    + upBlockTypes.size() + ") and 'block_out_channels' (" + blockOutChannels.size() + ") must have the same length");
        for (String t : downBlockTypes)
            if (!t.equals("DownEncoderBlock2D"))
                throw new ClifException(where + ": 'down_block_types' holds '" + t + "'; Clif's VAE supports DownEncoderBlock2D only");
        for (String t : upBlockTypes)
            if (!t.equals("UpDecoderBlock2D"))
                throw new ClifException(where + ": 'up_block_types' holds '" + t + "'; Clif's VAE supports UpDecoderBlock2D only");
        for (int c : blockOutChannels) {
            positive(where, "block_out_channels", c);
            if (c % normNumGroups != 0)
                throw new ClifException(where + ": 'block_out_channels' entry " + c + " is not divisible by 'norm_num_groups' " + normNumGroups);
        }
        ClipTextConfig.activation(where, "act_fn", actFn);
        if (!(scalingFactor > 0)) throw new ClifException(where + ": 'scaling_factor' must be positive, got " + scalingFactor);
    }

    /** The SD 1.x/2.x VAE (runwayml/stable-diffusion-v1-5 vae): 4 blocks 128-256-512-512, 512 px. */
    public static VaeConfig sd() {
        return new VaeConfig(3, 3, List.of("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"),
                List.of("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"),
                List.of(128, 256, 512, 512), 2, "silu", 4, 32, 512, 0.18215, true, true, true);
    }

    public static VaeConfig read(Path configJson) {
        return fromJson(ModelFolder.readJson(configJson), configJson.toString());
    }

    public static VaeConfig fromJson(JsonNode n, String where) {
        if (n == null || !n.isObject()) throw new ClifException(where + ": not a JSON object");
        try {
            return new VaeConfig(
                    integer(n, "in_channels", 3, where),
                    integer(n, "out_channels", 3, where),
                    strings(n, "down_block_types", List.of("DownEncoderBlock2D"), where),
                    strings(n, "up_block_types", List.of("UpDecoderBlock2D"), where),
                    ints(n, "block_out_channels", List.of(64), where),
                    integer(n, "layers_per_block", 1, where),
                    string(n, "act_fn", "silu", where),
                    integer(n, "latent_channels", 4, where),
                    integer(n, "norm_num_groups", 32, where),
                    sampleSize(n, where),
                    number(n, "scaling_factor", 0.18215, where),
                    bool(n, "mid_block_add_attention", true, where),
                    bool(n, "use_quant_conv", true, where),
                    bool(n, "use_post_quant_conv", true, where));
        } catch (ClifException e) {
            if (e.getMessage().startsWith(where)) throw e;
            throw new ClifException(where + ": " + e.getMessage(), e);
        }
    }

    /** Spatial factor between images and latents (2^(blocks - 1)). */
    public int downscaleFactor() {
        return 1 << (blockOutChannels.size() - 1);
    }

    public String toNativeJson() {
        ObjectNode o = ClipTextConfig.JSON.createObjectNode();
        o.put("in_channels", inChannels);
        o.put("out_channels", outChannels);
        ArrayNode d = o.putArray("down_block_types");
        downBlockTypes.forEach(d::add);
        ArrayNode u = o.putArray("up_block_types");
        upBlockTypes.forEach(u::add);
        ArrayNode b = o.putArray("block_out_channels");
        blockOutChannels.forEach(b::add);
        o.put("layers_per_block", layersPerBlock);
        o.put("act_fn", actFn);
        o.put("latent_channels", latentChannels);
        o.put("norm_num_groups", normNumGroups);
        o.put("sample_size", sampleSize);
        o.put("scaling_factor", scalingFactor);
        o.put("mid_block_add_attention", midBlockAddAttention);
        o.put("use_quant_conv", useQuantConv);
        o.put("use_post_quant_conv", usePostQuantConv);
        return ClipTextConfig.json(o);
    }

    private static int sampleSize(JsonNode n, String where) {
        JsonNode v = ClipTextConfig.present(n, "sample_size");
        if (v != null && v.isArray() && v.size() > 0) v = v.get(0); // some configs give [h, w]
        if (v == null) return 32;
        if (!v.isIntegralNumber() || !v.canConvertToInt())
            throw new ClifException(where + ": field 'sample_size' must be an integer, got " + v);
        return v.intValue();
    }

    private static List<String> strings(JsonNode n, String field, List<String> fallback, String where) {
        JsonNode v = ClipTextConfig.present(n, field);
        if (v == null) return fallback;
        if (!v.isArray()) throw new ClifException(where + ": field '" + field + "' must be a list of strings, got " + v);
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) throw new ClifException(where + ": field '" + field + "' must be a list of strings, got " + v);
            out.add(e.textValue());
        }
        return out;
    }

    private static List<Integer> ints(JsonNode n, String field, List<Integer> fallback, String where) {
        JsonNode v = ClipTextConfig.present(n, field);
        if (v == null) return fallback;
        if (!v.isArray()) throw new ClifException(where + ": field '" + field + "' must be a list of integers, got " + v);
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isIntegralNumber() || !e.canConvertToInt())
                throw new ClifException(where + ": field '" + field + "' must be a list of integers, got " + v);
            out.add(e.intValue());
        }
        return out;
    }
}
