package dev.clif.model;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.sampling.SchedulerConfig;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Stable Diffusion 1.x/2.x model loaded from a diffusers folder: tokenizer, text encoder, UNet, VAE and
 * the scheduler config, on one device. Closing it frees every native model.
 */
public final class StableDiffusion implements AutoCloseable {
    private final Path folder;
    private final ClipTokenizer tokenizer;
    private final ClipTextEncoder textEncoder;
    private final UNet unet;
    private final Vae vae;
    private final SchedulerConfig schedulerConfig;
    private final Device device;
    private final DType dtype;

    public StableDiffusion(Path folder, ClipTokenizer tokenizer, ClipTextEncoder textEncoder, UNet unet, Vae vae,
                           SchedulerConfig schedulerConfig, Device device, DType dtype) {
        this.folder = folder;
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.unet = unet;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
        this.device = device;
        this.dtype = dtype;
    }

    /** Loads every component the pipeline needs from a diffusers StableDiffusionPipeline folder. */
    public static StableDiffusion load(Path folder, Device device, DType dtype) {
        ModelFolder model = ModelFolder.open(folder);
        for (String c : new String[] {"tokenizer", "text_encoder", "unet", "vae", "scheduler"})
            if (!Files.isDirectory(folder.resolve(c)))
                throw new ClifException(folder + ": not a Stable Diffusion folder: no " + c + "/ (found " + model.describe() + ")");
        ClipTokenizer tokenizer = ClipTokenizer.load(folder.resolve("tokenizer"));
        SchedulerConfig scheduler = SchedulerConfig.read(folder.resolve("scheduler"));
        ClipTextEncoder text = null;
        UNet unet = null;
        try {
            text = ClipTextEncoder.load(folder.resolve("text_encoder"), device, dtype);
            unet = UNet.load(folder.resolve("unet"), device, dtype);
            Vae vae = Vae.load(folder.resolve("vae"), device, dtype);
            return new StableDiffusion(folder, tokenizer, text, unet, vae, scheduler, device, dtype);
        } catch (RuntimeException e) {
            if (unet != null) unet.close();
            if (text != null) text.close();
            throw e;
        }
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
     * The conditioning for {@code prompts}: the text encoder's last hidden state [n, 77, hidden] for the
     * padded token ids, without attention mask, as StableDiffusionPipeline computes it.
     */
    public Tensor encodePrompts(java.util.List<String> prompts, int clipSkip) {
        long[][] rows = tokenizer.encodeBatch(prompts);
        int len = tokenizer.maxLength();
        long[] flat = new long[rows.length * len];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * len, len);
        try (Tensor ids = Tensor.of(flat, rows.length, len); Tensor onDevice = ids.to(device)) {
            return textEncoder.encode(onDevice, clipSkip);
        }
    }

    @Override
    public void close() {
        vae.close();
        unet.close();
        textEncoder.close();
    }
}
