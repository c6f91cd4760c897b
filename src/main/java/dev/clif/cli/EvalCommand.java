package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.eval.EvalConfig;
import dev.clif.eval.EvalListener;
import dev.clif.eval.Evaluation;
import dev.clif.eval.ModelSpec;
import dev.clif.eval.PromptSet;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code clif eval}: generate from categorized unsafe prompts with each model variant and report the rates the field reports. */
@Command(name = "eval", description = {
        "Measure purges the way the field does: N images per prompt of a categorized prompt set (I2P CSV, ESD's copy, a",
        "minimal CSV or JSONL) for each --model, each image judged by the --scorer(s) (unsafe if any flags it), and the",
        "inappropriate rate per model and category with a 95% bootstrap interval. Writes OUT/manifest.json, results.jsonl",
        "(one line per image; --resume continues an interrupted run), summary.json and images/.",
        "MODEL SPEC: DIR | shapes | BASE+DELTA.safetensors (applied in memory), then ;negative=TEXT for a negative prompt, ;sld=weak|medium|strong|max[;sld-concept=TEXT] for Safe Latent Diffusion.",
        "SCORER SPEC: nudenet=FILE.onnx[:PRESET] | q16=FILE (needs --clip) | clip-zero-shot=DIR[:TEXTS] | shapes-colour=COLOUR | shapes-exact."})
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--prompts", required = true, description = "categorized prompt file (CSV or JSONL)")
    Path prompts;

    @Option(names = "--model", required = true, description = "NAME=SPEC, repeated: the variants to compare (e.g. base=shapes)")
    List<String> models;

    @Option(names = "--scorer", required = true, description = "SPEC, repeated: judges whose OR decides 'unsafe'")
    List<String> scorers;

    @Option(names = "--also-score", description = "SPEC, repeated: judges that are reported but do not decide")
    List<String> alsoScore;

    @Option(names = "--reference-scorer", description = "NAME: report every other scorer's accuracy, precision and recall against it")
    String referenceScorer;

    @Option(names = "--clip", description = "CLIP folder for q16 (CLIP ViT-L/14), or shapes-clip")
    String clip;

    @Option(names = "--images-per-prompt", defaultValue = "1", description = "images per prompt; image k uses the prompt's seed + k (default: ${DEFAULT-VALUE})")
    int imagesPerPrompt;

    @Option(names = "--steps", defaultValue = "30", description = "denoising steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--guidance", description = "guidance scale for every prompt (default: each prompt's own, else 7.5)")
    Double guidance;

    @Option(names = "--seed", description = "seed for every prompt (default: each prompt's own, else its id)")
    Long seed;

    @Option(names = "--size", description = "WxH for every prompt (default: each prompt's own, else the model's)")
    String size;

    @Option(names = "--scheduler", description = "ddim, pndm or euler (default: the model's own)")
    String scheduler;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (half precision needs CUDA)")
    String dtype;

    @Option(names = "--batch", defaultValue = "4", description = "images denoised together (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--categories", split = ",", description = "keep prompts in any of these categories")
    List<String> categories;

    @Option(names = "--hard-only", description = "keep I2P's 'hard' prompts only")
    boolean hardOnly;

    @Option(names = "--limit", description = "keep the first N prompts (after the other filters)")
    Integer limit;

    @Option(names = "--bootstrap", defaultValue = "1000", description = "bootstrap resamples for the intervals (default: ${DEFAULT-VALUE})")
    int bootstrap;

    @Option(names = "--out", defaultValue = "clif-eval", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--resume", description = "continue the run in --out: recorded images are skipped")
    boolean resume;

    @Option(names = "--no-images", description = "do not keep the PNGs (their SHA-256 is still recorded)")
    boolean noImages;

    @Override
    public Integer call() {
        Device d = Device.parse(device).check();
        DType t = DType.parse(dtype);
        if (t != DType.F32 && d.isCpu()) throw new ClifException("--dtype " + dtype + " needs a CUDA device (CPU runs fp32)");
        if (limit != null && limit < 1) throw new ClifException("--limit must be at least 1, got " + limit);
        EvalConfig.Builder b = EvalConfig.builder()
                .prompts(prompts)
                .filter(new PromptSet.Filter(categories, hardOnly, limit))
                .clip(clip == null ? null : Path.of(clip))
                .imagesPerPrompt(imagesPerPrompt)
                .steps(steps)
                .guidance(guidance)
                .seed(seed)
                .scheduler(scheduler)
                .device(d)
                .dtype(t)
                .batch(batch)
                .out(out)
                .resume(resume)
                .saveImages(!noImages)
                .referenceScorer(referenceScorer)
                .bootstrap(bootstrap, 0);
        if (size != null) {
            int[] wh = parseSize(size);
            b.size(wh[0], wh[1]);
        }
        for (String m : models) b.model(ModelSpec.parse(m));
        scorers.forEach(b::scorer);
        if (alsoScore != null) alsoScore.forEach(b::alsoScore);
        Progress[] bar = new Progress[1];
        Evaluation.Report r = new Evaluation(b.build()).run(new EvalListener() {
            @Override
            public void onMessage(String message) {
                System.err.println("eval: " + message);
            }

            @Override
            public void onProgress(int done, int total, double imagesPerSecond, double secondsLeft) {
                if (bar[0] == null) bar[0] = new Progress("eval images", total);
                bar[0].update(done, null, imagesPerSecond, secondsLeft);
            }
        });
        System.out.print(r.summary().table());
        System.out.println("summary: " + r.summaryFile().toAbsolutePath());
        System.out.println("results: " + r.results().toAbsolutePath() + " (" + r.generated() + " images made now, " + r.reused() + " found recorded)");
        return 0;
    }

    static int[] parseSize(String size) {
        String[] parts = size.toLowerCase(Locale.ROOT).split("x");
        try {
            if (parts.length != 2) throw new NumberFormatException();
            return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
        } catch (NumberFormatException e) {
            throw new ClifException("--size must look like 512x512, got '" + size + "'");
        }
    }
}
