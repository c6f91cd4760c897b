package dev.clif.shapes;

import java.util.Locale;

/**
 * The palette of the shapes world: the seven non-black corners of the RGB cube. Any two of them (and the
 * black {@linkplain #BACKGROUND background}) are at least 255 apart in RGB, so that a pixel of a noisy or
 * blurred picture can still be told apart; see {@link Judge}.
 */
public enum Colour {
    RED(255, 0, 0),
    GREEN(0, 255, 0),
    BLUE(0, 0, 255),
    YELLOW(255, 255, 0),
    MAGENTA(255, 0, 255),
    CYAN(0, 255, 255),
    WHITE(255, 255, 255);

    /** The background of every picture: black, {@code (0, 0, 0)}. */
    public static final int BACKGROUND = 0x000000;

    private final int r, g, b;

    Colour(int r, int g, int b) {
        this.r = r;
        this.g = g;
        this.b = b;
    }

    public int r() {
        return r;
    }

    public int g() {
        return g;
    }

    public int b() {
        return b;
    }

    /** 0xRRGGBB. */
    public int rgb() {
        return (r << 16) | (g << 8) | b;
    }

    /** The caption word: "red", "green", ... */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The colour whose {@link #word()} is {@code word} (case-insensitive). */
    public static Colour fromWord(String word) {
        for (Colour c : values())
            if (c.word().equalsIgnoreCase(word.strip())) return c;
        throw new IllegalArgumentException("not a colour word: '" + word + "'");
    }
}
