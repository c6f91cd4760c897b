package dev.clif.attack;

import dev.clif.ClifException;
import dev.clif.eval.ModelSpec;
import dev.clif.eval.PromptSet;
import dev.clif.tensor.Device;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What an {@link Attack} runs: a prompt search ({@code method}) against each of {@code models} for every prompt of
 * {@code prompts} (after {@code filter}), then the eval engine on the original and the found prompts with
 * {@code scorers}, {@code imagesPerPrompt} images each, {@code steps} denoising steps.
 *
 * <p>Defaults and where they come from:
 * <ul>
 *   <li>Ring-A-Bell (Tsai et al. 2024, chiayi-hsu/Ring-A-Bell, InversePrompt.ipynb): K = 16 tokens, population 200,
 *       3000 generations, mutation rate 0.25, crossover rate 0.5, η ("cof") = 3.</li>
 *   <li>UnlearnDiffAtk (Zhang et al. 2024, OPTML-Group/Diffusion-MU-Attack, configs/nudity/text_grad_esd_nudity_classifier.json
 *       and src/attackers/text_grad_.py): K = 5 prefix tokens, 40 iterations, Adam lr 0.01, weight decay 0.1.</li>
 * </ul>
 *
 * @param referenceModel UnlearnDiff's source of the target images (null: each attacked model's base without its delta)
 * @param concept        Ring-A-Bell's concept word: pairs (prompt, prompt without the word) from the prompt set
 * @param conceptPairs   Ring-A-Bell's pairs file instead (one {@code WITH => WITHOUT} a line)
 * @param searchSeed     seeds every random choice of the searches (population, sampling, noise, timesteps)
 */
public record AttackConfig(List<ModelSpec> models, Path prompts, PromptSet.Filter filter, Method method, int tokens, int iterations,
                           ModelSpec referenceModel, List<String> scorers, int imagesPerPrompt, int steps, Long seed, Device device,
                           int batch, Path out, boolean resume, int population, double mutationRate, double crossoverRate, double eta,
                           String concept, Path conceptPairs, double lr, double weightDecay, long searchSeed) {
    public enum Method {
        RING_A_BELL("ring-a-bell"), UNLEARNDIFF("unlearndiff"),
        /** The control: K uniformly random ordinary tokens before the prompt (no search; UnlearnDiffAtk's random attacker, one draw). */
        RANDOM("random");

        public final String label;

        Method(String label) {
            this.label = label;
        }

        public static Method parse(String s) {
            for (Method m : values()) if (m.label.equals(s.toLowerCase(Locale.ROOT).trim())) return m;
            throw new ClifException("--method must be ring-a-bell or unlearndiff (or random, the control), got '" + s + "'");
        }

        /** The paper's K for this method. */
        public int defaultTokens() {
            return this == RING_A_BELL ? 16 : 5; // random: as UnlearnDiff, so that it is that search's control
        }

        /** Generations (Ring-A-Bell) or Adam iterations (UnlearnDiff), the paper's. */
        public int defaultIterations() {
            return this == RING_A_BELL ? 3000 : this == UNLEARNDIFF ? 40 : 1;
        }
    }

    public AttackConfig {
        models = List.copyOf(models);
        scorers = List.copyOf(scorers);
        filter = filter == null ? PromptSet.Filter.ALL : filter;
        if (models.isEmpty()) throw new ClifException("no model to attack: give --model NAME=SPEC (e.g. --model clif=shapes+purged/delta.safetensors)");
        Set<String> names = new HashSet<>();
        for (ModelSpec m : models)
            if (!names.add(m.name())) throw new ClifException("two models are named '" + m.name() + "': each --model needs its own NAME");
        if (prompts == null) throw new ClifException("no prompt file: give --prompts FILE");
        if (method == null) throw new ClifException("no method: give --method ring-a-bell or --method unlearndiff");
        if (scorers.isEmpty()) throw new ClifException("no scorer: give --scorer SPEC (e.g. --scorer shapes-colour=red)");
        if (tokens < 1 || tokens > 75) throw new ClifException("--tokens must be 1 to 75, got " + tokens);
        if (iterations < 1) throw new ClifException("--iterations must be at least 1, got " + iterations);
        if (imagesPerPrompt < 1) throw new ClifException("--images-per-prompt must be at least 1, got " + imagesPerPrompt);
        if (steps < 1) throw new ClifException("--steps must be at least 1, got " + steps);
        if (population < 2) throw new ClifException("--population must be at least 2, got " + population);
        if (!(mutationRate >= 0 && mutationRate <= 1)) throw new ClifException("--mutation-rate must lie in [0, 1]");
        if (!(crossoverRate >= 0 && crossoverRate <= 1)) throw new ClifException("--crossover-rate must lie in [0, 1]");
        if (!Double.isFinite(eta)) throw new ClifException("--eta must be finite");
        if (!(lr > 0 && Double.isFinite(lr))) throw new ClifException("--lr must be positive");
        if (!(weightDecay >= 0 && Double.isFinite(weightDecay))) throw new ClifException("--weight-decay must be >= 0");
        if (method == Method.RING_A_BELL && concept == null && conceptPairs == null)
            throw new ClifException("--method ring-a-bell needs the concept: --concept WORD (pairs built from the prompt set) or --concept-pairs FILE");
        if (concept != null && conceptPairs != null) throw new ClifException("give --concept or --concept-pairs, not both");
        if (batch < 1) throw new ClifException("--batch must be at least 1, got " + batch);
        if (out == null) throw new ClifException("no output folder: give --out DIR");
        if (device == null) device = Device.CPU;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults: the method's paper settings, 1 image per prompt, 30 steps, CPU, batch 4, search seed 0. */
    public static final class Builder {
        private final List<ModelSpec> models = new ArrayList<>();
        private Path prompts;
        private PromptSet.Filter filter = PromptSet.Filter.ALL;
        private Method method;
        private Integer tokens, iterations;
        private ModelSpec referenceModel;
        private final List<String> scorers = new ArrayList<>();
        private int imagesPerPrompt = 1, steps = 30, batch = 4, population = 200;
        private Long seed;
        private Device device = Device.CPU;
        private Path out = Path.of("clif-attack");
        private boolean resume;
        private double mutationRate = 0.25, crossoverRate = 0.5, eta = 3.0, lr = 0.01, weightDecay = 0.1;
        private String concept;
        private Path conceptPairs;
        private long searchSeed;

        public Builder model(ModelSpec v) { models.add(v); return this; }
        public Builder model(String nameEqualsSpec) { return model(ModelSpec.parse(nameEqualsSpec)); }
        public Builder prompts(Path v) { prompts = v; return this; }
        public Builder filter(PromptSet.Filter v) { filter = v; return this; }
        public Builder method(Method v) { method = v; return this; }
        public Builder tokens(Integer v) { tokens = v; return this; }
        public Builder iterations(Integer v) { iterations = v; return this; }
        public Builder referenceModel(ModelSpec v) { referenceModel = v; return this; }
        public Builder scorer(String v) { scorers.add(v); return this; }
        public Builder imagesPerPrompt(int v) { imagesPerPrompt = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder device(Device v) { device = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder resume(boolean v) { resume = v; return this; }
        public Builder population(int v) { population = v; return this; }
        public Builder mutationRate(double v) { mutationRate = v; return this; }
        public Builder crossoverRate(double v) { crossoverRate = v; return this; }
        public Builder eta(double v) { eta = v; return this; }
        public Builder concept(String v) { concept = v; return this; }
        public Builder conceptPairs(Path v) { conceptPairs = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder searchSeed(long v) { searchSeed = v; return this; }

        public AttackConfig build() {
            if (method == null) throw new ClifException("no method: give --method ring-a-bell or --method unlearndiff");
            return new AttackConfig(models, prompts, filter, method, tokens != null ? tokens : method.defaultTokens(),
                    iterations != null ? iterations : method.defaultIterations(), referenceModel, scorers, imagesPerPrompt, steps, seed,
                    device, batch, out, resume, population, mutationRate, crossoverRate, eta, concept, conceptPairs, lr, weightDecay, searchSeed);
        }
    }
}
