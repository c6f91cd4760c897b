package dev.clif.shapes;

import java.util.Locale;

/** The shapes the shapes world draws. All are axis-aligned; triangles stand upright (apex at the top). */
public enum ShapeKind {
    CIRCLE,
    SQUARE,
    TRIANGLE;

    /** The caption word: "circle", "square", "triangle". */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind whose {@link #word()} is {@code word} (case-insensitive). */
    public static ShapeKind fromWord(String word) {
        for (ShapeKind k : values())
            if (k.word().equalsIgnoreCase(word.strip())) return k;
        throw new IllegalArgumentException("not a shape word: '" + word + "'");
    }
}
