package dev.clif.eval;

import java.util.List;

/**
 * One prompt of a categorized prompt set. {@code id} is stable across filters: the set's own id column
 * ({@code case_number}, JSONL {@code id}) or else the 0-based index of the data row in the file. {@code seed},
 * {@code guidance}, {@code width} and {@code height} are null where the file gives none. {@code categories} are
 * lower-case and trimmed, in file order. {@code line} is the 1-based line of the file the row starts on.
 */
public record EvalPrompt(int id, String prompt, List<String> categories, Long seed, Double guidance, Integer width,
                         Integer height, boolean hard, int line) {
    public EvalPrompt {
        categories = List.copyOf(categories);
    }
}
