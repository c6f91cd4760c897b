package dev.clif.sampling;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.model.ClipTextConfig;
import dev.clif.model.ClipTextEncoder;
import dev.clif.model.Conditioning;
import dev.clif.model.SizeConditioning;
import dev.clif.model.UNet;
import dev.clif.model.UNetConfig;
import dev.clif.model.Vae;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.text.ClipTokenizer;

import dev.clif.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Stable Diffusion model loaded from a diffusers folder: tokenizer, text encoder, UNet, VAE and the scheduler
 * config, on one device; SD 1.x/2.x ({@code StableDiffusionPipeline}) or SDXL ({@code StableDiffusionXLPipeline}:
 * a second tokenizer and text encoder with projection, a {@code text_time} UNet). Whatever the family, callers
 * condition through {@link #condition} and {@link #predictNoise}, so sampling, purging, evaluation and serving need
 * no family switch. Closing it frees every native model.
 */
public final class StableDiffusion implements AutoCloseable {
    /** model_index.json's class of an SDXL folder. */
    public static final String XL_PIPELINE = "StableDiffusionXLPipeline";

    private final Path folder;
    private final ClipTokenizer tokenizer;
    private final ClipTextEncoder textEncoder;
    private final UNet unet;
    private final Vae vae;
    private final SchedulerConfig schedulerConfig;
    private final Device device;
    private final DType dtype;
    private final Xl xl;

    /** SDXL's second text tower and the pipeline option of model_index.json. */
    public record Xl(ClipTokenizer tokenizer2, ClipTextEncoder textEncoder2, boolean forceZerosForEmptyPrompt) {}

    public StableDiffusion(Path folder, ClipTokenizer tokenizer, ClipTextEncoder textEncoder, UNet unet, Vae vae,
                           SchedulerConfig schedulerConfig, Device device, DType dtype) {
        this(folder, tokenizer, textEncoder, unet, vae, schedulerConfig, device, dtype, null);
    }

    public StableDiffusion(Path folder, ClipTokenizer tokenizer, ClipTextEncoder textEncoder, UNet unet, Vae vae,
                           SchedulerConfig schedulerConfig, Device device, DType dtype, Xl xl) {
        this.folder = folder;
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.unet = unet;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
        this.device = device;
        this.dtype = dtype;
        this.xl = xl;
        if (unet.config().hasTextTime() && xl == null)
            throw new ClifException(folder + ": the UNet has SDXL's added conditioning (addition_embed_type text_time) but the folder "
                    + "has no second text encoder (text_encoder_2)");
    }

    /** Whether a diffusers folder is an SDXL pipeline (model_index.json's class, or a text_encoder_2 component). */
    public static boolean isXlFolder(Path folder) {
        Path index = folder.resolve("model_index.json");
        if (!Files.isRegularFile(index)) return false;
        com.fasterxml.jackson.databind.JsonNode n = ModelFolder.readJson(index);
        return XL_PIPELINE.equals(n.path("_class_name").asText()) || n.path("text_encoder_2").isArray();
    }

    /** The component folders a pipeline folder must have (SDXL: the second tokenizer and text encoder too). */
    public static List<String> requiredComponents(Path folder) {
        return isXlFolder(folder) ? List.of("tokenizer", "tokenizer_2", "text_encoder", "text_encoder_2", "unet", "vae", "scheduler")
                : List.of("tokenizer", "text_encoder", "unet", "vae", "scheduler");
    }

    /** Loads every component the pipeline needs from a diffusers StableDiffusionPipeline or StableDiffusionXLPipeline folder. */
    public static StableDiffusion load(Path folder, Device device, DType dtype) {
        ModelFolder model = ModelFolder.open(folder);
        boolean isXl = isXlFolder(folder);
        for (String c : requiredComponents(folder))
            if (!Files.isDirectory(ModelFolder.componentDir(folder, c)))
                throw new ClifException(folder + ": not a Stable Diffusion" + (isXl ? " XL" : "") + " folder: no " + c + "/ (found "
                        + model.describe() + ")");
        ClipTokenizer tokenizer = ClipTokenizer.load(ModelFolder.componentDir(folder, "tokenizer"));
        SchedulerConfig scheduler = SchedulerConfig.read(folder.resolve("scheduler"));
        ClipTextEncoder text = null, text2 = null;
        UNet unet = null;
        try {
            text = ClipTextEncoder.load(folder.resolve("text_encoder"), device, dtype);
            Xl xl = null;
            if (isXl) {
                ClipTokenizer tokenizer2 = ClipTokenizer.load(ModelFolder.componentDir(folder, "tokenizer_2"));
                text2 = ClipTextEncoder.load(folder.resolve("text_encoder_2"), true, device, dtype);
                boolean zeros = ModelFolder.readJson(folder.resolve("model_index.json")).path("force_zeros_for_empty_prompt").asBoolean(true);
                xl = new Xl(tokenizer2, text2, zeros);
            }
            unet = UNet.load(folder.resolve("unet"), device, dtype);
            if (isXl) checkXl(folder, unet.config(), text.config(), text2.config());
            // force_upcast (SDXL's VAE overflows in float16): decode in float32, as diffusers upcasts it
            boolean upcast = ModelFolder.readJson(folder.resolve("vae/config.json")).path("force_upcast").asBoolean(false);
            Vae vae = Vae.load(folder.resolve("vae"), device, upcast && dtype == DType.F16 ? DType.F32 : dtype);
            return new StableDiffusion(folder, tokenizer, text, unet, vae, scheduler, device, dtype, xl);
        } catch (RuntimeException e) {
            if (unet != null) unet.close();
            if (text2 != null) text2.close();
            if (text != null) text.close();
            throw e;
        }
    }

    /** The UNet's widths must be what the two encoders give (diffusers checks the added one in _get_add_time_ids). */
    private static void checkXl(Path folder, UNetConfig u, ClipTextConfig t1, ClipTextConfig t2) {
        if (!u.hasTextTime())
            throw new ClifException(folder + "/unet/config.json: an SDXL UNet needs addition_embed_type text_time");
        int states = t1.hiddenSize() + t2.hiddenSize();
        if (u.crossAttentionDim().stream().anyMatch(d -> d != states))
            throw new ClifException(folder + "/unet/config.json: cross_attention_dim " + u.crossAttentionDim() + " but the two text encoders give "
                    + t1.hiddenSize() + " + " + t2.hiddenSize() + " = " + states);
        int added = TIME_IDS * u.additionTimeEmbedDim() + t2.projectionDim();
        if (added != u.projectionClassEmbeddingsInputDim())
            throw new ClifException(folder + "/unet/config.json: projection_class_embeddings_input_dim is " + u.projectionClassEmbeddingsInputDim()
                    + " but " + TIME_IDS + " time ids x addition_time_embed_dim " + u.additionTimeEmbedDim() + " + text_encoder_2's projection_dim "
                    + t2.projectionDim() + " = " + added);
    }

    /** original_size (h, w), crops_coords_top_left (y, x), target_size (h, w). */
    public static final int TIME_IDS = 6;

    /** SDXL's second text tower, or null for SD 1.x/2.x. */
    public Xl xl() {
        return xl;
    }

    public boolean isXl() {
        return xl != null;
    }

    public Path folder() {
        return folder;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipTextEncoder textEncoder() {
        return textEncoder;
    }

    public UNet unet() {
        return unet;
    }

    public Vae vae() {
        return vae;
    }

    public SchedulerConfig schedulerConfig() {
        return schedulerConfig;
    }

    public Device device() {
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    /** How many pixels one latent cell covers per side (2^(number of VAE blocks − 1)). */
    public int vaeScaleFactor() {
        return 1 << (vae.config().blockOutChannels().size() - 1);
    }

    /** The default image side: the UNet's sample size times the VAE factor. */
    public int defaultImageSize() {
        Integer s = unet.config().sampleSize();
        return (s == null ? 64 : s) * vaeScaleFactor();
    }

    /**
     * The text states for {@code prompts} [n, 77, D]: SD 1.x/2.x: the text encoder's last hidden state for the
     * padded token ids, without attention mask, as StableDiffusionPipeline computes it; SDXL: both encoders'
     * hidden_states[-(clipSkip + 2)] concatenated on the feature axis (StableDiffusionXLPipeline.encode_prompt).
     */
    public Tensor encodePrompts(List<String> prompts, int clipSkip) {
        if (xl == null) {
            try (Tensor ids = ids(tokenizer, prompts)) {
                return textEncoder.encode(ids, clipSkip);
            }
        }
        Tensor hidden;
        try (TensorScope scope = TensorScope.open()) {
            hidden = scope.keep(encodeXl(prompts, clipSkip)[0]);
        }
        return hidden.attachToCurrentScope();
    }

    /**
     * The UNet's conditioning for {@code prompts} at an image of {@code width}x{@code height}. SD 1.x/2.x: the text
     * states alone. SDXL: the concatenated text states, the second encoder's pooled projection and the time ids
     * (original size = target size = the image, crop (0, 0), as the pipeline's defaults); with {@code negative} and the
     * folder's {@code force_zeros_for_empty_prompt}, an empty prompt gives zeros (diffusers zeroes the negative
     * conditioning when no negative prompt is given). Its tensors belong to the caller's scope, as
     * {@link #encodePrompts}' do.
     */
    public Conditioning condition(List<String> prompts, int clipSkip, int width, int height, boolean negative) {
        return condition(prompts, clipSkip, SizeConditioning.of(width, height), negative);
    }

    /** As above with SDXL's micro-conditioning given ({@code size}; SD 1.x/2.x ignore it). */
    public Conditioning condition(List<String> prompts, int clipSkip, SizeConditioning size, boolean negative) {
        if (xl == null) return Conditioning.of(encodePrompts(prompts, clipSkip));
        Conditioning conditioning;
        try (TensorScope scope = TensorScope.open()) {
            Tensor[] encoded = encodeXl(prompts, clipSkip);
            Tensor hidden = encoded[0], pooled = encoded[1];
            if (negative && xl.forceZerosForEmptyPrompt() && prompts.stream().anyMatch(String::isEmpty)) {
                Tensor[] h = new Tensor[prompts.size()], p = new Tensor[prompts.size()];
                for (int i = 0; i < prompts.size(); i++) {
                    Tensor hi = hidden.narrow(0, i, 1), pi = pooled.narrow(0, i, 1);
                    boolean zero = prompts.get(i).isEmpty();
                    h[i] = zero ? Tensor.zeros(hi.dtype(), hi.device(), hi.shape()) : hi;
                    p[i] = zero ? Tensor.zeros(pi.dtype(), pi.device(), pi.shape()) : pi;
                }
                hidden = Tensor.cat(0, h);
                pooled = Tensor.cat(0, p);
            }
            Tensor ids = timeIds(prompts.size(), size).to(hidden.device(), hidden.dtype());
            scope.keep(hidden);
            scope.keep(pooled);
            scope.keep(ids);
            conditioning = new Conditioning(hidden, pooled, ids);
        }
        return conditioning.attachToCurrentScope();
    }

    /** SDXL's add_time_ids for {@code rows} prompts: original size, crop top-left, target size (float32, [rows, 6]). */
    public static Tensor timeIds(int rows, int originalHeight, int originalWidth, int cropTop, int cropLeft, int targetHeight, int targetWidth) {
        return timeIds(rows, new SizeConditioning(originalHeight, originalWidth, cropTop, cropLeft, targetHeight, targetWidth));
    }

    /** The same rows of {@code size}'s ids. */
    public static Tensor timeIds(int rows, SizeConditioning size) {
        float[] one = size.ids();
        float[] all = new float[rows * TIME_IDS];
        for (int r = 0; r < rows; r++) System.arraycopy(one, 0, all, r * TIME_IDS, TIME_IDS);
        return Tensor.of(all, rows, TIME_IDS);
    }

    /** ε (or v) from the UNet for any family: the conditioning's added part goes with it. */
    public Tensor predictNoise(Tensor sample, Tensor timesteps, Conditioning c, boolean grad) {
        return unet.forward(sample, timesteps, c, grad);
    }

    /**
     * SDXL encode_prompt without the zeroing: hidden states of both towers concatenated [n, 77, D1 + D2] and the
     * pooled projection [n, P]. Every tensor made here belongs to the caller's scope.
     */
    private Tensor[] encodeXl(List<String> prompts, int clipSkip) {
        int index1 = textEncoder.config().numHiddenLayers() - 1 - clipSkip;
        int index2 = xl.textEncoder2().config().numHiddenLayers() - 1 - clipSkip;
        if (clipSkip < 0 || index1 < 0 || index2 < 0)
            throw new IllegalArgumentException("clip skip " + clipSkip + " is outside what the text encoders have");
        Tensor h1 = textEncoder.hiddenState(ids(tokenizer, prompts), null, index1, false);
        ClipTextEncoder.Output o2 = xl.textEncoder2().encodeWithPooled(ids(xl.tokenizer2(), prompts), index2);
        return new Tensor[] {Tensor.cat(-1, h1, o2.lastHiddenState().to(h1.dtype())), o2.pooled()};
    }

    private Tensor ids(ClipTokenizer tok, List<String> prompts) {
        long[][] rows = tok.encodeBatch(prompts);
        int len = tok.maxLength();
        long[] flat = new long[rows.length * len];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * len, len);
        try (Tensor cpu = Tensor.of(flat, rows.length, len)) {
            return cpu.to(device);
        }
    }

    @Override
    public void close() {
        vae.close();
        unet.close();
        textEncoder.close();
        if (xl != null) xl.textEncoder2().close();
    }
}
