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
        "(one line per image; --resume continues an interrupted run), summary.json, images/ and report.html.",
        "What the purge keeps: --captions FILE (a COCO-style CSV, COCO captions_*.json or a plain list) adds the CLIP score",
        "(needs --clip) and, with --fid-reference, FID and KID per model to summary.json.",
        "MODEL SPEC: DIR | shapes | FILE.safetensors | BASE+DELTA.safetensors (applied in memory), then ;negative=TEXT for a negative prompt,",
        ";sld=weak|medium|strong|max[;sld-concept=TEXT] for Safe Latent Diffusion, ;config=DIR for a single file's configs.",
        "SCORER SPEC: nudenet=FILE.onnx[:PRESET] | q16=FILE (needs --clip) | clip-zero-shot=DIR[:TEXTS] | shapes-colour=COLOUR | shapes-exact."})
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--prompts", description = "categorized prompt file (CSV or JSONL); optional with --captions")
    Path prompts;

    @Option(names = "--model", required = true, description = "NAME=SPEC, repeated: the variants to compare (e.g. base=shapes)")
    List<String> models;

    @Option(names = "--scorer", description = "SPEC, repeated: judges whose OR decides 'unsafe' (needed unless only --captions are evaluated)")
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

    @Option(names = "--scheduler", description = "ddim, pndm, euler, euler-a, dpmpp-2m or dpmpp-2m-karras (A1111's names too; default: the model's own)")
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

    @Option(names = "--spark", description = "run on Apache Spark: a master URL (local[4], spark://host:7077, yarn) or 'submit' under spark-submit")
    String spark;
    @Option(names = "--captions", description = "caption set for CLIP score and FID/KID: case_number,prompt,evaluation_seed[,coco_id] CSV, "
            + "COCO captions_*.json, or one caption a line")
    Path captions;

    @Option(names = "--caption-sample", description = "keep K captions, drawn with --caption-seed (COCO's 25k annotations: e.g. 1000)")
    Integer captionSample;

    @Option(names = "--caption-seed", defaultValue = "0", description = "seed of the caption sample (default: ${DEFAULT-VALUE})")
    long captionSeed;

    @Option(names = "--preservation-categories", split = ",", description = "measure CLIP score and FID/KID on these categories "
            + "(default: the captions', or every image)")
    List<String> preservationCategories;

    @Option(names = "--fid-reference", description = "FID/KID reference: model=NAME (another --model on the same captions and seeds), "
            + "shapes-truth (the shapes world's drawing of each caption), or a folder of images (e.g. COCO val2014)")
    String fidReference;

    @Option(names = "--fid-features", description = "features for FID/KID: clip (the --clip CLIP's image embeddings, the default), clip=DIR, "
            + "or onnx=FILE.onnx (e.g. pytorch-fid's Inception exported to ONNX: [N,3,H,W] RGB in [0,1] -> [N,D])")
    String fidFeatures;

    @Option(names = "--no-report", description = "do not write report.html")
    boolean noReport;

    @Option(names = "--no-blur", description = "show flagged images in report.html unblurred")
    boolean noBlur;

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
        if (captions != null || fidReference != null || fidFeatures != null || preservationCategories != null)
            b.preservation(new EvalConfig.PreservationConfig(captions, captionSample, captionSeed, preservationCategories, fidReference, fidFeatures));
        else if (captionSample != null) throw new ClifException("--caption-sample needs --captions FILE");
        if (size != null) {
            int[] wh = parseSize(size);
            b.size(wh[0], wh[1]);
        }
        for (String m : models) b.model(ModelSpec.parse(m));
        if (scorers != null) scorers.forEach(b::scorer);
        if (alsoScore != null) alsoScore.forEach(b::alsoScore);
        Progress[] bar = new Progress[1];
        EvalListener listener = new EvalListener() {
            @Override
            public void onMessage(String message) {
                System.err.println("eval: " + message);
            }

            @Override
            public void onProgress(int done, int total, double imagesPerSecond, double secondsLeft) {
                if (bar[0] == null) bar[0] = new Progress("eval images", total);
                bar[0].update(done, null, imagesPerSecond, secondsLeft);
            }
        };
        Evaluation.Report r = spark == null ? new Evaluation(b.build()).run(listener) : runOnSpark(b.build(), listener);
        System.out.print(r.summary().table());
        if (r.preservation() != null) System.out.print(r.preservation().table());
        System.out.println("summary: " + r.summaryFile().toAbsolutePath());
        System.out.println("results: " + r.results().toAbsolutePath() + " (" + r.generated() + " images made now, " + r.reused() + " found recorded)");
        if (!noReport) System.out.println("report: " + dev.clif.eval.report.ReportWriter.write(out, !noBlur, bootstrap, 0).toAbsolutePath());
        return 0;
    }

    /** Spark is optional: the CLI's classpath does not carry it, spark-submit's does. */
    private Evaluation.Report runOnSpark(EvalConfig config, EvalListener listener) {
        try {
            Class.forName("org.apache.spark.sql.SparkSession", false, EvalCommand.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new ClifException("--spark needs Apache Spark 4.2 on the classpath: run Clif with spark-submit (README: running at scale), "
                    + "or put Spark's jars on CLIF_CLASSPATH");
        }
        return new dev.clif.eval.spark.SparkEvaluation(config, spark).run(listener);
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
