package dev.clif.model;

import dev.clif.ClifException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * The configuration of a diffusers {@code UNet2DConditionModel} (diffusers 0.25), read from a {@code unet/config.json}.
 * Missing fields take diffusers' defaults; per-block settings given as one value are expanded to one entry per
 * block, exactly as diffusers expands them, so every list here has one entry per down block (up-block lists are
 * in up-block order). {@link #toNativeJson()} writes the normalized form the native side builds the model from.
 *
 * <p>Historic naming, kept from diffusers: {@code attention_head_dim} is the <em>number of heads</em> of the
 * cross-attention blocks when {@code num_attention_heads} is null (diffusers 0.25 itself refuses a non-null
 * {@code num_attention_heads}; Clif accepts it with the meaning later diffusers versions give it).
 *
 * <p>Supported: CrossAttnDownBlock2D / DownBlock2D, UpBlock2D / CrossAttnUpBlock2D, mid block
 * UNetMidBlock2DCrossAttn or none, positional time embedding, resnet_time_scale_shift "default", and SDXL's added
 * conditioning ({@code addition_embed_type: "text_time"}: {@code add_time_proj} over the time ids and
 * {@code add_embedding} of the pooled text embeds with them). Anything else
 * (class embeddings, other addition embeddings, dual cross-attention, fourier time embedding, gated attention, ...) is refused
 * with an error naming the field. Fields that diffusers does not use for the supported block types
 * ({@code resnet_skip_time_act}, {@code resnet_out_scale_factor}, {@code cross_attention_norm},
 * {@code mid_block_only_cross_attention}, {@code addition_embed_type_num_heads}) are read and otherwise ignored.
 * Dropout is read but inference (and Clif's fine-tuning) run without it.
 *
 * @param source                          where the config came from (for messages)
 * @param timeEmbedDim                    time_embedding_dim, or block_out_channels[0] * 4
 * @param numAttentionHeads               heads of each down block's transformers (resolved)
 * @param transformerLayersPerBlock       per down block, per resnet: transformer blocks
 * @param upTransformerLayersPerBlock     per up block, per resnet (reverse_transformer_layers_per_block or the reverse)
 * @param midTransformerLayers            transformer blocks in the mid block's one attention
 * @param additionEmbedType               null, or "text_time" (SDXL)
 * @param additionTimeEmbedDim            text_time: the sinusoid width of each time id (0 without)
 * @param projectionClassEmbeddingsInputDim text_time: pooled text width + time ids x additionTimeEmbedDim (0 without)
 */
public record UNetConfig(
        String source,
        Integer sampleSize,
        int inChannels,
        int outChannels,
        boolean centerInputSample,
        boolean flipSinToCos,
        double freqShift,
        List<String> downBlockTypes,
        String midBlockType,
        List<String> upBlockTypes,
        List<Integer> blockOutChannels,
        List<Integer> layersPerBlock,
        List<Boolean> onlyCrossAttention,
        List<Integer> crossAttentionDim,
        List<Integer> attentionHeadDim,
        List<Integer> numAttentionHeads,
        List<List<Integer>> transformerLayersPerBlock,
        List<List<Integer>> upTransformerLayersPerBlock,
        int midTransformerLayers,
        int downsamplePadding,
        double midBlockScaleFactor,
        String actFn,
        int normNumGroups,
        double normEps,
        boolean useLinearProjection,
        boolean upcastAttention,
        int timeEmbedDim,
        String timeEmbeddingActFn,
        String timestepPostAct,
        int convInKernel,
        int convOutKernel,
        double dropout,
        String additionEmbedType,
        int additionTimeEmbedDim,
        int projectionClassEmbeddingsInputDim) {

    /** The largest default latent size accepted (SD 1.x: 64, SD 2.x: 96, SDXL: 128). */
    public static final int MAX_SAMPLE_SIZE = 1024;
    public static final String CROSS_DOWN = "CrossAttnDownBlock2D";
    public static final String DOWN = "DownBlock2D";
    public static final String CROSS_UP = "CrossAttnUpBlock2D";
    public static final String UP = "UpBlock2D";
    public static final String MID = "UNetMidBlock2DCrossAttn";
    public static final String TEXT_TIME = "text_time";
    private static final Set<String> ACTIVATIONS = Set.of("silu", "swish", "gelu", "mish", "relu");
    private static final ObjectMapper JSON = new ObjectMapper();

    public UNetConfig {
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        blockOutChannels = List.copyOf(blockOutChannels);
        layersPerBlock = List.copyOf(layersPerBlock);
        onlyCrossAttention = List.copyOf(onlyCrossAttention);
        crossAttentionDim = List.copyOf(crossAttentionDim);
        attentionHeadDim = Collections.unmodifiableList(new ArrayList<>(attentionHeadDim)); // may hold nulls
        numAttentionHeads = List.copyOf(numAttentionHeads);
        transformerLayersPerBlock = transformerLayersPerBlock.stream().map(List::copyOf).toList();
        upTransformerLayersPerBlock = upTransformerLayersPerBlock.stream().map(List::copyOf).toList();
    }

    /** Whether the UNet takes SDXL's added conditioning (text_embeds and time_ids) besides the text states. */
    public boolean hasTextTime() {
        return TEXT_TIME.equals(additionEmbedType);
    }

    /** Number of down (= up) blocks. */
    public int blocks() {
        return blockOutChannels.size();
    }

    /** Reads and validates {@code path} (a diffusers unet/config.json). */
    public static UNetConfig read(Path path) {
        JsonNode node;
        try {
            node = JSON.readTree(path.toFile());
        } catch (IOException e) {
            if (!Files.exists(path)) throw new ClifException(path + ": no such file (a diffusers UNet folder has a config.json)");
            throw new ClifException(path + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        return fromJson(node, path.toString());
    }

    /** Parses a config given as JSON text; {@code source} names it in error messages. */
    public static UNetConfig parse(String json, String source) {
        try {
            return fromJson(JSON.readTree(json), source);
        } catch (IOException e) {
            throw new ClifException(source + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }

    /** Stable Diffusion 1.5's UNet (runwayml/stable-diffusion-v1-5 unet/config.json), e.g. for benchmarks. */
    public static UNetConfig v1_5() {
        return parse("""
                {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 8,
                 "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false, "cross_attention_dim": 768,
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
                 "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}
                """, "UNetConfig.v1_5()");
    }

    /** Stable Diffusion 2.1's UNet (stabilityai/stable-diffusion-2-1 unet/config.json, 768-v). */
    public static UNetConfig v2_1() {
        return parse("""
                {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": [5, 10, 20, 20],
                 "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false, "cross_attention_dim": 1024,
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0,
                 "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
                 "norm_num_groups": 32, "num_class_embeds": null, "only_cross_attention": false, "out_channels": 4,
                 "sample_size": 96,
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                 "use_linear_projection": true, "upcast_attention": true}
                """, "UNetConfig.v2_1()");
    }

    /** Stable Diffusion XL 1.0 base's UNet (stabilityai/stable-diffusion-xl-base-1.0 unet/config.json, 2.6 B parameters). */
    public static UNetConfig xl() {
        return parse("""
                {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "addition_embed_type": "text_time",
                 "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
                 "block_out_channels": [320, 640, 1280], "center_input_sample": false, "cross_attention_dim": 2048,
                 "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0,
                 "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
                 "norm_num_groups": 32, "out_channels": 4, "projection_class_embeddings_input_dim": 2816,
                 "sample_size": 128, "transformer_layers_per_block": [1, 2, 10],
                 "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                 "use_linear_projection": true, "upcast_attention": false}
                """, "UNetConfig.xl()");
    }

    /** Builds the config from a parsed config.json, applying diffusers' defaults and expansions. */
    public static UNetConfig fromJson(JsonNode n, String source) {
        Reader r = new Reader(n, source);
        if (!n.isObject()) throw r.error("the UNet config must be a JSON object");
        String cls = r.str("_class_name", "UNet2DConditionModel");
        if (!cls.equals("UNet2DConditionModel"))
            throw r.error("'_class_name' is '" + cls + "'; Clif's UNet is a UNet2DConditionModel");

        // ---- refused features: each names its field ----
        r.requireValue("dual_cross_attention", false, "dual cross-attention (DualTransformer2DModel) is not supported");
        r.requireString("resnet_time_scale_shift", "default",
                "only 'default' is supported (the time embedding is added to the resnet features)");
        r.requireString("time_embedding_type", "positional", "only the positional (sinusoidal) time embedding is supported");
        r.requireString("attention_type", "default", "only 'default' attention is supported (no gated / GLIGEN attention)");
        for (String f : List.of("class_embed_type", "num_class_embeds", "encoder_hid_dim", "encoder_hid_dim_type", "time_cond_proj_dim"))
            r.requireNull(f, "class / encoder-projection embeddings are not supported (SD 1.x/2.x/XL UNets have none)");
        String added = r.nullableStr("addition_embed_type", null);
        int addTimeDim = 0, addInDim = 0;
        if (added == null) {
            for (String f : List.of("addition_time_embed_dim", "projection_class_embeddings_input_dim"))
                r.requireNull(f, "given without 'addition_embed_type' (diffusers then ignores it; Clif refuses the ambiguity)");
        } else if (added.equals(TEXT_TIME)) {
            Integer d = r.nullableInt("addition_time_embed_dim"), in = r.nullableInt("projection_class_embeddings_input_dim");
            if (d == null || d < 1) throw r.error("'addition_embed_type' is text_time, so 'addition_time_embed_dim' must be a positive integer");
            if (in == null || in <= d)
                throw r.error("'addition_embed_type' is text_time, so 'projection_class_embeddings_input_dim' must be an integer above 'addition_time_embed_dim'");
            addTimeDim = d;
            addInDim = in;
        } else throw r.error("field 'addition_embed_type' is '" + added + "': only text_time (SDXL) is supported");

        List<String> down = r.strings("down_block_types", List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN));
        List<String> up = r.strings("up_block_types", List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP));
        int blocks = down.size();
        if (blocks == 0) throw r.error("'down_block_types' is empty");
        down = normalizeTypes(r, "down_block_types", down, Set.of(CROSS_DOWN, DOWN));
        up = normalizeTypes(r, "up_block_types", up, Set.of(CROSS_UP, UP));
        if (up.size() != blocks)
            throw r.error("'up_block_types' has " + up.size() + " entries but 'down_block_types' has " + blocks);
        String mid = r.nullableStr("mid_block_type", MID);
        if (mid != null && !mid.equals(MID))
            throw r.error("'mid_block_type' is '" + mid + "'; supported: " + MID + " or null (no mid block)");

        List<Integer> channels = r.ints("block_out_channels", List.of(320, 640, 1280, 1280));
        if (channels.size() != blocks)
            throw r.error("'block_out_channels' has " + channels.size() + " entries but 'down_block_types' has " + blocks);
        for (int c : channels) if (c < 1) throw r.error("'block_out_channels' entries must be positive");

        List<Integer> layers = r.intOrList("layers_per_block", 2, blocks);
        for (int l : layers) if (l < 1) throw r.error("'layers_per_block' entries must be at least 1");
        List<Boolean> onlyCross = r.boolOrList("only_cross_attention", false, blocks);
        List<Integer> crossDim = r.intOrList("cross_attention_dim", 1280, blocks);
        List<Integer> headDim = r.nullableIntOrList("attention_head_dim", 8, blocks);
        List<Integer> heads;
        if (n.hasNonNull("num_attention_heads")) heads = r.intOrList("num_attention_heads", 8, blocks);
        else {
            // diffusers: num_attention_heads = num_attention_heads or attention_head_dim
            for (Integer h : headDim)
                if (h == null) throw r.error("'attention_head_dim' needs a value per block when 'num_attention_heads' is null");
            heads = headDim;
        }
        for (int h : heads) if (h < 1) throw r.error("attention heads ('attention_head_dim' / 'num_attention_heads') must be positive");

        // transformer_layers_per_block: int, or per block an int or a per-resnet list.
        JsonNode tl = n.get("transformer_layers_per_block");
        List<JsonNode> tlEntries = new ArrayList<>();
        boolean nested = false;
        if (tl == null || tl.isNull()) for (int i = 0; i < blocks; i++) tlEntries.add(JSON.getNodeFactory().numberNode(1));
        else if (tl.isInt()) for (int i = 0; i < blocks; i++) tlEntries.add(tl);
        else if (tl.isArray()) {
            if (tl.size() != blocks)
                throw r.error("'transformer_layers_per_block' has " + tl.size() + " entries but there are " + blocks + " blocks");
            for (JsonNode e : tl) {
                tlEntries.add(e);
                nested |= e.isArray();
            }
        } else throw r.error("'transformer_layers_per_block' must be an integer or a list");
        List<List<Integer>> downTl = new ArrayList<>();
        for (int i = 0; i < blocks; i++)
            downTl.add(perLayer(r, "transformer_layers_per_block[" + i + "]", tlEntries.get(i), layers.get(i)));
        JsonNode rev = n.get("reverse_transformer_layers_per_block");
        List<JsonNode> upEntries = new ArrayList<>();
        if (rev == null || rev.isNull()) {
            if (nested) throw r.error("'transformer_layers_per_block' holds per-resnet lists, so "
                    + "'reverse_transformer_layers_per_block' must be given (as diffusers requires)");
            for (int i = blocks - 1; i >= 0; i--) upEntries.add(tlEntries.get(i));
        } else {
            if (!rev.isArray() || rev.size() != blocks)
                throw r.error("'reverse_transformer_layers_per_block' must be a list with one entry per block");
            rev.forEach(upEntries::add);
        }
        List<List<Integer>> upTl = new ArrayList<>();
        for (int i = 0; i < blocks; i++)
            upTl.add(perLayer(r, "reverse_transformer_layers_per_block[" + i + "]", upEntries.get(i),
                    layers.get(blocks - 1 - i) + 1));
        JsonNode lastTl = tlEntries.get(blocks - 1);
        int midTl = lastTl.isArray() ? lastTl.get(0).asInt() : lastTl.asInt();
        if (midTl < 1) throw r.error("'transformer_layers_per_block' entries must be at least 1");

        JsonNode groupsNode = n.get("norm_num_groups");
        if (groupsNode != null && groupsNode.isNull())
            throw r.error("'norm_num_groups' null is not supported (the resnets and transformers need a group count)");
        int groups = r.integer("norm_num_groups", 32);
        if (groups < 1) throw r.error("'norm_num_groups' must be positive");
        for (int c : channels)
            if (c % groups != 0) throw r.error("'block_out_channels' entry " + c + " is not divisible by 'norm_num_groups' " + groups);

        // Cross-attention blocks: channels must split into the heads (head dim = channels / heads).
        for (int i = 0; i < blocks; i++) {
            if (down.get(i).equals(CROSS_DOWN)) checkHeads(r, "down block " + i, channels.get(i), heads.get(i));
            int ui = blocks - 1 - i;
            if (up.get(i).equals(CROSS_UP)) checkHeads(r, "up block " + i, channels.get(ui), heads.get(ui));
        }
        if (mid != null) checkHeads(r, "mid block", channels.get(blocks - 1), heads.get(blocks - 1));

        String act = r.activation("act_fn", "silu", false);
        Integer sampleSize = null;
        JsonNode ss = n.get("sample_size");
        if (ss != null && ss.isInt()) sampleSize = ss.asInt();
        else if (ss != null && ss.isArray() && !ss.isEmpty() && ss.get(0).isInt()) sampleSize = ss.get(0).asInt();
        // the default latent size: SD models have 64 to 128; a larger one would make every default image gigapixels
        if (sampleSize != null && (sampleSize < 1 || sampleSize > MAX_SAMPLE_SIZE))
            throw r.error("'sample_size' " + sampleSize + " is not a usable latent size (1 to " + MAX_SAMPLE_SIZE + ")");

        int kin = r.integer("conv_in_kernel", 3), kout = r.integer("conv_out_kernel", 3);
        if (kin < 1 || kin % 2 == 0) throw r.error("'conv_in_kernel' must be a positive odd number, got " + kin);
        if (kout < 1 || kout % 2 == 0) throw r.error("'conv_out_kernel' must be a positive odd number, got " + kout);
        int padding = r.integer("downsample_padding", 1);
        if (padding < 0) throw r.error("'downsample_padding' must not be negative");
        Integer ted = r.nullableInt("time_embedding_dim");
        int timeEmbedDim = ted != null ? ted : channels.get(0) * 4;
        if (timeEmbedDim < 1) throw r.error("'time_embedding_dim' must be positive");
        int inCh = r.integer("in_channels", 4), outCh = r.integer("out_channels", 4);
        if (inCh < 1 || outCh < 1) throw r.error("'in_channels' and 'out_channels' must be positive");
        double eps = r.number("norm_eps", 1e-5);
        if (!(eps > 0)) throw r.error("'norm_eps' must be positive");

        return new UNetConfig(source, sampleSize, inCh, outCh, r.bool("center_input_sample", false),
                r.bool("flip_sin_to_cos", true), r.number("freq_shift", 0), down, mid, up, channels, layers, onlyCross,
                crossDim, headDim, heads, downTl, upTl, midTl, padding, r.number("mid_block_scale_factor", 1), act, groups,
                eps, r.bool("use_linear_projection", false), r.bool("upcast_attention", false), timeEmbedDim,
                r.activation("time_embedding_act_fn", null, true), r.activation("timestep_post_act", null, true), kin, kout,
                r.number("dropout", 0), added, addTimeDim, addInDim);
    }

    private static void checkHeads(Reader r, String where, int channels, int heads) {
        if (channels % heads != 0)
            throw r.error(where + ": " + channels + " channels cannot be split into " + heads
                    + " attention heads ('attention_head_dim' / 'num_attention_heads' is the number of heads)");
    }

    private static List<String> normalizeTypes(Reader r, String field, List<String> types, Set<String> allowed) {
        List<String> out = new ArrayList<>();
        for (String t : types) {
            String s = t.startsWith("UNetRes") ? t.substring(7) : t; // diffusers strips this prefix too
            if (!allowed.contains(s))
                throw r.error("'" + field + "' names '" + t + "'; supported: " + String.join(", ", allowed.stream().sorted().toList()));
            out.add(s);
        }
        return out;
    }

    private static List<Integer> perLayer(Reader r, String where, JsonNode e, int layers) {
        List<Integer> out = new ArrayList<>();
        if (e.isInt()) {
            if (e.asInt() < 1) throw r.error("'" + where + "' must be at least 1");
            for (int i = 0; i < layers; i++) out.add(e.asInt());
        } else if (e.isArray()) {
            if (e.size() != layers) throw r.error("'" + where + "' has " + e.size() + " entries but the block has " + layers + " resnets");
            for (JsonNode v : e) {
                if (!v.isInt() || v.asInt() < 1) throw r.error("'" + where + "' entries must be positive integers");
                out.add(v.asInt());
            }
        } else throw r.error("'" + where + "' must be an integer or a list of integers");
        return out;
    }

    /** The normalized config the native constructor (clif_unet_new) reads: no defaults left to apply. */
    public String toNativeJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("in_channels", inChannels);
        o.put("out_channels", outChannels);
        o.put("center_input_sample", centerInputSample);
        o.put("flip_sin_to_cos", flipSinToCos);
        o.put("freq_shift", freqShift);
        o.put("act_fn", actFn);
        o.put("time_embedding_act_fn", timeEmbeddingActFn);
        o.put("timestep_post_act", timestepPostAct);
        o.put("time_embed_dim", timeEmbedDim);
        ArrayNode ch = o.putArray("block_out_channels");
        blockOutChannels.forEach(ch::add);
        o.put("norm_num_groups", normNumGroups);
        o.put("norm_eps", normEps);
        o.put("conv_in_kernel", convInKernel);
        o.put("conv_out_kernel", convOutKernel);
        o.put("downsample_padding", downsamplePadding);
        o.put("mid_block_scale_factor", midBlockScaleFactor);
        o.put("use_linear_projection", useLinearProjection);
        o.put("upcast_attention", upcastAttention);
        o.put("conv_norm_out", true);
        if (additionEmbedType == null) o.putNull("addition_embed_type");
        else {
            o.put("addition_embed_type", additionEmbedType);
            o.put("addition_time_embed_dim", additionTimeEmbedDim);
            o.put("projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim);
        }
        int n = blocks();
        ArrayNode downs = o.putArray("down_blocks");
        for (int i = 0; i < n; i++)
            block(downs.addObject(), downBlockTypes.get(i).equals(CROSS_DOWN), layersPerBlock.get(i),
                    transformerLayersPerBlock.get(i), numAttentionHeads.get(i), crossAttentionDim.get(i), onlyCrossAttention.get(i));
        if (midBlockType == null) o.putNull("mid_block");
        else {
            ObjectNode m = o.putObject("mid_block");
            m.put("cross_attention", true);
            m.putArray("transformer_layers").add(midTransformerLayers);
            m.put("num_attention_heads", numAttentionHeads.get(n - 1));
            m.put("cross_attention_dim", crossAttentionDim.get(n - 1));
        }
        ArrayNode ups = o.putArray("up_blocks");
        for (int i = 0; i < n; i++) {
            int ri = n - 1 - i; // diffusers reverses every per-block list for the up path
            block(ups.addObject(), upBlockTypes.get(i).equals(CROSS_UP), layersPerBlock.get(ri) + 1,
                    upTransformerLayersPerBlock.get(i), numAttentionHeads.get(ri), crossAttentionDim.get(ri),
                    onlyCrossAttention.get(ri));
        }
        return o.toString();
    }

    private static void block(ObjectNode b, boolean cross, int layers, List<Integer> tl, int heads, int crossDim, boolean onlyCross) {
        b.put("cross_attention", cross);
        b.put("num_layers", layers);
        ArrayNode t = b.putArray("transformer_layers");
        if (cross) tl.forEach(t::add);
        b.put("num_attention_heads", heads);
        b.put("cross_attention_dim", crossDim);
        b.put("only_cross_attention", onlyCross);
    }

    /** Typed access to config fields with diffusers' defaults; errors name the file and the field. */
    private record Reader(JsonNode n, String source) {
        ClifException error(String message) {
            return new ClifException(source + ": " + message);
        }

        JsonNode get(String f) {
            JsonNode v = n.get(f);
            return v == null || v.isNull() ? null : v;
        }

        int integer(String f, int def) {
            JsonNode v = get(f);
            if (v == null) return def;
            if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble())))
                throw error("field '" + f + "' must be an integer, got " + v);
            return v.asInt();
        }

        Integer nullableInt(String f) {
            return get(f) == null ? null : integer(f, 0);
        }

        double number(String f, double def) {
            JsonNode v = get(f);
            if (v == null) return def;
            if (!v.isNumber()) throw error("field '" + f + "' must be a number, got " + v);
            return v.asDouble();
        }

        boolean bool(String f, boolean def) {
            JsonNode v = get(f);
            if (v == null) return def;
            if (!v.isBoolean()) throw error("field '" + f + "' must be true or false, got " + v);
            return v.asBoolean();
        }

        String str(String f, String def) {
            JsonNode v = get(f);
            if (v == null) return def;
            if (!v.isTextual()) throw error("field '" + f + "' must be a string, got " + v);
            return v.textValue();
        }

        /** Like str, but an explicit null stays null (absent gives the default). */
        String nullableStr(String f, String def) {
            JsonNode v = n.get(f);
            if (v == null) return def;
            if (v.isNull()) return null;
            if (!v.isTextual()) throw error("field '" + f + "' must be a string or null, got " + v);
            return v.textValue();
        }

        String activation(String f, String def, boolean nullable) {
            String a = nullable ? nullableStr(f, def) : str(f, def);
            if (a == null) return null;
            String low = a.toLowerCase(Locale.ROOT);
            if (!ACTIVATIONS.contains(low))
                throw error("field '" + f + "' is '" + a + "'; supported: silu, swish, gelu, mish, relu");
            return low;
        }

        List<String> strings(String f, List<String> def) {
            JsonNode v = get(f);
            if (v == null) return def;
            if (!v.isArray()) throw error("field '" + f + "' must be a list of strings");
            List<String> out = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isTextual()) throw error("field '" + f + "' must be a list of strings");
                out.add(e.textValue());
            }
            return out;
        }

        List<Integer> ints(String f, List<Integer> def) {
            JsonNode v = get(f);
            if (v == null) return def;
            if (!v.isArray()) throw error("field '" + f + "' must be a list of integers");
            List<Integer> out = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isIntegralNumber()) throw error("field '" + f + "' must be a list of integers, got " + v);
                out.add(e.asInt());
            }
            return out;
        }

        private <T> List<T> oneOrList(String f, T def, int blocks, Function<JsonNode, T> scalar, String kind) {
            JsonNode v = get(f);
            List<T> out = new ArrayList<>();
            if (v == null || !v.isArray()) {
                T one = v == null ? def : scalar.apply(v);
                if (one == null && v != null) throw error("field '" + f + "' must be " + kind + " or a list of them, got " + v);
                for (int i = 0; i < blocks; i++) out.add(one);
                return out;
            }
            if (v.size() != blocks)
                throw error("field '" + f + "' has " + v.size() + " entries but there are " + blocks + " blocks");
            for (JsonNode e : v) {
                T one = scalar.apply(e);
                if (one == null) throw error("field '" + f + "' must be " + kind + " or a list of them, got " + v);
                out.add(one);
            }
            return out;
        }

        List<Integer> intOrList(String f, int def, int blocks) {
            return oneOrList(f, def, blocks, e -> e.isIntegralNumber() ? e.asInt() : null, "an integer");
        }

        List<Integer> nullableIntOrList(String f, Integer def, int blocks) {
            JsonNode v = n.get(f);
            if (v != null && v.isNull()) {
                List<Integer> out = new ArrayList<>();
                for (int i = 0; i < blocks; i++) out.add(null);
                return out;
            }
            return oneOrList(f, def, blocks, e -> e.isIntegralNumber() ? e.asInt() : null, "an integer");
        }

        List<Boolean> boolOrList(String f, boolean def, int blocks) {
            return oneOrList(f, def, blocks, e -> e.isBoolean() ? e.asBoolean() : null, "true/false");
        }

        void requireNull(String f, String why) {
            if (get(f) != null) throw error("field '" + f + "' is " + n.get(f) + ": " + why);
        }

        void requireValue(String f, boolean expected, String why) {
            if (bool(f, expected) != expected) throw error("field '" + f + "' is " + n.get(f) + ": " + why);
        }

        void requireString(String f, String expected, String why) {
            String v = str(f, expected);
            if (!v.equals(expected)) throw error("field '" + f + "' is '" + v + "': " + why);
        }
    }
}
