package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.shapes.train.ShapesTraining;
import dev.clif.shapes.train.TrainLoop;
import dev.clif.tensor.DType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `clif shapes`: the shapes world. {@code clif shapes train} trains the tiny VAE, CLIP and Stable Diffusion of
 * the shapes world inside Clif (see {@link ShapesTraining}) and writes diffusers / transformers folders;
 * {@code clif shapes bench} purges a colour and judges the result ({@link ShapesBenchCommand}).
 *
 * <p>The models shipped in src/main/resources/dev/clif/shapes/models/ were made with
 * {@code bin/clif shapes train --out shapes-models} (defaults, seed 0) in 1082 s on the project's 2-core CPU
 * machine, shared with other work: VAE 800 steps in 87 s (loss 0.555 → 0.0145, scaling factor 0.611), CLIP
 * 500 steps in 32 s (InfoNCE 3.51 → 0.29, in-batch accuracy 0.86), UNet 6000 steps in 961 s (ε-MSE 0.805 →
 * 0.045); then {@code cd shapes-models && find sd clip -type f | sort | xargs sha256sum > FILES}. With 2000 UNet
 * steps (the earlier recipe) the model drew "a blue circle" red and "a white circle" magenta, and only 39% of
 * single-shape prompts came out exactly as asked; with 6000, 98%.
 */
@Command(name = "shapes", description = "The shapes world: train its tiny models, write its prompt sets, purge and judge (bench).",
        subcommands = {ShapesCommand.Train.class, ShapesBenchCommand.class, ShapesPromptsCommand.class})
public final class ShapesCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "train", description = "Train the shapes-world VAE, CLIP and Stable Diffusion (CPU, float32).")
    public static final class Train implements Callable<Integer> {
        @Option(names = "--out", defaultValue = "shapes-models", description = "output folder: sd/, clip/, checkpoints/")
        Path out;

        @Option(names = "--minutes-budget", defaultValue = "45",
                description = "wall-clock cap in minutes, shared over the stages; a stage that reaches its share stops early")
        double minutes;

        @Option(names = "--seed", defaultValue = "0")
        long seed;

        @Option(names = "--resume", description = "continue from out/checkpoints (finished stages are skipped)")
        boolean resume;

        @Option(names = "--tokenizer", description = "CLIP tokenizer folder (vocab.json, merges.txt) copied into the models "
                + "(default: testdata/golden/tiny-sd/tokenizer of a checkout)")
        Path tokenizer;

        @Option(names = "--fp16-weights", description = "store the final weights as float16 (half the size)")
        boolean fp16;

        @Option(names = "--vae-steps", description = "override the VAE's steps")
        Integer vaeSteps;

        @Option(names = "--clip-steps", description = "override the CLIP's steps")
        Integer clipSteps;

        @Option(names = "--unet-steps", description = "override the UNet's steps")
        Integer unetSteps;

        @Override
        public Integer call() {
            Path tok = tokenizer != null ? tokenizer : Path.of("testdata/golden/tiny-sd/tokenizer");
            if (!Files.isRegularFile(tok.resolve("vocab.json")))
                throw new ClifException("no CLIP tokenizer at " + tok + " (give --tokenizer DIR with vocab.json and merges.txt)");
            if (!(minutes > 0)) throw new ClifException("--minutes-budget must be positive");
            ShapesTraining.Plan p = ShapesTraining.Plan.standard();
            var v = p.vae();
            var c = p.clip();
            var s = p.sd();
            if (vaeSteps != null)
                v = new dev.clif.shapes.train.VaeTrainer.Config(v.model(), vaeSteps, v.batch(), v.lr(), v.warmup(), v.klWeight(),
                        v.checkpointEvery(), v.scaleBatches());
            if (clipSteps != null)
                c = new dev.clif.shapes.train.ClipTrainer.Config(c.model(), clipSteps, c.batch(), c.lr(), c.warmup(), c.checkpointEvery());
            if (unetSteps != null)
                s = new dev.clif.shapes.train.SdTrainer.Config(s.unetJson(), unetSteps, s.batch(), s.lr(), s.warmup(), s.captionDropout(),
                        s.checkpointEvery());
            Map<String, Progress> bars = new HashMap<>();
            TrainLoop.Listener listener = (stage, step, total, loss) ->
                    bars.computeIfAbsent(stage, k -> new Progress("train " + k, total))
                            .update(step, String.format(Locale.ROOT, "loss %.4f", loss));
            ShapesTraining.Report r = ShapesTraining.run(new ShapesTraining.Options(out, seed, minutes, resume, tok,
                    fp16 ? DType.F16 : DType.F32, new ShapesTraining.Plan(v, c, s), listener));
            System.err.printf(Locale.ROOT, "trained in %.0f s: %s and %s (VAE scaling factor %.4f)%n", r.seconds(),
                    out.resolve("sd"), out.resolve("clip"), r.scalingFactor());
            return 0;
        }
    }
}
