package dev.clif.shapes;

import java.util.Objects;

/**
 * One shape of a scene. Its bounding box is the {@code size} x {@code size} square of pixels whose top-left
 * pixel is {@code (cx - size / 2, cy - size / 2)} (integer division), i.e. {@code (cx, cy)} is its centre.
 */
public record ShapeSpec(ShapeKind kind, Colour colour, int cx, int cy, int size) {
    public ShapeSpec {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(colour, "colour");
        if (size < 1) throw new IllegalArgumentException("size " + size + " < 1");
    }

    /** The left column of the bounding box. */
    public int x0() {
        return cx - size / 2;
    }

    /** The top row of the bounding box. */
    public int y0() {
        return cy - size / 2;
    }

    /** Whether pixel (x, y) belongs to this shape. */
    public boolean covers(int x, int y) {
        return Raster.inside(kind, x0(), y0(), size, size, x, y);
    }

    /** This shape's part of a caption: "a red circle". */
    public String phrase() {
        return new Part(colour, kind).phrase();
    }

    /** What the caption says about this shape: colour and kind, no place. */
    public Part part() {
        return new Part(colour, kind);
    }
}
