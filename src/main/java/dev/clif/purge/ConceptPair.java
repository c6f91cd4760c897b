package dev.clif.purge;

import dev.clif.ClifException;

/**
 * A concept to purge and what to move it toward, e.g. {@code nudity => clothed person}: CLIF pushes the images
 * the model draws for {@link #source} along the CLIP text direction from {@code source} to {@link #target}.
 */
public record ConceptPair(String source, String target) {
    public static final String ARROW = "=>";

    public ConceptPair {
        if (source == null || source.isBlank()) throw new ClifException("concept pair: the source concept is empty");
        if (target == null || target.isBlank()) throw new ClifException("concept pair: the target concept is empty");
        source = source.strip();
        target = target.strip();
        if (source.equals(target))
            throw new ClifException("concept pair '" + source + " => " + target + "': source and target are the same, there is no direction to purge along");
    }

    /** Parses "SOURCE=>TARGET" (spaces around either side are trimmed). */
    public static ConceptPair parse(String text) {
        if (text == null) throw new ClifException("concept: missing (use \"SOURCE=>TARGET\", e.g. \"nudity=>clothed person\")");
        int at = text.indexOf(ARROW);
        if (at < 0)
            throw new ClifException("concept '" + text + "' is malformed: expected \"SOURCE=>TARGET\", e.g. \"nudity=>clothed person\"");
        if (text.indexOf(ARROW, at + ARROW.length()) >= 0)
            throw new ClifException("concept '" + text + "' is malformed: more than one '=>' (expected \"SOURCE=>TARGET\")");
        String s = text.substring(0, at).strip();
        String t = text.substring(at + ARROW.length()).strip();
        if (s.isEmpty()) throw new ClifException("concept '" + text + "' is malformed: the source (left of '=>') is empty");
        if (t.isEmpty()) throw new ClifException("concept '" + text + "' is malformed: the target (right of '=>') is empty");
        return new ConceptPair(s, t);
    }

    @Override
    public String toString() {
        return source + " => " + target;
    }
}
