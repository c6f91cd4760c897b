package dev.clif.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** What a caption says about one shape: its colour and kind ("a red circle"), without place or size. */
public record Part(Colour colour, ShapeKind kind) {
    public Part {
        Objects.requireNonNull(colour, "colour");
        Objects.requireNonNull(kind, "kind");
    }

    /** "a red circle". */
    public String phrase() {
        return "a " + colour.word() + " " + kind.word();
    }

    /** The caption for these parts, in order: "a red circle", "a green square and a yellow triangle". */
    public static String caption(List<Part> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("a caption needs at least one shape");
        StringBuilder sb = new StringBuilder();
        for (Part p : parts) {
            if (!sb.isEmpty()) sb.append(" and ");
            sb.append(p.phrase());
        }
        return sb.toString();
    }

    /**
     * The parts of a caption in the world's grammar, {@code "a <colour> <shape>"} joined by {@code " and "}
     * (case and surrounding blanks ignored).
     *
     * @throws IllegalArgumentException if the text is not such a caption
     */
    public static List<Part> parse(String caption) {
        String text = caption.strip().replaceAll("\\s+", " ");
        List<Part> parts = new ArrayList<>();
        for (String phrase : text.split(" and ", -1)) {
            String[] w = phrase.strip().split(" ");
            if (w.length != 3 || !w[0].equalsIgnoreCase("a"))
                throw new IllegalArgumentException("not a shapes-world caption: '" + caption + "'");
            parts.add(new Part(Colour.fromWord(w[1]), ShapeKind.fromWord(w[2])));
        }
        return List.copyOf(parts);
    }
}
