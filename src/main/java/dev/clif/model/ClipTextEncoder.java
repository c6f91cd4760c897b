package dev.clif.model;

import dev.clif.ffi.clif_h;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * transformers' {@code CLIPTextModel}: Stable Diffusion's text encoder, or {@code CLIPTextModelWithProjection}
 * (SDXL's second text encoder: {@code text_projection}, no bias, on the pooled output). Parameters carry
 * transformers' names ({@code text_model.encoder.layers.0.self_attn.q_proj.weight}, ...).
 */
public final class ClipTextEncoder extends NativeModule {
    /** A buffer older text-encoder checkpoints carry (not a parameter; recomputed as arange). */
    public static final String POSITION_IDS = "text_model.embeddings.position_ids";

    /** The architecture name of a text encoder with projection in config.json / model_index.json. */
    public static final String WITH_PROJECTION = "CLIPTextModelWithProjection";

    private final ClipTextConfig config;
    private final boolean withProjection;

    private ClipTextEncoder(MemorySegment out, ClipTextConfig config, boolean withProjection) {
        super(out);
        this.config = config;
        this.withProjection = withProjection;
    }

    /** A model with zeroed float32 weights on the CPU (fill them with {@link #loadWeights}). */
    public static ClipTextEncoder create(ClipTextConfig config) {
        return create(config, false);
    }

    /** As {@link #create(ClipTextConfig)}; {@code withProjection} adds {@code text_projection} (CLIPTextModelWithProjection). */
    public static ClipTextEncoder create(ClipTextConfig config, boolean withProjection) {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            com.fasterxml.jackson.databind.node.ObjectNode node = config.nativeNode();
            node.put("with_projection", withProjection);
            byte[] json = ClipTextConfig.json(node).getBytes(StandardCharsets.UTF_8);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_text_new(arena.allocateFrom(ValueLayout.JAVA_BYTE, json), json.length, out));
            return new ClipTextEncoder(out, config, withProjection);
        }
    }

    /** Whether config.json names {@code CLIPTextModelWithProjection} among its architectures. */
    public static boolean namesProjection(Path configJson) {
        for (com.fasterxml.jackson.databind.JsonNode a : dev.clif.io.ModelFolder.readJson(configJson).path("architectures"))
            if (WITH_PROJECTION.equals(a.asText())) return true;
        return false;
    }

    /**
     * Loads a text encoder folder (config.json + model.safetensors or shards); with {@code text_projection} when
     * config.json's architectures name {@code CLIPTextModelWithProjection}.
     */
    public static ClipTextEncoder load(Path dir, Device device, DType dtype) {
        return load(dir, namesProjection(dir.resolve("config.json")), device, dtype);
    }

    /** As {@link #load(Path, Device, DType)} with the projection decided by the caller (e.g. model_index.json's class). */
    public static ClipTextEncoder load(Path dir, boolean withProjection, Device device, DType dtype) {
        ClipTextConfig config = ClipTextConfig.read(dir.resolve("config.json"));
        double h = config.hiddenSize(); // the token and position embeddings, and per layer the attention and MLP weights
        double atLeast = ((double) config.vocabSize() + config.maxPositionEmbeddings()) * h
                + config.numHiddenLayers() * (4 * h * h + 2 * h * config.intermediateSize());
        requireWeightsHold(dir, atLeast, "'vocab_size', 'max_position_embeddings', 'hidden_size', 'intermediate_size' and 'num_hidden_layers'");
        return prepare(create(config, withProjection), device, dtype, m -> m.loadFolder(dir, Set.of(POSITION_IDS)));
    }

    public boolean withProjection() {
        return withProjection;
    }

    /**
     * SDXL's prompt encoding in one pass: hidden_states[index] (before final_layer_norm: the penultimate is
     * {@code numHiddenLayers - 1}) and the pooled EOS state of the final-layer-normed last layer, projected by
     * {@code text_projection} when the model has it (CLIPTextModelWithProjection's text_embeds). No autograd.
     */
    public Output encodeWithPooled(Tensor inputIds, int index) {
        checkIds(inputIds, null);
        if (index < 0 || index > config.numHiddenLayers())
            throw new IllegalArgumentException("hidden state index " + index + " is outside 0.." + config.numHiddenLayers());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hidden = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment pooled = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_text_encode(handle(), inputIds.handle(), MemorySegment.NULL, index, 0, hidden, pooled));
            Tensor h = Tensor.adopt(hidden);
            return new Output(h, Tensor.adopt(pooled));
        }
    }

    /** Random weights (normal(0, 0.02), norms 1, biases 0) drawn from {@code seed}: for benchmarks and tests. */
    public static ClipTextEncoder random(ClipTextConfig config, long seed, Device device, DType dtype) {
        return prepare(create(config), device, dtype, m -> initRandom(m, seed));
    }

    public ClipTextConfig config() {
        return config;
    }

    /** The encoder's outputs; close both (or let a scope do it). */
    public record Output(Tensor lastHiddenState, Tensor pooled) implements AutoCloseable {
        @Override
        public void close() {
            if (lastHiddenState != null) lastHiddenState.close();
            if (pooled != null) pooled.close();
        }
    }

    /**
     * last_hidden_state = final_layer_norm(hidden_states[-(clipSkip + 1)]) [batch, seq, hidden] (clipSkip 0 is
     * the last layer, 1 the penultimate, as diffusers' clip_skip) and the pooled output at the EOS position
     * [batch, hidden] (always from the last layer).
     *
     * @param attentionMask null for the causal mask only (what StableDiffusionPipeline does), else [batch, seq]
     */
    public Output forward(Tensor inputIds, Tensor attentionMask, int clipSkip, boolean grad) {
        checkIds(inputIds, attentionMask);
        if (clipSkip < 0 || clipSkip > config.numHiddenLayers())
            throw new IllegalArgumentException("clipSkip " + clipSkip + " is outside 0.." + config.numHiddenLayers());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment last = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment pooled = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_text_forward(handle(), inputIds.handle(), handleOrNull(attentionMask),
                    clipSkip, grad ? 1 : 0, last, pooled));
            Tensor l = Tensor.adopt(last);
            return new Output(l, Tensor.adopt(pooled));
        }
    }

    /** Name of the token-embedding matrix [vocab, hidden]: row i is what id i feeds the encoder. */
    public static final String TOKEN_EMBEDDING = "text_model.embeddings.token_embedding.weight";

    /** A handle sharing the token-embedding matrix [vocab, hidden] (the parameter itself: do not modify it). */
    public Tensor tokenEmbeddings() {
        return parameter(TOKEN_EMBEDDING);
    }

    /**
     * The token embeddings of {@code ids} [batch, seq] as one [batch, seq, hidden] tensor: rows of
     * {@link #tokenEmbeddings()} copied exactly, so {@link #forwardEmbeds} on it equals {@link #forward} on the ids.
     */
    public Tensor embed(long[][] ids) {
        try (Tensor table = tokenEmbeddings()) {
            long vocab = table.shape()[0];
            Tensor[] rows = new Tensor[ids.length];
            try {
                for (int b = 0; b < ids.length; b++) {
                    Tensor[] tokens = new Tensor[ids[b].length];
                    try {
                        for (int i = 0; i < tokens.length; i++) {
                            long id = ids[b][i];
                            if (id < 0 || id >= vocab)
                                throw new IllegalArgumentException("token id " + id + " (row " + b + ", position " + i + ") is outside 0.." + (vocab - 1));
                            tokens[i] = table.narrow(0, id, 1);
                        }
                        try (Tensor row = Tensor.cat(0, tokens)) {
                            rows[b] = row.reshape(1, tokens.length, table.shape()[1]);
                        }
                    } finally {
                        for (Tensor t : tokens) if (t != null) t.close();
                    }
                }
                return Tensor.cat(0, rows);
            } finally {
                for (Tensor t : rows) if (t != null) t.close();
            }
        }
    }

    /**
     * {@link #forward} from token embeddings instead of ids (transformers' {@code inputs_embeds}): position embeddings
     * are added inside, and with {@code grad} a backward from the outputs reaches {@code inputsEmbeds} (mark it with
     * {@link Autograd#setRequiresGrad} or build it from a tensor that requires a gradient). Bit-identical to
     * {@link #forward} when {@code inputsEmbeds} holds the ids' rows ({@link #embed}).
     *
     * @param eosPositions per row, where the pooled output is taken (the first EOS of the ids); null when not wanted
     */
    public Output forwardEmbeds(Tensor inputsEmbeds, long[] eosPositions, Tensor attentionMask, int clipSkip, boolean grad) {
        long[] s = inputsEmbeds.shape();
        if (s.length != 3 || s[2] != config.hiddenSize())
            throw new IllegalArgumentException("inputs_embeds must be [batch, seq, " + config.hiddenSize() + "], got shape " + Arrays.toString(s));
        if (s[1] > config.maxPositionEmbeddings())
            throw new IllegalArgumentException("inputs_embeds has " + s[1] + " tokens but the model has " + config.maxPositionEmbeddings() + " positions");
        if (eosPositions != null && eosPositions.length != s[0])
            throw new IllegalArgumentException("eos positions: " + eosPositions.length + " for a batch of " + s[0]);
        if (clipSkip < 0 || clipSkip > config.numHiddenLayers())
            throw new IllegalArgumentException("clipSkip " + clipSkip + " is outside 0.." + config.numHiddenLayers());
        try (Arena arena = Arena.ofConfined(); Tensor eos = eosPositions == null ? null : Tensor.of(eosPositions, eosPositions.length)) {
            MemorySegment last = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment pooled = eosPositions == null ? MemorySegment.NULL : arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_text_forward_embeds(handle(), inputsEmbeds.handle(), handleOrNull(eos),
                    handleOrNull(attentionMask), clipSkip, grad ? 1 : 0, last, pooled));
            return new Output(Tensor.adopt(last), eosPositions == null ? null : Tensor.adopt(pooled));
        }
    }

    /** Where transformers takes the pooled output of a row of ids: the first {@code eos_token_id} (or, for old configs, the largest id). */
    public long eosPosition(long[] ids) {
        int best = 0;
        if (config.eosTokenId() == 2) {
            for (int i = 1; i < ids.length; i++) if (ids[i] > ids[best]) best = i;
            return best;
        }
        for (int i = 0; i < ids.length; i++) if (ids[i] == config.eosTokenId()) return i;
        return 0;
    }

    /** The prompt embeddings SD conditions on: last_hidden_state without attention mask, no autograd. */
    public Tensor encode(Tensor inputIds) {
        return encode(inputIds, 0);
    }

    /** As {@link #encode(Tensor)} with diffusers' clip_skip. */
    public Tensor encode(Tensor inputIds, int clipSkip) {
        checkIds(inputIds, null);
        if (clipSkip < 0 || clipSkip > config.numHiddenLayers())
            throw new IllegalArgumentException("clipSkip " + clipSkip + " is outside 0.." + config.numHiddenLayers());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment last = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_text_forward(handle(), inputIds.handle(), MemorySegment.NULL, clipSkip, 0,
                    last, MemorySegment.NULL));
            return Tensor.adopt(last);
        }
    }

    /** transformers' hidden_states[index] (0 = embeddings, numHiddenLayers = last layer), before final_layer_norm. */
    public Tensor hiddenState(Tensor inputIds, Tensor attentionMask, int index, boolean grad) {
        checkIds(inputIds, attentionMask);
        if (index < 0 || index > config.numHiddenLayers())
            throw new IllegalArgumentException("hidden state index " + index + " is outside 0.." + config.numHiddenLayers());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_text_hidden_state(handle(), inputIds.handle(), handleOrNull(attentionMask),
                    index, grad ? 1 : 0, out));
            return Tensor.adopt(out);
        }
    }

    void checkIds(Tensor ids, Tensor mask) {
        checkIds(ids, mask, config.maxPositionEmbeddings());
    }

    // ---- helpers shared by the CLIP and VAE models of this package ----

    static void checkIds(Tensor ids, Tensor mask, int maxPositions) {
        long[] s = ids.shape();
        if (s.length != 2 || s[0] == 0 || s[1] == 0)
            throw new IllegalArgumentException("input_ids must be a non-empty [batch, seq] tensor, got shape " + Arrays.toString(s));
        DType d = ids.dtype();
        if (d != DType.I64 && d != DType.I32) throw new IllegalArgumentException("input_ids must be I64 or I32, got " + d);
        if (s[1] > maxPositions)
            throw new IllegalArgumentException("input_ids has " + s[1] + " tokens but the model has " + maxPositions + " positions");
        if (mask != null && !Arrays.equals(mask.shape(), s))
            throw new IllegalArgumentException("attention_mask has shape " + Arrays.toString(mask.shape())
                    + " but input_ids has " + Arrays.toString(s));
    }

    static MemorySegment handleOrNull(Tensor t) {
        return t == null ? MemorySegment.NULL : t.handle();
    }


    /** Random init: weights ~ N(0, 0.02^2), norm weights 1, biases 0; each tensor drawn from its own seed. */
    static void initRandom(NativeModule m, long seed) {
        List<String> names = m.parameterNames();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            long[] shape;
            try (Tensor p = m.parameter(n)) {
                shape = p.shape();
            }
            if (n.endsWith(".bias")) continue; // zero already
            if (n.equals("logit_scale")) {
                try (Tensor t = Tensor.scalar((float) Math.log(1 / 0.07))) {
                    m.setParameter(n, t);
                }
                continue;
            }
            boolean norm = n.endsWith(".weight") && (n.contains("norm") || n.contains("layrnorm"));
            if (norm) {
                float[] ones = new float[Math.toIntExact(shape[0])];
                Arrays.fill(ones, 1f);
                try (Tensor t = Tensor.of(ones, shape)) {
                    m.setParameter(n, t);
                }
                continue;
            }
            try (Tensor r = Tensor.randn(seed * 1_000_003L + i, DType.F32, Device.CPU, shape); Tensor t = r.scale(0.02)) {
                m.setParameter(n, t);
            }
        }
    }
}
