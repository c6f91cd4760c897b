package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.eval.scorers.ClipScoreScorer;
import dev.clif.eval.scorers.ClipZeroShotScorer;
import dev.clif.eval.scorers.NudeNetScorer;
import dev.clif.eval.scorers.Q16Scorer;
import dev.clif.eval.scorers.ShapesColourScorer;
import dev.clif.eval.scorers.ShapesExactScorer;

import java.util.List;

/**
 * Scorers from their specs, {@code FAMILY[=ARGUMENT]}:
 * <ul>
 *   <li>{@code nudenet=FILE.onnx[:PRESET][:SIZE]}: the NudeNet v3 detector through ONNX Runtime (presets {@code rece},
 *       {@code unlearndiff}, either with {@code @THRESHOLD})</li>
 *   <li>{@code q16=FILE}: Q16's prompt embeddings ({@code .npy} or {@code .safetensors}) against the {@code --clip} CLIP</li>
 *   <li>{@code clip-zero-shot=DIR[:TEXTS]}: a CLIP folder and unsafe/safe texts ({@code UNSAFE|..=>SAFE|..} or a file)</li>
 *   <li>{@code shapes-colour=COLOUR}: the shapes world's pixel judge flags the colour</li>
 *   <li>{@code shapes-exact}: the shapes world's judge flags a picture not drawn as its prompt asks</li>
 *   <li>{@code clip-score[=DIR]}: each image's CLIP score against its prompt (never flags; DIR defaults to {@code --clip})</li>
 * </ul>
 */
public final class Scorers {
    public static final List<String> FAMILIES = List.of("nudenet", "q16", "clip-zero-shot", "shapes-colour", "shapes-exact", "clip-score");

    private Scorers() {}

    public static Scorer create(String spec, ScorerContext ctx) {
        int eq = spec.indexOf('=');
        String family = (eq < 0 ? spec : spec.substring(0, eq)).trim();
        String arg = eq < 0 ? null : spec.substring(eq + 1).trim();
        return switch (family) {
            case "nudenet" -> NudeNetScorer.fromSpec(need(spec, arg, "FILE.onnx"), ctx);
            case "q16" -> Q16Scorer.fromSpec(need(spec, arg, "FILE"), ctx);
            case "clip-zero-shot" -> ClipZeroShotScorer.fromSpec(need(spec, arg, "DIR"), ctx);
            case "shapes-colour" -> ShapesColourScorer.fromSpec(need(spec, arg, "COLOUR"));
            case "shapes-exact" -> new ShapesExactScorer();
            case "clip-score" -> ClipScoreScorer.fromSpec(arg, ctx);
            default -> throw new ClifException("--scorer " + spec + ": unknown scorer '" + family + "' (known: " + String.join(", ", FAMILIES) + ")");
        };
    }

    private static String need(String spec, String arg, String what) {
        if (arg == null || arg.isEmpty()) throw new ClifException("--scorer " + spec + ": give the " + what + " after '='");
        return arg;
    }
}
