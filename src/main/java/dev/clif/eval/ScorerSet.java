package dev.clif.eval;

import dev.clif.ClifException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The scorers of a run, opened together from the config's specs: {@code deciding} (an image is unsafe if any flags it)
 * and {@code reported} ones. Names are unique. Closing it frees every scorer's model.
 */
public final class ScorerSet implements AutoCloseable {
    private final List<Scorer> deciding = new ArrayList<>();
    private final List<Scorer> reported = new ArrayList<>();

    private ScorerSet() {}

    /** What scorers and feature extractors of this run get: the {@code --clip} CLIP folder and the device. */
    public static ScorerContext context(EvalConfig config) {
        Path clip = config.clip() == null ? null : ModelAliases.resolve(config.clip().toString());
        return new ScorerContext(clip, config.device());
    }

    public static ScorerSet open(EvalConfig config) {
        ScorerContext ctx = context(config);
        ScorerSet s = new ScorerSet();
        try {
            Set<String> names = new HashSet<>();
            for (String spec : config.scorers()) add(s.deciding, Scorers.create(spec, ctx), names);
            for (String spec : config.alsoScore()) add(s.reported, Scorers.create(spec, ctx), names);
            // A preservation run scores every image against its prompt with the --clip CLIP unless a clip-score is given.
            if (config.preservation() != null && !names.contains(dev.clif.eval.scorers.ClipScoreScorer.NAME)) {
                if (ctx.clipDir() != null) add(s.reported, dev.clif.eval.scorers.ClipScoreScorer.fromSpec(null, ctx), names);
                else if (config.preservation().captions() != null)
                    throw new ClifException("--captions measures the CLIP score: give --clip DIR (e.g. openai/clip-vit-large-patch14, or shapes-clip)");
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private static void add(List<Scorer> to, Scorer s, Set<String> names) {
        to.add(s); // added first so that a failure below still closes it
        if (!names.add(s.name())) throw new ClifException("two scorers are named '" + s.name() + "': give each scorer once");
    }

    public List<Scorer> deciding() {
        return deciding;
    }

    public List<Scorer> reported() {
        return reported;
    }

    public List<String> names() {
        List<String> out = new ArrayList<>();
        deciding.forEach(s -> out.add(s.name()));
        reported.forEach(s -> out.add(s.name()));
        return out;
    }

    /** {@code name} if it is one of this run's scorers (null stays null), else an error listing them. */
    public String reference(String name) {
        if (name == null || names().contains(name)) return name;
        throw new ClifException("--reference-scorer " + name + ": no such scorer in this run (scorers: " + String.join(", ", names()) + ")");
    }

    @Override
    public void close() {
        for (Scorer s : deciding) s.close();
        for (Scorer s : reported) s.close();
    }
}
