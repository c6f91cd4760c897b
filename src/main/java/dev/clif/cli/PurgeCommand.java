package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.purge.ConceptPair;
import dev.clif.purge.PurgeConfig;
import dev.clif.purge.PurgeListener;
import dev.clif.purge.PurgeResult;
import dev.clif.purge.Purger;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `clif purge`: CLIF fine-tuning of a Stable Diffusion folder away from concepts. */
@Command(name = "purge", description = "Purge concepts from a Stable Diffusion model (CLIF: directional-CLIP-loss fine-tuning).")
public final class PurgeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "diffusers Stable Diffusion folder to purge, 'shapes', or a single-file FILE.safetensors")
    Path model;

    @Option(names = "--config", description = "for a single-file --model: a diffusers folder with its configs, tokenizer and scheduler")
    Path config;

    @Option(names = "--single-file", description = "also write the purged model as OUT/model.safetensors, the single-file layout A1111 and ComfyUI load")
    boolean singleFile;

    @Option(names = "--clip", description = "CLIP model folder of the loss (vision + text towers), or shapes-clip; not needed by --method uce")
    Path clip;

    @Option(names = "--concept", required = true, description = "\"SOURCE=>TARGET\", e.g. \"nudity=>clothed person\" (repeatable)")
    List<String> concepts;

    @Option(names = "--prompts", description = "prompt file: one per line, optional TAB category (default: the source concept itself)")
    Path prompts;

    @Option(names = "--template", description = "text template with {} (repeatable; default: ~27 CLIP templates)")
    List<String> templates;

    @Option(names = "--method", defaultValue = "clif", description = "clif (directional CLIP loss), esd, or uce (closed-form edit of the cross-attention keys and values)")
    String method;

    @Option(names = "--steps", defaultValue = "400")
    int steps;

    @Option(names = "--lr", description = "AdamW learning rate (default: ${DEFAULT-VALUE})")
    double lr = PurgeConfig.DEFAULT_LR;

    @Option(names = "--betas", defaultValue = "0.9,0.999", split = ",", description = "AdamW betas")
    double[] betas;

    @Option(names = "--weight-decay", defaultValue = "0.01")
    double weightDecay;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "gradient clipping (0: off)")
    double maxGradNorm;

    @Option(names = "--params", defaultValue = "xattn-kv", description = "xattn-kv, xattn, noxattn, full, or glob patterns (repeatable, comma-separated)")
    List<String> params;

    @Option(names = "--mode", defaultValue = "one-step", description = "one-step or chain")
    String mode;

    @Option(names = "--chain-steps", defaultValue = "1", description = "chain mode: the last K DDIM steps run with gradient")
    int chainSteps;

    @Option(names = "--ddim-steps", defaultValue = "50", description = "DDIM trajectory length for sampling x_t")
    int ddimSteps;

    @Option(names = "--stop-range", description = "MIN:MAX stop indices of the trajectory, one-step mode (default: 0:DDIM_STEPS-1)")
    String stopRange;

    @Option(names = "--guidance", defaultValue = "3.0", description = "guidance of the frozen model's denoising to x_t")
    double guidance;

    @Option(names = "--train-guidance", defaultValue = "0", description = "classifier-free guidance on the training prediction (<= 1: off)")
    double trainGuidance;

    @Option(names = "--uce-preserve-scale", defaultValue = "0.1", description = "UCE: weight λ of the --preserve prompts' keys and values (UCE's preserve_scale)")
    double ucePreserveScale;

    @Option(names = "--uce-ridge", defaultValue = "auto", description = "UCE: ridge toward the original weights; auto: only where the solve is ill-conditioned")
    String uceRidge;

    @Option(names = "--esd-eta", defaultValue = "1.0", description = "ESD negative guidance η")
    double esdEta;

    @Option(names = "--batch", defaultValue = "1")
    int batch;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--size", defaultValue = "0", description = "image side in pixels (0: the model's native size)")
    int size;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, or autocast over fp32 master weights: fp16 (CUDA) or bf16")
    String dtype;

    @Option(names = "--gradient-checkpointing", description = "recompute UNet activations in backward (less memory)")
    boolean gradientCheckpointing;

    @Option(names = "--checkpoint-every", defaultValue = "50")
    int checkpointEvery;

    @Option(names = "--resume", description = "continue the purge checkpointed in --out")
    boolean resume;

    @Option(names = "--preserve", description = "benign prompts: adds λ·MSE(ε_θ, ε_θ0) on them (and/or keeps their keys and values, --preserve-kv-weight)")
    Path preserve;

    @Option(names = "--preserve-weight", description = "λ of the ε-MSE preservation term (default 1, or 0 with --preserve-kv-weight)")
    Double preserveWeight;

    @Option(names = "--preserve-kv-weight", description = "λ of Σ‖(W − W0)e‖² over the benign prompts' tokens e, W the trained attn2.to_k/to_v (default 0: off)")
    Double preserveKvWeight;

    @Option(names = "--size-weight", defaultValue = "0",
            description = "w of CLIF's size term w·max(0, 1 − (e − e0)·ΔT/|t̄_tgt − t̄_src|), asking each image to move along ΔT by the text gap (0: off, the paper's loss; default ${DEFAULT-VALUE})")
    double sizeWeight;

    @Option(names = "--out", required = true, description = "output folder (must not exist or be empty, unless --resume)")
    Path out;

    @Override
    public Integer call() {
        List<ConceptPair> pairs = new ArrayList<>();
        for (String c : concepts) pairs.add(ConceptPair.parse(c));
        if (preserveWeight != null && preserve == null) throw new ClifException("--preserve-weight needs --preserve FILE");
        if (preserveKvWeight != null && preserve == null) throw new ClifException("--preserve-kv-weight needs --preserve FILE");
        if (betas.length != 2) throw new ClifException("--betas needs two numbers, e.g. 0.9,0.999");
        Device d;
        DType t;
        try {
            d = Device.parse(device);
            t = DType.parse(dtype);
        } catch (IllegalArgumentException e) {
            throw new ClifException(e.getMessage());
        }
        d.check();
        PurgeConfig.Method m = PurgeConfig.Method.parse(method);
        double ridge;
        if (uceRidge.strip().equalsIgnoreCase("auto")) ridge = PurgeConfig.RIDGE_AUTO;
        else try {
            ridge = Double.parseDouble(uceRidge.strip());
            if (!(ridge >= 0)) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new ClifException("--uce-ridge must be 'auto' or a number >= 0, got '" + uceRidge + "'");
        }
        if (m == PurgeConfig.Method.UCE && preserveWeight != null)
            throw new ClifException("--method uce weighs the --preserve prompts with --uce-preserve-scale, not --preserve-weight");
        double epsWeight = m == PurgeConfig.Method.UCE ? 0 : preserveWeight != null ? preserveWeight : preserveKvWeight != null ? 0 : 1.0;
        PurgeConfig.Builder b = PurgeConfig.builder().concepts(pairs).prompts(prompts).templates(templates)
                .method(m).ucePreserveScale(ucePreserveScale).uceRidge(ridge).steps(steps).lr(lr).betas(betas[0], betas[1]).weightDecay(weightDecay)
                .maxGradNorm(maxGradNorm).params(params).mode(PurgeConfig.Mode.parse(mode)).chainSteps(chainSteps).ddimSteps(ddimSteps)
                .guidance(guidance).trainGuidance(trainGuidance).esdEta(esdEta).batch(batch).seed(seed).imageSize(size).device(d).dtype(t)
                .gradientCheckpointing(gradientCheckpointing).checkpointEvery(checkpointEvery)
                .preserve(preserve, epsWeight)
                .preserveKv(preserveKvWeight == null ? 0 : preserveKvWeight).sizeWeight(sizeWeight).outputDir(out).resume(resume);
        if (stopRange != null) {
            String[] p = stopRange.split(":");
            try {
                if (p.length != 2) throw new NumberFormatException();
                b.stopIndexRange(Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip()));
            } catch (NumberFormatException e) {
                throw new ClifException("--stop-range must look like MIN:MAX, e.g. 0:49, got '" + stopRange + "'");
            }
        }
        Purger purger = new Purger(b.build(), dev.clif.eval.ModelAliases.resolve(model.toString(), config), clip == null ? null : dev.clif.eval.ModelAliases.resolve(clip.toString()));
        Progress[] progress = new Progress[1];
        int[] first = {0};
        PurgeResult r = purger.run(new PurgeListener() {
            @Override
            public void onStart(int firstStep, int total, List<String> trainable) {
                first[0] = firstStep;
                if (total == 0) {
                    System.err.println("editing " + pairs + " in closed form: " + trainable.size() + " tensors");
                    return;
                }
                progress[0] = new Progress("purge", total - firstStep);
                System.err.println("purging " + pairs + ": " + trainable.size() + " tensors trainable, steps " + (firstStep + 1) + ".." + total);
            }

            @Override
            public void onStep(StepEvent e) {
                progress[0].update(e.step() - first[0], String.format(Locale.ROOT, "step %d, loss %.4f, grad %.3g",
                        e.step(), e.loss(), e.gradNorm()));
            }
        });
        spec.commandLine().getOut().println("purged model: " + r.modelDir());
        if (singleFile) {
            Path file = r.modelDir().resolveSibling("model.safetensors");
            ConvertCommand.toSingleFile(r.modelDir(), file);
            spec.commandLine().getOut().println("single file: " + file);
        }
        spec.commandLine().getOut().println("delta: " + r.delta());
        spec.commandLine().getOut().println("report: " + r.report());
        if (r.lossCurve() != null) spec.commandLine().getOut().println("loss curve: " + r.lossCurve());
        return 0;
    }
}
