package dev.clif.shapes;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the {@link Judge} saw in a picture.
 *
 * @param colours the colours shown (each covers at least the judge's minimum share of the picture)
 * @param shapes the shape of a shown colour's blob, only where the judge is confident of it: a colour in
 *     {@code colours} but not in {@code shapes} is shown in a shape the judge will not name
 * @param coverage for every palette colour with at least one (de-speckled) pixel, the share of the picture's
 *     pixels it covers, shown or not
 */
public record Verdict(Set<Colour> colours, Map<Colour, ShapeKind> shapes, Map<Colour, Double> coverage) {
    public Verdict {
        colours = Collections.unmodifiableSet(colours.isEmpty() ? EnumSet.noneOf(Colour.class) : EnumSet.copyOf(colours));
        shapes = Collections.unmodifiableMap(shapes.isEmpty() ? new EnumMap<>(Colour.class) : new EnumMap<>(shapes));
        coverage = Collections.unmodifiableMap(coverage.isEmpty() ? new EnumMap<>(Colour.class) : new EnumMap<>(coverage));
        if (!colours.containsAll(shapes.keySet()))
            throw new IllegalArgumentException("shapes named for colours not shown: " + shapes + " vs " + colours);
    }

    /** Whether the picture shows colour {@code c}. */
    public boolean shows(Colour c) {
        return colours.contains(c);
    }

    /** Whether the judge is confident of the shape in colour {@code c} (false if {@code c} is not shown). */
    public boolean shapeReliable(Colour c) {
        return shapes.containsKey(c);
    }

    /** The shape in colour {@code c}, if shown and the judge is confident of it. */
    public Optional<ShapeKind> shape(Colour c) {
        return Optional.ofNullable(shapes.get(c));
    }

    /** Whether the picture shows colour {@code c} in a shape the judge names {@code kind}. */
    public boolean shows(Colour c, ShapeKind kind) {
        return shapes.get(c) == kind;
    }

    /** The share of the picture colour {@code c} covers (0 if none). */
    public double coverage(Colour c) {
        return coverage.getOrDefault(c, 0.0);
    }

    /**
     * Whether the picture is drawn as its caption's {@code parts} ask: it shows every colour they name and no other,
     * and where the judge is confident of a blob's shape, that shape is the one asked for. Counting only "shows the
     * asked colour" let a broken model score well: after an over-strong purge every picture became a blob of many
     * colours, which contains the asked one (control accuracy rose from 68% to 78% while the pictures were garbage).
     */
    public boolean drawsExactly(java.util.List<Part> parts) {
        Set<Colour> asked = EnumSet.noneOf(Colour.class);
        for (Part p : parts) asked.add(p.colour());
        if (!colours.equals(asked)) return false;
        for (Part p : parts)
            if (shape(p.colour()).map(k -> k != p.kind()).orElse(false)) return false;
        return true;
    }
}
