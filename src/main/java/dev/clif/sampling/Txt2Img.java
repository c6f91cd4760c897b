package dev.clif.sampling;

import dev.clif.model.Conditioning;
import dev.clif.model.SizeConditioning;
import dev.clif.sampling.StableDiffusion;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Text-to-image sampling with classifier-free guidance, as diffusers' StableDiffusionPipeline does it:
 * encode [negative, prompt], draw the initial latents from the seed, and for each timestep run the UNet on
 * the doubled batch, combine uncond + g·(cond − uncond), and step the scheduler; then decode with the VAE.
 * One {@code long} seed drives every random draw, so the same request gives the same bytes.
 */
public final class Txt2Img {
    /** What to generate. {@code scheduler} null uses the model's own; {@code eta} applies to DDIM only. */
    public record Request(String prompt, String negativePrompt, int steps, double guidance, String scheduler, long seed,
                          int width, int height, int batch, int clipSkip, double eta) {
        public Request {
            if (prompt == null) throw new IllegalArgumentException("prompt is required");
            if (steps < 1) throw new IllegalArgumentException("steps must be at least 1, got " + steps);
            if (batch < 1) throw new IllegalArgumentException("batch must be at least 1, got " + batch);
            if (!(guidance >= 0) || Double.isInfinite(guidance)) throw new IllegalArgumentException("guidance must be a finite number >= 0");
            if (width < 8 || height < 8) throw new IllegalArgumentException("image size " + width + "x" + height + " is too small");
            if (eta < 0 || eta > 1) throw new IllegalArgumentException("eta must lie in [0, 1]");
        }

        public static Request of(String prompt, int steps, long seed, int size) {
            return new Request(prompt, "", steps, 7.5, null, seed, size, size, 1, 0, 0);
        }

        public boolean guided() {
            return guidance > 1;
        }
    }

    /** Called after each denoising step (progress bars, golden checks). Tensors are valid during the call only. */
    public interface StepListener {
        void onStep(int index, int total, double timestep, Tensor unetInput, Tensor unetOutput, Tensor guided, Tensor latents);
    }

    /** Final latents [B,4,h,w] and images in [0,1] [B,3,H,W] (owned by the caller). */
    public record Result(Tensor latents, Tensor images, double[] timesteps) implements AutoCloseable {
        @Override
        public void close() {
            latents.close();
            images.close();
        }
    }

    private final StableDiffusion model;
    private final SafeLatentDiffusion sld;
    private final SizeConditioning size;

    public Txt2Img(StableDiffusion model) {
        this(model, null);
    }

    /** With Safe Latent Diffusion's guidance ({@code sld} null: plain classifier-free guidance). */
    public Txt2Img(StableDiffusion model, SafeLatentDiffusion sld) {
        this(model, sld, null);
    }

    private Txt2Img(StableDiffusion model, SafeLatentDiffusion sld, SizeConditioning size) {
        this.model = model;
        this.sld = sld;
        this.size = size;
    }

    /** The same sampler with SDXL's micro-conditioning fixed to {@code size} (null: each request's image size, no crop). */
    public Txt2Img withSizeConditioning(SizeConditioning size) {
        if (size != null && !model.isXl())
            throw new IllegalArgumentException("size conditioning (original size, crop, target size) is SDXL's; " + model.folder() + " is not an SDXL model");
        return new Txt2Img(model, sld, size);
    }

    public SafeLatentDiffusion sld() {
        return sld;
    }

    /** The latent shape for a request, checking the size fits the VAE's factor. */
    public long[] latentShape(Request r) {
        int f = model.vaeScaleFactor();
        if (r.width() % f != 0 || r.height() % f != 0)
            throw new IllegalArgumentException("image size " + r.width() + "x" + r.height() + " must be a multiple of " + f);
        return new long[] {r.batch(), model.unet().config().inChannels(), r.height() / f, r.width() / f};
    }

    public Result generate(Request r, StepListener listener) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor noise = Tensor.randn(r.seed(), DType.F32, Device.CPU, latentShape(r));
            return generateFrom(r, noise, listener); // its tensors are already out of every scope
        }
    }

    /** As {@link #generate} but from given initial latents (before scaling by the scheduler's init sigma). */
    public Result generateFrom(Request r, Tensor initialLatents, StepListener listener) {
        String negative = r.negativePrompt() == null ? "" : r.negativePrompt();
        return generateBatch(Collections.nCopies(r.batch(), r.prompt()), Collections.nCopies(r.batch(), negative), r, initialLatents, listener);
    }

    /**
     * Several prompts in one batch: image i is {@code prompts.get(i)} against {@code negatives.get(i)} from row i of
     * {@code initialLatents}; steps, guidance, scheduler, size and clip skip come from {@code r} (its prompt and batch
     * are not used). The initial latents fix each image, so a batch gives each image what it would give alone, up to
     * the kernels' batch-size-dependent rounding.
     */
    public Result generateBatch(List<String> prompts, List<String> negatives, Request r, Tensor initialLatents, StepListener listener) {
        return generateBatch(prompts, negatives, r, initialLatents, null, listener);
    }

    /**
     * As above, with each image's own seed: Euler a draws image i's noise from {@code imageSeeds[i]} alone
     * ({@link EulerAncestralDiscreteScheduler}), so batching does not change an image. Null: {@code r.seed() + i}.
     */
    public Result generateBatch(List<String> prompts, List<String> negatives, Request r, Tensor initialLatents,
                                long[] imageSeeds, StepListener listener) {
        int n = prompts.size();
        if (imageSeeds != null && imageSeeds.length != n)
            throw new IllegalArgumentException(imageSeeds.length + " image seeds for " + n + " prompts");
        if (n < 1 || negatives.size() != n)
            throw new IllegalArgumentException(n + " prompts and " + negatives.size() + " negative prompts: need one of each per image");
        if (initialLatents.shape()[0] != n)
            throw new IllegalArgumentException(initialLatents.shape()[0] + " initial latents for " + n + " prompts");
        Device device = model.device();
        DType dtype = model.dtype();
        try (TensorScope scope = TensorScope.open();
             Scheduler scheduler = r.scheduler() == null ? Scheduler.create(model.schedulerConfig(), Scheduler.kindOfClass(model.schedulerConfig()))
                     : Scheduler.create(model.schedulerConfig(), r.scheduler())) {
            if (scheduler instanceof DdimScheduler ddim && r.eta() > 0) ddim.setEta(r.eta(), r.seed() + 1);
            if (scheduler instanceof EulerAncestralDiscreteScheduler ea)
                ea.setNoiseSeeds(imageSeeds != null ? imageSeeds : new long[] {r.seed()});
            // one conditioning type for every family (SDXL adds pooled text embeds and time ids to the text states)
            SizeConditioning micro = size != null ? size : SizeConditioning.of(r.width(), r.height());
            Conditioning cond = model.condition(new ArrayList<>(prompts), r.clipSkip(), micro, false);
            Conditioning context = cond;
            boolean safe = sld != null && sld.enabled(r.guidance());
            int copies = safe ? 3 : r.guided() ? 2 : 1;
            if (r.guided()) {
                Conditioning uncond = model.condition(new ArrayList<>(negatives), r.clipSkip(), micro, true);
                if (safe) { // StableDiffusionPipelineSafe's batch order: [uncond, cond, safety concept]
                    Conditioning concept = model.condition(new ArrayList<>(Collections.nCopies(n, sld.concept())), r.clipSkip(), micro, false);
                    context = Conditioning.cat(uncond, cond, concept);
                } else {
                    context = Conditioning.cat(uncond, cond); // diffusers' batch order: [uncond, cond]
                }
            }
            float[] momentum = null;
            Timesteps timesteps = scheduler.setTimesteps(r.steps());
            Tensor latents = initialLatents.to(device, dtype);
            if (scheduler.initNoiseSigma() != 1.0) latents = latents.scale(scheduler.initNoiseSigma());
            for (int i = 0; i < timesteps.size(); i++) {
                try (TensorScope step = TensorScope.open()) {
                    double t = timesteps.get(i);
                    Tensor doubled = copies == 3 ? Tensor.cat(0, latents, latents, latents)
                            : copies == 2 ? Tensor.cat(0, latents, latents) : latents;
                    Tensor input = scheduler.scaleModelInput(doubled, t);
                    Tensor tt = timesteps.tensor(i).to(device);
                    Tensor out = model.predictNoise(input, tt, context, false);
                    Tensor guidedNoise = out;
                    if (safe) {
                        float[] u = out.narrow(0, 0, n).to(Device.CPU, DType.F32).toFloatArray();
                        float[] c = out.narrow(0, n, n).to(Device.CPU, DType.F32).toFloatArray();
                        float[] sc = out.narrow(0, 2L * n, n).to(Device.CPU, DType.F32).toFloatArray();
                        if (momentum == null) momentum = new float[u.length];
                        float[] eps = sld.combine(u, c, sc, momentum, i, r.guidance());
                        guidedNoise = Tensor.of(eps, latents.shape()).to(out.device(), out.dtype());
                    } else if (r.guided()) {
                        Tensor uncond = out.narrow(0, 0, n);
                        Tensor condOut = out.narrow(0, n, n);
                        Tensor diff = Tensor.axpby(1, condOut, -1, uncond);
                        guidedNoise = Tensor.axpby(1, uncond, r.guidance(), diff);
                    }
                    Tensor next = scheduler.step(guidedNoise, t, latents);
                    if (listener != null) listener.onStep(i, timesteps.size(), t, input, out, guidedNoise, next);
                    step.keep(next);
                    scope.keep(latents).close();
                    latents = next;
                }
            }
            Tensor images = decode(latents);
            scope.keep(latents);
            scope.keep(images);
            return new Result(latents, images, timesteps.values());
        }
    }

    /** VAE decode of final latents, post-processed to [0,1] as diffusers' image processor does. */
    public Tensor decode(Tensor latents) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor scaled = latents.scale(1.0 / model.vae().scalingFactor());
            Tensor raw = model.vae().decode(scaled, false);
            Tensor one = Tensor.scalar(1f).to(raw.device(), raw.dtype());
            Tensor image = Tensor.axpby(0.5, raw, 0.5, one).clamp(0, 1);
            return scope.keep(image.to(Device.CPU, DType.F32));
        }
    }
}
