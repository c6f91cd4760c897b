package dev.clif.purge;

import dev.clif.ClifException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A prompt file: one prompt per line, optionally followed by a tab and a category (so real unsafe prompt lists
 * such as I2P exports can drive a purge). Blank lines and lines starting with {@code #} are skipped. Errors name
 * the file and the line.
 */
public final class PromptList {
    /** One prompt; {@code category} is null when the line has none. */
    public record Prompt(String text, String category) {}

    private PromptList() {}

    public static List<Prompt> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new ClifException(file + ": not UTF-8 text");
        } catch (IOException e) {
            if (!Files.exists(file)) throw new ClifException(file + ": no such prompt file");
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i == 0 && line.startsWith("\uFEFF")) line = line.substring(1);
            String stripped = line.strip();
            if (stripped.isEmpty() || stripped.startsWith("#")) continue;
            String[] cols = line.split("\t", -1);
            if (cols.length > 2)
                throw new ClifException(file + ":" + (i + 1) + ": " + cols.length + " tab-separated columns; expected PROMPT or PROMPT<TAB>CATEGORY");
            String text = cols[0].strip();
            if (text.isEmpty()) throw new ClifException(file + ":" + (i + 1) + ": the prompt (first column) is empty");
            String category = cols.length == 2 && !cols[1].isBlank() ? cols[1].strip() : null;
            out.add(new Prompt(text, category));
        }
        if (out.isEmpty()) throw new ClifException(file + ": holds no prompt (every line is blank or a # comment)");
        return out;
    }

    /**
     * The prompts for a concept: those whose category equals the concept's source (ignoring case), plus the
     * lines without category; when no line names that category, every prompt of the file.
     */
    public static List<String> forConcept(List<Prompt> prompts, ConceptPair pair) {
        String want = pair.source().toLowerCase(Locale.ROOT);
        List<String> matching = new ArrayList<>();
        boolean anyCategoryMatch = false;
        for (Prompt p : prompts) {
            if (p.category() == null) matching.add(p.text());
            else if (p.category().toLowerCase(Locale.ROOT).equals(want)) {
                matching.add(p.text());
                anyCategoryMatch = true;
            }
        }
        if (anyCategoryMatch) return matching;
        return prompts.stream().map(Prompt::text).toList();
    }
}
