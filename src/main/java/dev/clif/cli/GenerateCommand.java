package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.sampling.ImageBytes;
import dev.clif.io.Png;
import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.SafeLatentDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `clif generate`: text to image with a diffusers Stable Diffusion folder. */
@Command(name = "generate", description = "Generate an image from a prompt with a Stable Diffusion model folder.")
public final class GenerateCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(GenerateCommand.class);

    @Option(names = "--model", required = true, description = "diffusers Stable Diffusion folder, 'shapes', or a single-file FILE.safetensors")
    Path model;

    @Option(names = "--config", description = "for a single-file --model: a diffusers folder with its configs, tokenizer and scheduler")
    Path config;

    @Option(names = "--prompt", required = true)
    String prompt;

    @Option(names = "--negative", defaultValue = "", description = "negative prompt (default: empty)")
    String negative;

    @Option(names = "--sld", description = "Safe Latent Diffusion with diffusers' preset weak, medium, strong or max")
    String sld;

    @Option(names = "--sld-concept", description = "SLD's safety concept (default: diffusers' own text)")
    String sldConcept;

    @Option(names = "--sld-warmup", description = "SLD warm-up steps (overrides the preset)")
    Integer sldWarmup;

    @Option(names = "--sld-scale", description = "SLD guidance scale s_S (overrides the preset)")
    Double sldScale;

    @Option(names = "--sld-threshold", description = "SLD threshold λ (overrides the preset)")
    Double sldThreshold;

    @Option(names = "--sld-momentum", description = "SLD momentum scale s_m (overrides the preset)")
    Double sldMomentum;

    @Option(names = "--sld-beta", description = "SLD momentum beta β_m (overrides the preset)")
    Double sldBeta;

    @Option(names = "--steps", defaultValue = "30")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "classifier-free guidance scale (<= 1 disables it)")
    double guidance;

    @Option(names = "--scheduler", description = "ddim, pndm, euler, euler-a, dpmpp-2m or dpmpp-2m-karras (A1111's 'Euler a', 'DPM++ 2M', 'DPM++ 2M Karras' too; default: the model's own)")
    String scheduler;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--size", description = "WxH (default: the model's native size)")
    String size;

    @Option(names = "--original-size", description = "SDXL micro-conditioning: original_size as WxH (default: --size)")
    String originalSize;

    @Option(names = "--crop-top-left", description = "SDXL micro-conditioning: crops_coords_top_left as TOP,LEFT (default: 0,0)")
    String cropTopLeft;

    @Option(names = "--target-size", description = "SDXL micro-conditioning: target_size as WxH (default: --size)")
    String targetSize;

    @Option(names = "--batch", defaultValue = "1", description = "images to generate; a batch is saved side by side")
    int batch;

    @Option(names = "--clip-skip", defaultValue = "0", description = "use the text encoder's layer -(1+N) (1 = penultimate)")
    int clipSkip;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (fp16 needs CUDA; bf16 on a CPU with AVX512-BF16 or AMX is faster)")
    String dtype;

    @Option(names = "--out", required = true, description = "PNG file to write")
    Path out;

    @Override
    public Integer call() {
        Device d = Device.parse(device).check();
        DType t = DType.parse(dtype);
        if (t == DType.F16 && d.isCpu()) throw new ClifException("--dtype " + dtype + " needs a CUDA device (the CPU runs fp32 or bf16)");
        if (!out.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png"))
            throw new ClifException("--out must name a .png file, got " + out);
        SafeLatentDiffusion safe = safety();
        long t0 = System.nanoTime();
        if (scheduler != null) dev.clif.sampling.Scheduler.normalizeKind(scheduler); // refuse an unknown name before loading
        try (StableDiffusion sd = StableDiffusion.load(dev.clif.eval.ModelAliases.resolve(model.toString(), config), d, t)) {
            int w = sd.defaultImageSize();
            int h = w;
            if (size != null) {
                String[] parts = size.toLowerCase(java.util.Locale.ROOT).split("x");
                try {
                    if (parts.length != 2) throw new NumberFormatException();
                    w = Integer.parseInt(parts[0]);
                    h = Integer.parseInt(parts[1]);
                } catch (NumberFormatException e) {
                    throw new ClifException("--size must look like 512x512, got '" + size + "'");
                }
            }
            log.info("loaded {} in {} ms", model, (System.nanoTime() - t0) / 1_000_000);
            Txt2Img.Request r = new Txt2Img.Request(prompt, negative, steps, guidance, scheduler, seed, w, h, batch, clipSkip, 0);
            Progress progress = new Progress("generate", steps);
            Txt2Img sampler = new Txt2Img(sd, safe);
            if (originalSize != null || cropTopLeft != null || targetSize != null) {
                if (!sd.isXl()) throw new ClifException("--original-size, --crop-top-left and --target-size are SDXL's micro-conditioning; "
                        + model + " is not an SDXL model");
                int[] o = originalSize == null ? new int[] {w, h} : pair(originalSize, "x", "--original-size", "1024x1024");
                int[] c = cropTopLeft == null ? new int[] {0, 0} : pair(cropTopLeft, ",", "--crop-top-left", "0,0");
                int[] g = targetSize == null ? new int[] {w, h} : pair(targetSize, "x", "--target-size", "1024x1024");
                try {
                    sampler = sampler.withSizeConditioning(new dev.clif.model.SizeConditioning(o[1], o[0], c[0], c[1], g[1], g[0]));
                } catch (IllegalArgumentException e) {
                    throw new ClifException(e.getMessage());
                }
            }
            try (Txt2Img.Result res = sampler.generate(r, (i, total, ts, in, o, g, lat) -> progress.update(i + 1, "t=" + (long) ts))) {
                byte[][] images = ImageBytes.toUint8Hwc(res.images());
                List<BufferedImage> row = new ArrayList<>();
                for (byte[] img : images) row.add(Png.rgb(img, w, h));
                Png.write(row.size() == 1 ? row.get(0) : Png.row(row, 2), out);
            }
        }
        System.err.println("wrote " + out);
        return 0;
    }

    /** Two integers separated by {@code sep} ("1024x768", "0,0"). */
    private static int[] pair(String text, String sep, String option, String example) {
        String[] parts = text.toLowerCase(java.util.Locale.ROOT).split(java.util.regex.Pattern.quote(sep));
        try {
            if (parts.length != 2) throw new NumberFormatException();
            return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
        } catch (NumberFormatException e) {
            throw new ClifException(option + " must look like " + example + ", got '" + text + "'");
        }
    }

    private SafeLatentDiffusion safety() {
        boolean any = sldConcept != null || sldWarmup != null || sldScale != null || sldThreshold != null || sldMomentum != null || sldBeta != null;
        if (sld == null) {
            if (any) throw new ClifException("--sld-concept and the other --sld-* options need --sld PRESET (weak, medium, strong, max)");
            return null;
        }
        SafeLatentDiffusion p = SafeLatentDiffusion.preset(sld);
        SafeLatentDiffusion s = new SafeLatentDiffusion(sldWarmup != null ? sldWarmup : p.warmupSteps(),
                sldScale != null ? sldScale : p.guidanceScale(), sldThreshold != null ? sldThreshold : p.threshold(),
                sldMomentum != null ? sldMomentum : p.momentumScale(), sldBeta != null ? sldBeta : p.momentumBeta(),
                sldConcept != null ? sldConcept : p.concept());
        if (!s.enabled(guidance))
            log.warn("SLD is off: it needs --guidance > 1 and a guidance scale s_S > 1 (as diffusers' safe pipeline)");
        return s;
    }
}
