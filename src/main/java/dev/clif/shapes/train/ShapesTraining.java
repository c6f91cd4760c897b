package dev.clif.shapes.train;

import dev.clif.ClifException;
import dev.clif.model.ClipTextEncoder;
import dev.clif.model.Vae;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.text.ClipTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole shapes-world training: VAE, then CLIP, then the SD UNet (on the VAE's latents, conditioned on the
 * CLIP's frozen text tower), leaving {@code out/sd} (a StableDiffusionPipeline folder: model_index.json, unet/,
 * vae/, text_encoder/, tokenizer/, scheduler/) and {@code out/clip} (a CLIPModel folder with its tokenizer and
 * preprocessor config). Checkpoints go to {@code out/checkpoints/}; a stage that finished leaves
 * {@code out/checkpoints/<stage>.done}, so {@code resume} skips it and continues an unfinished one.
 *
 * <p>The time budget is shared out over the stages that remain (VAE 20%, CLIP 15%, UNet 65%); a stage that
 * reaches its share stops early and saves what it has (logged), so a run is bit-for-bit reproducible from its
 * seed only when no stage is cut.
 */
public final class ShapesTraining {
    private static final Logger log = LoggerFactory.getLogger(ShapesTraining.class);

    public record Plan(VaeTrainer.Config vae, ClipTrainer.Config clip, SdTrainer.Config sd) {
        public static Plan standard() {
            return new Plan(VaeTrainer.Config.standard(), ClipTrainer.Config.standard(), SdTrainer.Config.standard());
        }
    }

    public record Options(Path out, long seed, double minutesBudget, boolean resume, Path tokenizer, DType weights,
                          Plan plan, TrainLoop.Listener listener) {}

    public record Report(TrainLoop.Stats vae, TrainLoop.Stats clip, TrainLoop.Stats unet, double scalingFactor,
                         double clipAccuracy, double seconds) {}

    private ShapesTraining() {}

    public static Report run(Options o) {
        long start = System.nanoTime();
        long budget = (long) (o.minutesBudget() * 60e9);
        ShapesWorld world = new ShapesWorld();
        ClipTokenizer tokenizer = ClipTokenizer.load(o.tokenizer());
        Path sd = o.out().resolve("sd"), clipDir = o.out().resolve("clip"), ck = o.out().resolve("checkpoints");
        try {
            if (!o.resume()) ModelWriter.deleteTree(ck);
            Files.createDirectories(ck);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TrainLoop.Stats vaeStats = null, clipStats = null, unetStats = null;
        double clipAcc = Double.NaN;
        // VAE
        if (!done(ck, VaeTrainer.STAGE)) {
            long deadline = start + share(budget, start, 0.20, 1.0);
            VaeTrainer.Result r = VaeTrainer.train(o.plan().vae(), world, o.seed(), ck.resolve("vae.safetensors"), o.resume(),
                    deadline, o.listener());
            try (Vae v = r.vae()) {
                VaeTrainer.write(r, sd.resolve("vae"), o.weights());
            }
            vaeStats = r.stats();
            markDone(ck, VaeTrainer.STAGE);
        } else log.info("vae: already trained ({}), skipped", sd.resolve("vae"));
        // CLIP
        if (!done(ck, ClipTrainer.STAGE)) {
            long deadline = System.nanoTime() + share(budget, start, 0.15, 0.80);
            ClipTrainer.Result r = ClipTrainer.train(o.plan().clip(), world, tokenizer, o.seed(), ck.resolve("clip.safetensors"),
                    o.resume(), deadline, o.listener());
            try (var c = r.clip()) {
                ClipTrainer.write(r, clipDir, o.tokenizer(), o.weights());
                ModelWriter.writeTextEncoder(c, r.config().text(), sd.resolve("text_encoder"), o.weights());
            }
            clipStats = r.stats();
            clipAcc = r.lastAccuracy();
            markDone(ck, ClipTrainer.STAGE);
        } else log.info("clip: already trained ({}), skipped", clipDir);
        // UNet
        double scaling;
        if (!done(ck, SdTrainer.STAGE)) {
            long deadline = System.nanoTime() + share(budget, start, 0.65, 0.65);
            try (Vae vae = Vae.load(sd.resolve("vae"), Device.CPU, DType.F32);
                 ClipTextEncoder text = ClipTextEncoder.load(sd.resolve("text_encoder"), Device.CPU, DType.F32)) {
                scaling = vae.scalingFactor();
                SdTrainer.Result r = SdTrainer.train(o.plan().sd(), world, vae, text, tokenizer, o.seed(),
                        ck.resolve("unet.safetensors"), o.resume(), deadline, o.listener());
                try (var u = r.unet()) {
                    SdTrainer.write(r, o.plan().sd().unetJson(), sd.resolve("unet"), o.weights());
                }
                ModelWriter.writePipelineFiles(sd);
                ModelWriter.copyTokenizer(o.tokenizer(), sd.resolve("tokenizer"));
                unetStats = r.stats();
            }
            markDone(ck, SdTrainer.STAGE);
        } else {
            log.info("unet: already trained ({}), skipped", sd.resolve("unet"));
            try (Vae vae = Vae.load(sd.resolve("vae"), Device.CPU, DType.F32)) {
                scaling = vae.scalingFactor();
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        log.info("shapes training done in {} s: {} and {}", String.format("%.0f", seconds), sd, clipDir);
        return new Report(vaeStats, clipStats, unetStats, scaling, clipAcc, seconds);
    }

    /** This stage's time: {@code fraction / remaining} of the budget left. */
    private static long share(long budget, long start, double fraction, double remaining) {
        long left = budget - (System.nanoTime() - start);
        return Math.max(0, (long) (left * fraction / remaining));
    }

    private static boolean done(Path ck, String stage) {
        return Files.isRegularFile(ck.resolve(stage + ".done"));
    }

    private static void markDone(Path ck, String stage) {
        try {
            Files.writeString(ck.resolve(stage + ".done"), "done\n");
        } catch (IOException e) {
            throw new ClifException("cannot write " + ck.resolve(stage + ".done") + ": " + e.getMessage(), e);
        }
    }
}
