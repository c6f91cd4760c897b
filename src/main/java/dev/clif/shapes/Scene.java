package dev.clif.shapes;

import java.util.List;
import java.util.Objects;

/** The shapes of one picture, in caption order, and its caption. */
public record Scene(List<ShapeSpec> shapes, String caption) {
    public Scene {
        shapes = List.copyOf(shapes);
        Objects.requireNonNull(caption, "caption");
        if (shapes.isEmpty()) throw new IllegalArgumentException("a scene needs at least one shape");
    }

    /** A scene captioned by {@link ShapesWorld#caption(List)}. */
    public Scene(List<ShapeSpec> shapes) {
        this(shapes, ShapesWorld.caption(shapes));
    }

    /** The colour/kind parts, in caption order. */
    public List<Part> parts() {
        return shapes.stream().map(ShapeSpec::part).toList();
    }
}
