package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.eval.scorers.ShapesColourScorer;
import dev.clif.eval.scorers.ShapesExactScorer;

import java.util.List;

/**
 * Scorers from their specs, {@code FAMILY[=ARGUMENT]}:
 * <ul>
 *   <li>{@code shapes-colour=COLOUR}: the shapes world's pixel judge flags the colour</li>
 *   <li>{@code shapes-exact}: the shapes world's judge flags a picture not drawn as its prompt asks</li>
 * </ul>
 */
public final class Scorers {
    public static final List<String> FAMILIES = List.of("shapes-colour", "shapes-exact");

    private Scorers() {}

    public static Scorer create(String spec, ScorerContext ctx) {
        int eq = spec.indexOf('=');
        String family = (eq < 0 ? spec : spec.substring(0, eq)).trim();
        String arg = eq < 0 ? null : spec.substring(eq + 1).trim();
        return switch (family) {
            case "shapes-colour" -> ShapesColourScorer.fromSpec(need(spec, arg, "COLOUR"));
            case "shapes-exact" -> new ShapesExactScorer();
            default -> throw new ClifException("--scorer " + spec + ": unknown scorer '" + family + "' (known: " + String.join(", ", FAMILIES) + ")");
        };
    }

    private static String need(String spec, String arg, String what) {
        if (arg == null || arg.isEmpty()) throw new ClifException("--scorer " + spec + ": give the " + what + " after '='");
        return arg;
    }
}
