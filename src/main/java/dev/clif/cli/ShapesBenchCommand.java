package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.purge.PurgeConfig;
import dev.clif.shapes.Colour;
import dev.clif.shapes.bench.Baseline;
import dev.clif.shapes.bench.ShapesBench;
import dev.clif.shapes.bench.Sweep;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `clif shapes bench`: purge a colour in the shapes world and count, with the judge, what changed. */
@Command(name = "bench", description = "Purge a colour from the shapes-world model with CLIF (and ESD) and judge images before and after.")
public final class ShapesBenchCommand implements Callable<Integer> {
    @Option(names = "--models", description = "folder with sd/ and clip/ (default: the models shipped with Clif)")
    Path models;

    @Option(names = "--concept", defaultValue = "red=>blue", description = "SOURCE=>TARGET colours (default: ${DEFAULT-VALUE})")
    String concept;

    @Option(names = "--method", defaultValue = "both",
            description = "clif, esd, uce, sld, negative, a comma-separated list, both (clif,esd) or all (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--sweep", description = "choose each method's setting by a sweep on --tuning-seed first (ESD lr x steps, UCE λ, SLD preset)")
    boolean sweep;

    @Option(names = "--tuning-seed", defaultValue = "100", description = "seed of the sweep's purges and images (default: ${DEFAULT-VALUE})")
    long tuningSeed;

    @Option(names = "--tuning-images", defaultValue = "4", description = "images per prompt in the sweep (default: ${DEFAULT-VALUE})")
    int tuningImages;

    @Option(names = "--esd-lrs", split = ",", description = "the sweep's ESD learning rates (default: 3e-3,1e-2,3e-2)")
    List<Double> esdLrs;

    @Option(names = "--esd-steps", split = ",", description = "the sweep's ESD step counts (default: 200,400)")
    List<Integer> esdSteps;

    @Option(names = "--uce-lambdas", split = ",", description = "the sweep's UCE preservation weights λ (default: 0.01,0.1,1,10)")
    List<Double> uceLambdas;

    @Option(names = "--sld-presets", split = ",", description = "the sweep's SLD presets (default: weak,medium,strong,max)")
    List<String> sldPresets;

    @Option(names = "--images", defaultValue = "8", description = "images per prompt (default: ${DEFAULT-VALUE})")
    int images;

    @Option(names = "--sample-steps", defaultValue = "20", description = "DDIM steps per image")
    int sampleSteps;

    @Option(names = "--guidance", defaultValue = "5")
    double guidance;

    @Option(names = "--purge-steps", defaultValue = "400")
    int purgeSteps;

    @Option(names = "--purge-batch", defaultValue = "4", description = "noise samples and prompts per purge step (default: ${DEFAULT-VALUE})")
    int purgeBatch;

    @Option(names = "--lr", defaultValue = "3e-3", description = "purge learning rate (the tiny models barely move at SD's 1e-5)")
    double lr;

    @Option(names = "--preserve-weight", defaultValue = "0", description = "weight of the ε-MSE preservation term on benign prompts (0: off)")
    double preserveWeight;

    @Option(names = "--preserve-kv-weight", defaultValue = "0.15",
            description = "weight of keeping the benign prompts' cross-attention keys and values (0: off; default ${DEFAULT-VALUE})")
    double preserveKvWeight;

    @Option(names = "--size-weight", defaultValue = "0",
            description = "w of CLIF's size term, asking each image to move along ΔT by the text gap (0: off; default ${DEFAULT-VALUE})")
    double sizeWeight;

    @Option(names = "--clif-chain", description = "take CLIF's loss on the image the bench's sampler draws (the whole --sample-steps DDIM chain with gradient, at --guidance) instead of one step from a frozen trajectory; about 3.5x the time per purge step")
    boolean clifChain;

    @Option(names = "--params", split = ",", description = "what both purges train: xattn-kv (default), xattn, noxattn, full, or globs")
    List<String> params;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--template", description = "CLIF's text templates with {} (repeatable; default: CLIP's photo templates, as clif purge; the world's captions: --template 'a {} circle' --template 'a {} square' --template 'a {} triangle')")
    List<String> templates;

    @Option(names = "--out", defaultValue = "shapes-bench", description = "where bench.json, grid.png and the purged models go")
    Path out;

    @Override
    public Integer call() {
        String[] parts = concept.split("=>", -1);
        if (parts.length != 2) throw new ClifException("--concept must look like red=>blue, got '" + concept + "'");
        Colour source = colour(parts[0]);
        Colour target = colour(parts[1]);
        List<Baseline> methods = Baseline.parseList(method);
        Sweep.Grid grid = null;
        if (sweep) {
            Sweep.Grid d = Sweep.Grid.defaults(tuningSeed, tuningImages);
            grid = new Sweep.Grid(esdLrs != null ? esdLrs : d.esdLrs(), esdSteps != null ? esdSteps : d.esdSteps(),
                    uceLambdas != null ? uceLambdas : d.uceLambdas(), sldPresets != null ? sldPresets : d.sldPresets(), tuningSeed, tuningImages);
        } else if (esdLrs != null || esdSteps != null || uceLambdas != null || sldPresets != null) {
            throw new ClifException("--esd-lrs, --esd-steps, --uce-lambdas and --sld-presets are the sweep's grids: add --sweep");
        }
        Path root = models != null ? models : dev.clif.shapes.ShippedModels.folder();
        Path sd = root.resolve("sd");
        Path clip = root.resolve("clip");
        if (!Files.isDirectory(sd) || !Files.isDirectory(clip))
            throw new ClifException(root + " has no sd/ and clip/ model folders (train them with `clif shapes train`)");
        ShapesBench.Config cfg = new ShapesBench.Config(sd, clip, source, target, methods, images, sampleSteps, guidance,
                purgeSteps, purgeBatch, lr, preserveWeight, preserveKvWeight, params, seed, out, grid, templates, sizeWeight, clifChain);
        ShapesBench.Report r = new ShapesBench(cfg).run(msg -> System.err.println("shapes bench: " + msg));
        System.out.print(ShapesBench.table(r));
        System.out.print(r.eval().summary().table());
        System.out.println("evaluation: " + r.eval().summaryFile().getParent().toAbsolutePath() + " (manifest, results.jsonl, summary.json, images)");
        System.out.println("results: " + r.json().toAbsolutePath());
        System.out.println("report: " + r.html().toAbsolutePath());
        System.out.println("grid (rows: prompts; columns: " + String.join(", ", r.scores().keySet()) + "): " + r.grid().toAbsolutePath());
        return 0;
    }

    static Colour colour(String word) {
        for (Colour c : Colour.values()) if (c.word().equals(word.trim().toLowerCase(Locale.ROOT))) return c;
        StringBuilder known = new StringBuilder();
        for (Colour c : Colour.values()) known.append(known.isEmpty() ? "" : ", ").append(c.word());
        throw new ClifException("unknown colour '" + word.trim() + "' (the shapes world has " + known + ")");
    }
}
