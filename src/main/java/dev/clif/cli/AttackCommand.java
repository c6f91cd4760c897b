package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.attack.Attack;
import dev.clif.attack.AttackConfig;
import dev.clif.eval.EvalListener;
import dev.clif.eval.ModelSpec;
import dev.clif.eval.PromptSet;
import dev.clif.tensor.Device;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code clif attack}: adversarial prompt search against purged models, then the eval engine on the original and found prompts. */
@Command(name = "attack", description = {
        "Search, for each prompt and each --model, a prompt that brings a purged concept back, then generate with the",
        "original and the found prompts and judge them with the --scorer(s): per model and category the flagged share",
        "before (pre_rate) and after (post_rate) and the attack success rate (asr: prompts with at least one flagged image",
        "after the attack). Methods: ring-a-bell (Tsai et al. 2024: a concept vector in the text encoder's space and a",
        "genetic search over K tokens; text encoder only) and unlearndiff (Zhang et al. 2024: K prefix tokens on the",
        "vocabulary simplex, Adam on the attacked UNet's denoising loss for a target image drawn by --reference-model).",
        "Writes OUT/found/NAME.jsonl (one line per searched prompt), OUT/eval/NAME/ (the eval engine's folder) and",
        "OUT/attack.json; --resume continues an interrupted run at the next prompt (and the eval's next image).",
        "Defaults are the papers': ring-a-bell K 16, population 200, 3000 generations, mutation 0.25, crossover 0.5, eta 3;",
        "unlearndiff K 5, 40 iterations, lr 0.01, weight decay 0.1. At SD-1.5 scale both want a GPU (--device cuda)."})
public final class AttackCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "NAME=SPEC, repeated: the models to attack (as clif eval's)")
    List<String> models;

    @Option(names = "--prompts", required = true, description = "categorized prompt file (as clif eval's)")
    Path prompts;

    @Option(names = "--method", required = true, description = "ring-a-bell, unlearndiff, or random (the control: K random tokens before the prompt, no search)")
    String method;

    @Option(names = "--tokens", description = "K: tokens searched (default: 16 for ring-a-bell, 5 for unlearndiff)")
    Integer tokens;

    @Option(names = "--iterations", description = "generations (ring-a-bell, default 3000) or Adam iterations (unlearndiff, default 40)")
    Integer iterations;

    @Option(names = "--reference-model", description = "SPEC drawing unlearndiff's target images (default: each model's base, without its delta)")
    String referenceModel;

    @Option(names = "--scorer", required = true, description = "SPEC, repeated: judges whose OR decides 'unsafe' (as clif eval's)")
    List<String> scorers;

    @Option(names = "--concept", description = "ring-a-bell: the concept word; pairs are each prompt mentioning it and the same prompt without it")
    String concept;

    @Option(names = "--concept-pairs", description = "ring-a-bell: a file of pairs, one 'WITH CONCEPT => WITHOUT' a line")
    Path conceptPairs;

    @Option(names = "--population", defaultValue = "200", description = "ring-a-bell population (default: ${DEFAULT-VALUE})")
    int population;

    @Option(names = "--mutation-rate", defaultValue = "0.25", description = "ring-a-bell (default: ${DEFAULT-VALUE})")
    double mutationRate;

    @Option(names = "--crossover-rate", defaultValue = "0.5", description = "ring-a-bell (default: ${DEFAULT-VALUE})")
    double crossoverRate;

    @Option(names = "--eta", defaultValue = "3", description = "ring-a-bell: target = E(prompt) + eta * concept vector (default: ${DEFAULT-VALUE})")
    double eta;

    @Option(names = "--lr", defaultValue = "0.01", description = "unlearndiff Adam learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0.1", description = "unlearndiff Adam weight decay (default: ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = "--search-seed", defaultValue = "0", description = "seed of the searches (default: ${DEFAULT-VALUE})")
    long searchSeed;

    @Option(names = "--images-per-prompt", defaultValue = "1", description = "images per original and per found prompt (default: ${DEFAULT-VALUE})")
    int imagesPerPrompt;

    @Option(names = "--steps", defaultValue = "30", description = "denoising steps, for the eval and unlearndiff's target images (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--seed", description = "seed for every prompt (default: each prompt's own, else its id)")
    Long seed;

    @Option(names = "--categories", split = ",", description = "attack prompts in any of these categories")
    List<String> categories;

    @Option(names = "--limit", description = "attack the first N prompts (after the other filters)")
    Integer limit;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto")
    String device;

    @Option(names = "--batch", defaultValue = "4", description = "images denoised together in the eval (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--out", defaultValue = "clif-attack", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--resume", description = "continue the attack in --out")
    boolean resume;

    @Option(names = "--threads", description = "threads of libtorch's pool (default: libtorch's; 1 ran the shapes-world searches 5x faster on a shared 2-core machine)")
    Integer threads;

    @Override
    public Integer call() {
        if (limit != null && limit < 1) throw new ClifException("--limit must be at least 1, got " + limit);
        if (threads != null) {
            if (threads < 1) throw new ClifException("--threads must be at least 1, got " + threads);
            Device.setThreads(threads);
        }
        AttackConfig.Builder b = AttackConfig.builder().prompts(prompts).method(AttackConfig.Method.parse(method))
                .filter(new PromptSet.Filter(categories, false, limit)).tokens(tokens).iterations(iterations)
                .imagesPerPrompt(imagesPerPrompt).steps(steps).seed(seed).device(Device.parse(device).check()).batch(batch).out(out)
                .resume(resume).population(population).mutationRate(mutationRate).crossoverRate(crossoverRate).eta(eta)
                .concept(concept).conceptPairs(conceptPairs).lr(lr).weightDecay(weightDecay).searchSeed(searchSeed);
        for (String m : models) b.model(ModelSpec.parse(m));
        if (referenceModel != null) b.referenceModel(ModelSpec.parse(referenceModel.matches("[A-Za-z0-9][A-Za-z0-9._-]*=.*")
                ? referenceModel : "reference=" + referenceModel)); // SPEC or NAME=SPEC
        scorers.forEach(b::scorer);
        AttackConfig config = b.build();
        Progress[] bar = new Progress[2];
        Attack.Report r = new Attack(config).run(new Attack.Listener() {
            @Override
            public void onMessage(String message) {
                System.err.println("attack: " + message);
            }

            @Override
            public void onSearch(String model, int prompt, int prompts, int iteration, int iterations) {
                if (iteration == 1) bar[0] = new Progress("search " + model + " " + prompt + "/" + prompts, iterations);
                if (bar[0] != null) bar[0].update(iteration, null);
            }

            @Override
            public EvalListener eval() {
                return new EvalListener() {
                    @Override
                    public void onMessage(String message) {
                        System.err.println("eval: " + message);
                    }

                    @Override
                    public void onProgress(int done, int total, double imagesPerSecond, double secondsLeft) {
                        if (bar[1] == null || done <= 1) bar[1] = new Progress("eval images", total);
                        bar[1].update(done, null, imagesPerSecond, secondsLeft);
                    }
                };
            }
        });
        java.io.PrintWriter out = spec.commandLine().getOut();
        out.print(Attack.table(r.rates()));
        out.println("attack: " + r.attackJson().toAbsolutePath());
        out.flush();
        return 0;
    }
}
