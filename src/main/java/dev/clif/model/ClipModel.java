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
import java.util.Set;

/**
 * transformers' {@code CLIPModel}: vision and text towers with their projections, the loss model of the purge.
 * Features are unnormalised ({@code get_image_features} / {@code get_text_features}); with {@code grad}
 * the image features are differentiable down to the pixel values.
 */
public final class ClipModel extends NativeModule {
    /** Buffers older CLIP checkpoints carry (not parameters). */
    public static final Set<String> IGNORABLE = Set.of("text_model.embeddings.position_ids", "vision_model.embeddings.position_ids");

    private final ClipConfig config;

    private ClipModel(MemorySegment out, ClipConfig config) {
        super(out);
        this.config = config;
    }

    public static ClipModel create(ClipConfig config) {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            byte[] json = config.toNativeJson().getBytes(StandardCharsets.UTF_8);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_new(arena.allocateFrom(ValueLayout.JAVA_BYTE, json), json.length, out));
            return new ClipModel(out, config);
        }
    }

    /** Loads a CLIPModel folder (config.json + model.safetensors or shards). */
    public static ClipModel load(Path dir, Device device, DType dtype) {
        ClipConfig config = ClipConfig.read(dir.resolve("config.json"));
        return prepare(create(config), device, dtype, m -> m.loadFolder(dir, IGNORABLE));
    }

    public static ClipModel random(ClipConfig config, long seed, Device device, DType dtype) {
        return prepare(create(config), device, dtype, m -> ClipTextEncoder.initRandom(m, seed));
    }

    public ClipConfig config() {
        return config;
    }

    /** get_image_features: [batch, projection_dim], unnormalised. pixel_values: normalised [batch, C, size, size]. */
    public Tensor imageFeatures(Tensor pixelValues, boolean grad) {
        checkPixels(pixelValues);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_image_features(handle(), pixelValues.handle(), grad ? 1 : 0, out));
            return Tensor.adopt(out);
        }
    }

    /** get_text_features: [batch, projection_dim], unnormalised; attentionMask may be null. */
    public Tensor textFeatures(Tensor inputIds, Tensor attentionMask, boolean grad) {
        ClipTextEncoder.checkIds(inputIds, attentionMask, config.text().maxPositionEmbeddings());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_text_features(handle(), inputIds.handle(),
                    ClipTextEncoder.handleOrNull(attentionMask), grad ? 1 : 0, out));
            return Tensor.adopt(out);
        }
    }

    /** get_text_features of {@code texts}, tokenized by {@code tokenizer} (padded to its length, no mask: CLIP's own use). */
    public Tensor textFeatures(dev.clif.text.ClipTokenizer tokenizer, java.util.List<String> texts, Device device) {
        long[][] ids = tokenizer.encodeBatch(texts);
        int len = ids[0].length;
        long[] flat = new long[ids.length * len];
        for (int i = 0; i < ids.length; i++) System.arraycopy(ids[i], 0, flat, i * len, len);
        try (Tensor t = Tensor.of(flat, ids.length, len); Tensor onDevice = t.to(device)) {
            return textFeatures(onDevice, null, false);
        }
    }

    /** The vision tower's last_hidden_state [batch, 1 + patches, hidden] and pooled (post-layernormed class token). */
    public record VisionOutput(Tensor lastHiddenState, Tensor pooled) implements AutoCloseable {
        @Override
        public void close() {
            lastHiddenState.close();
            pooled.close();
        }
    }

    public VisionOutput vision(Tensor pixelValues, boolean grad) {
        checkPixels(pixelValues);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment last = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment pooled = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_vision_forward(handle(), pixelValues.handle(), grad ? 1 : 0, last, pooled));
            return new VisionOutput(Tensor.adopt(last), Tensor.adopt(pooled));
        }
    }

    /** CLIPModel.forward: normalised embeddings and the logit_scale-scaled cosine similarities. */
    public record Output(Tensor logitsPerImage, Tensor logitsPerText, Tensor imageEmbeds, Tensor textEmbeds) implements AutoCloseable {
        @Override
        public void close() {
            logitsPerImage.close();
            logitsPerText.close();
            imageEmbeds.close();
            textEmbeds.close();
        }
    }

    public Output forward(Tensor pixelValues, Tensor inputIds, Tensor attentionMask, boolean grad) {
        checkPixels(pixelValues);
        ClipTextEncoder.checkIds(inputIds, attentionMask, config.text().maxPositionEmbeddings());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(ValueLayout.ADDRESS), b = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment c = arena.allocate(ValueLayout.ADDRESS), d = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_forward(handle(), pixelValues.handle(), inputIds.handle(),
                    ClipTextEncoder.handleOrNull(attentionMask), grad ? 1 : 0, a, b, c, d));
            return new Output(Tensor.adopt(a), Tensor.adopt(b), Tensor.adopt(c), Tensor.adopt(d));
        }
    }

    /**
     * The differentiable preprocessing of the CLIP loss: images in [0, 1] [batch, C, h, w] resized to
     * image_size with torch's bicubic interpolation (align_corners=False, no antialias) and normalised with
     * {@code mean}/{@code std} (e.g. {@link ClipImageProcessor#OPENAI_MEAN}).
     */
    public Tensor preprocess(Tensor images01, double[] mean, double[] std, boolean grad) {
        int size = config.vision().imageSize();
        return preprocess(images01, size, size, mean, std, grad);
    }

    public static Tensor preprocess(Tensor images01, int height, int width, double[] mean, double[] std, boolean grad) {
        long[] s = images01.shape();
        if (s.length != 4) throw new IllegalArgumentException("images must be [batch, channels, h, w], got " + Arrays.toString(s));
        if (mean.length != s[1] || std.length != s[1])
            throw new IllegalArgumentException("mean/std need " + s[1] + " values, got " + mean.length + "/" + std.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_clip_preprocess(images01.handle(), height, width,
                    arena.allocateFrom(ValueLayout.JAVA_DOUBLE, mean), arena.allocateFrom(ValueLayout.JAVA_DOUBLE, std),
                    (int) s[1], grad ? 1 : 0, out));
            return Tensor.adopt(out);
        }
    }

    private void checkPixels(Tensor p) {
        long[] s = p.shape();
        ClipVisionConfig v = config.vision();
        if (s.length != 4 || s[0] == 0 || s[1] != v.numChannels() || s[2] != v.imageSize() || s[3] != v.imageSize())
            throw new IllegalArgumentException("pixel_values must be [batch, " + v.numChannels() + ", " + v.imageSize() + ", "
                    + v.imageSize() + "], got " + Arrays.toString(s));
        if (!p.dtype().floating) throw new IllegalArgumentException("pixel_values must be floating point, got " + p.dtype());
    }
}
