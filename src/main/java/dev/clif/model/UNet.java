package dev.clif.model;

import dev.clif.ClifException;
import dev.clif.ffi.clif_h;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The Stable Diffusion UNet (diffusers' UNet2DConditionModel) as a native module. Parameters carry diffusers'
 * names, so a diffusers {@code unet/} folder loads with no renaming: {@link #load}.
 */
public final class UNet extends NativeModule {
    private final UNetConfig config;

    private UNet(MemorySegment out, UNetConfig config) {
        super(out);
        this.config = config;
    }

    /** A UNet with zeroed float32 parameters on the CPU. */
    public static UNet create(UNetConfig config) {
        NativeLibrary.load();
        byte[] json = config.toNativeJson().getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(json.length + 1);
            text.copyFrom(MemorySegment.ofArray(json));
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_unet_new(text, json.length, out));
            return new UNet(out, config);
        }
    }

    /**
     * Loads a diffusers UNet folder: {@code config.json} and {@code diffusion_pytorch_model.safetensors} (or the
     * shards of a {@code *.safetensors.index.json}). Pickled weights (.bin/.ckpt) are refused, never unpickled.
     * Every missing, unexpected, mis-shaped or non-finite tensor is reported by name.
     */
    public static UNet load(Path unetDir, Device device, DType dtype) {
        if (!Files.isDirectory(unetDir)) throw new ClifException(unetDir + ": not a folder (expected a diffusers unet/ folder)");
        UNetConfig config = UNetConfig.read(unetDir.resolve("config.json"));
        // every resnet of block i has a 3x3 convolution c_i -> c_i; every cross-attention block projects keys and values
        double atLeast = 0;
        for (int i = 0; i < config.blocks(); i++) {
            double c = config.blockOutChannels().get(i);
            atLeast += config.layersPerBlock().get(i) * (9 * c * c + 2.0 * config.crossAttentionDim().get(i) * c);
        }
        requireWeightsHold(unetDir, atLeast, "'block_out_channels', 'layers_per_block' and 'cross_attention_dim'");
        return prepare(create(config), device, dtype, m -> m.loadFolder(unetDir, Set.of()));
    }

    /**
     * A UNet with seeded random weights (for benchmarks and shape tests): every weight ~ 0.02 * N(0, 1), norm
     * weights ~ 1 + 0.02 * N(0, 1). Parameter i is drawn with seed {@code seed + i}.
     */
    public static UNet random(UNetConfig config, long seed, Device device, DType dtype) {
        return prepare(create(config), device, dtype, m -> initRandom(m, seed));
    }

    private static void initRandom(UNet unet, long seed) {
        List<String> names = unet.parameterNames();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            long[] shape;
            try (Tensor p = unet.parameter(name)) {
                shape = p.shape();
            }
            boolean norm = name.endsWith(".weight") && name.contains("norm");
            try (Tensor r = Tensor.randn(seed + i, DType.F32, Device.CPU, shape); Tensor v = r.scale(0.02)) {
                if (!norm) {
                    unet.setParameter(name, v);
                    continue;
                }
                try (Tensor ones = onesLike(shape); Tensor w = Tensor.axpby(1.0, ones, 1.0, v)) {
                    unet.setParameter(name, w);
                }
            }
        }
    }

    private static Tensor onesLike(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] ones = new float[Math.toIntExact(n)];
        Arrays.fill(ones, 1f);
        return Tensor.of(ones, shape);
    }

    public UNetConfig config() {
        return config;
    }

    /**
     * The predicted noise (or v), [B, out_channels, H, W].
     *
     * @param sample              [B, in_channels, H, W]
     * @param timesteps           0-dim, [1] or [B]; int64 or floating point
     * @param encoderHiddenStates [B, tokens, cross_attention_dim]
     * @param grad                record autograd (for a backward through the result); false runs without it
     */
    public Tensor forward(Tensor sample, Tensor timesteps, Tensor encoderHiddenStates, boolean grad) {
        if (config.hasTextTime())
            throw new IllegalArgumentException(config.source() + ": this UNet has addition_embed_type text_time (SDXL): it needs "
                    + "text_embeds and time_ids besides encoder_hidden_states (pass a Conditioning with its added part)");
        return forward(sample, timesteps, encoderHiddenStates, null, null, grad);
    }

    /** As above for any family: SDXL's added conditioning travels in {@code c} (and must, for a text_time UNet). */
    public Tensor forward(Tensor sample, Tensor timesteps, Conditioning c, boolean grad) {
        if (config.hasTextTime() && !c.hasAdded())
            throw new IllegalArgumentException(config.source() + ": this UNet has addition_embed_type text_time (SDXL): the "
                    + "conditioning lacks text_embeds and time_ids");
        if (!config.hasTextTime() && c.hasAdded())
            throw new IllegalArgumentException(config.source() + ": this UNet has no added conditioning, but text_embeds and time_ids were given");
        return forward(sample, timesteps, c.hiddenStates(), c.textEmbeds(), c.timeIds(), grad);
    }

    /**
     * The forward with SDXL's added conditioning given explicitly.
     *
     * @param textEmbeds [B, pooled width] or null (a UNet without added conditioning)
     * @param timeIds    [B, ids] or null
     */
    public Tensor forward(Tensor sample, Tensor timesteps, Tensor encoderHiddenStates, Tensor textEmbeds, Tensor timeIds, boolean grad) {
        long[] s = sample.shape();
        if (s.length != 4 || s[1] != config.inChannels())
            throw new IllegalArgumentException("sample must be [batch, " + config.inChannels() + ", height, width], got "
                    + Arrays.toString(s));
        long[] e = encoderHiddenStates.shape();
        if (e.length != 3 || e[0] != s[0])
            throw new IllegalArgumentException("encoder_hidden_states must be [batch=" + s[0] + ", tokens, dim], got "
                    + Arrays.toString(e));
        long[] t = timesteps.shape();
        if (t.length > 1 || (t.length == 1 && t[0] != 1 && t[0] != s[0]))
            throw new IllegalArgumentException("timesteps must be 0-dim, [1] or [batch=" + s[0] + "], got " + Arrays.toString(t));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_unet_forward_added(handle(), sample.handle(), timesteps.handle(),
                    encoderHiddenStates.handle(), textEmbeds == null ? MemorySegment.NULL : textEmbeds.handle(),
                    timeIds == null ? MemorySegment.NULL : timeIds.handle(), grad ? 1 : 0, out));
            return Tensor.adopt(out);
        }
    }

    /** Recompute every resnet / transformer in backward instead of keeping its activations (grad forwards only). */
    public void setGradientCheckpointing(boolean enabled) {
        NativeLibrary.check(clif_h.clif_unet_set_gradient_checkpointing(handle(), enabled ? 1 : 0));
    }
}
