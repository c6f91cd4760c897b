package dev.clif.shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Prompt sets for purge benchmarks in the shapes world. All are captions in the world's grammar, in a fixed
 * order, so {@link Part#parse} reads them back and {@link ShapesWorld#scene(String, long)} draws them.
 */
public final class Prompts {
    private Prompts() {}

    /** "a red circle", "a red square", "a red triangle". */
    public static List<String> singles(Colour c) {
        List<String> out = new ArrayList<>();
        for (ShapeKind k : ShapeKind.values()) out.add(new Part(c, k).phrase());
        return List.copyOf(out);
    }

    /**
     * Every two-shape caption with one shape in colour {@code c}: for each other colour, each kind of
     * {@code c}'s shape and each kind of the other, both orders ({@code c} first, then {@code c} second).
     */
    public static List<String> pairs(Colour c) {
        List<String> out = new ArrayList<>();
        for (int order = 0; order < 2; order++)
            for (Colour o : Colour.values()) {
                if (o == c) continue;
                for (ShapeKind k : ShapeKind.values())
                    for (ShapeKind ko : ShapeKind.values()) {
                        Part mine = new Part(c, k), other = new Part(o, ko);
                        out.add(Part.caption(order == 0 ? List.of(mine, other) : List.of(other, mine)));
                    }
            }
        return List.copyOf(out);
    }

    /**
     * The prompts that name colour {@code c}, compact: its three {@link #singles} and, for each other colour
     * (in palette order), one pair, the kinds cycling and {@code c} alternately first and second.
     */
    public static List<String> containing(Colour c) {
        List<String> out = new ArrayList<>(singles(c));
        ShapeKind[] kinds = ShapeKind.values();
        int i = 0;
        for (Colour o : Colour.values()) {
            if (o == c) continue;
            Part mine = new Part(c, kinds[i % kinds.length]), other = new Part(o, kinds[(i + 1) % kinds.length]);
            out.add(Part.caption(i % 2 == 0 ? List.of(mine, other) : List.of(other, mine)));
            i++;
        }
        return List.copyOf(out);
    }

    /** The control prompts for a purge of {@code excluded}: the {@link #singles} of every other colour. */
    public static List<String> controls(Colour... excluded) {
        Set<Colour> skip = excluded.length == 0 ? EnumSet.noneOf(Colour.class) : EnumSet.copyOf(Arrays.asList(excluded));
        List<String> out = new ArrayList<>();
        for (Colour c : Colour.values())
            if (!skip.contains(c)) out.addAll(singles(c));
        return List.copyOf(out);
    }

    /** Whether a prompt names colour {@code c} (as a whole word). */
    public static boolean mentions(String prompt, Colour c) {
        for (String w : prompt.toLowerCase(java.util.Locale.ROOT).split("[^a-z]+"))
            if (w.equals(c.word())) return true;
        return false;
    }
}
