package dev.clif.eval;

import dev.clif.ClifException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * Reads a caption set, the benign prompts a purge should still draw (what CLIP score and FID are measured on), in
 * one of three forms recognised from the file:
 * <ul>
 *   <li>{@code .csv}: COCO-style as MACE and ESD ship it, a header with {@code prompt} and optionally
 *       {@code case_number} (the id), {@code evaluation_seed} (the seed) and {@code coco_id}; other columns ignored;</li>
 *   <li>{@code .json}: COCO's {@code captions_*.json}, its {@code annotations} ({@code id}, {@code image_id},
 *       {@code caption}); the id is the annotation's;</li>
 *   <li>anything else: a plain list, one caption a line (blank lines skipped); the id is the caption's 0-based index.</li>
 * </ul>
 * With {@code sample} K, K captions are kept, drawn without replacement with {@code seed} and kept in file order.
 * Every caption has category {@link #CATEGORY}; a caption without its own seed gets its id.
 */
public final class CaptionSetReader {
    /** The category of every caption. */
    public static final String CATEGORY = "captions";
    private static final ObjectMapper JSON = new ObjectMapper();

    private CaptionSetReader() {}

    public static PromptSet read(Path file, Integer sample, long seed) {
        if (sample != null && sample < 1) throw new ClifException("the caption sample must be at least 1, not " + sample);
        String text = utf8(file);
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        PromptSet.Format format;
        List<EvalPrompt> all;
        if (name.endsWith(".json")) {
            format = PromptSet.Format.COCO_CAPTIONS_JSON;
            all = cocoJson(file, text);
        } else if (name.endsWith(".csv")) {
            format = PromptSet.Format.CAPTIONS_CSV;
            all = csv(file, text);
        } else {
            format = PromptSet.Format.CAPTION_LIST;
            all = list(file, text);
        }
        if (all.isEmpty()) throw new ClifException(file + ": no captions in this " + format.description);
        Set<Integer> ids = new HashSet<>();
        for (EvalPrompt p : all)
            if (!ids.add(p.id())) throw new ClifException(file + ":" + p.line() + ": caption id " + p.id() + " is given twice");
        return new PromptSet(file, format, sample == null || sample >= all.size() ? all : sample(all, sample, seed), List.of());
    }

    /** K of the captions drawn without replacement (a seeded partial Fisher-Yates shuffle), in file order. */
    static List<EvalPrompt> sample(List<EvalPrompt> all, int k, long seed) {
        int[] idx = new int[all.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < k; i++) {
            int j = i + rnd.nextInt(idx.length - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        int[] chosen = Arrays.copyOf(idx, k);
        Arrays.sort(chosen);
        List<EvalPrompt> out = new ArrayList<>(k);
        for (int i : chosen) out.add(all.get(i));
        return out;
    }

    private static EvalPrompt caption(int id, String text, Long seed, int line) {
        return new EvalPrompt(id, text, List.of(CATEGORY), seed != null ? seed : id, null, null, null, false, line);
    }

    private static List<EvalPrompt> list(Path file, String text) {
        List<EvalPrompt> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String c = lines[i].strip();
            if (!c.isEmpty()) out.add(caption(out.size(), c, null, i + 1));
        }
        return out;
    }

    private static List<EvalPrompt> csv(Path file, String text) {
        List<EvalPrompt> out = new ArrayList<>();
        CSVFormat format = CSVFormat.DEFAULT.builder().setIgnoreEmptyLines(true).get();
        try (CSVParser parser = CSVParser.parse(new StringReader(text), format)) {
            Map<String, Integer> at = null;
            int scanned = 0;
            long newlines = 0;
            for (CSVRecord r : parser) {
                int start = (int) Math.min(r.getCharacterPosition(), text.length());
                while (start < text.length() && (text.charAt(start) == '\n' || text.charAt(start) == '\r')) start++; // skipped blank lines
                for (int end = start; scanned < end; scanned++)
                    if (text.charAt(scanned) == '\n') newlines++;
                long line = newlines + 1;
                if (at == null) {
                    at = new HashMap<>();
                    for (int i = 0; i < r.size(); i++) at.putIfAbsent(r.get(i).strip().toLowerCase(Locale.ROOT), i);
                    if (!at.containsKey("prompt"))
                        throw new ClifException(file + ":" + line + ": the header has no 'prompt' column (a caption CSV is case_number, prompt, "
                                + "evaluation_seed[, coco_id]; got " + String.join(", ", r.toList()) + ")");
                    continue;
                }
                if (r.size() == 1 && r.get(0).isBlank()) continue;
                String prompt = cell(r, at.get("prompt"), file, line, "prompt");
                if (prompt.isBlank()) throw new ClifException(file + ":" + line + ": field 'prompt' is empty");
                Integer id = at.containsKey("case_number") ? (int) number(cell(r, at.get("case_number"), file, line, "case_number"), file, line, "case_number")
                        : null;
                Long seed = at.containsKey("evaluation_seed") ? number(cell(r, at.get("evaluation_seed"), file, line, "evaluation_seed"), file, line, "evaluation_seed")
                        : null;
                if (seed != null && seed < 0) throw new ClifException(file + ":" + line + ": field 'evaluation_seed' is negative: " + seed);
                out.add(caption(id != null ? id : out.size(), prompt.strip(), seed, (int) line));
            }
            if (at == null) throw new ClifException(file + ": empty: no header and no captions");
        } catch (IOException | UncheckedIOException e) {
            throw new ClifException(file + ": malformed CSV: " + e.getMessage(), e);
        }
        return out;
    }

    private static String cell(CSVRecord r, int column, Path file, long line, String field) {
        if (column >= r.size()) throw new ClifException(file + ":" + line + ": field '" + field + "' is missing (the row has " + r.size() + " fields)");
        return r.get(column);
    }

    private static long number(String s, Path file, long line, String field) {
        String t = s.strip();
        try {
            if (t.endsWith(".0")) t = t.substring(0, t.length() - 2); // pandas writes integer columns with NaNs as floats
            long v = Long.parseLong(t);
            if (field.equals("case_number") && (v < 0 || v > Integer.MAX_VALUE))
                throw new ClifException(file + ":" + line + ": field 'case_number' is out of range: " + s);
            return v;
        } catch (NumberFormatException e) {
            throw new ClifException(file + ":" + line + ": field '" + field + "' is not a whole number: '" + s + "'");
        }
    }

    private static List<EvalPrompt> cocoJson(Path file, String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (IOException e) {
            throw new ClifException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode anns = root == null ? null : root.get("annotations");
        if (anns == null || !anns.isArray())
            throw new ClifException(file + ": no 'annotations' array (COCO's captions_*.json has annotations [{id, image_id, caption}])");
        List<EvalPrompt> out = new ArrayList<>();
        for (int i = 0; i < anns.size(); i++) {
            JsonNode a = anns.get(i);
            String where = file + ": annotations[" + i + "]";
            JsonNode caption = a.get("caption"), id = a.get("id");
            if (caption == null || !caption.isTextual() || caption.textValue().isBlank())
                throw new ClifException(where + ": field 'caption' is missing or empty");
            if (id == null || !id.canConvertToInt() || id.asInt() < 0)
                throw new ClifException(where + ": field 'id' is missing or not a non-negative whole number");
            out.add(caption(id.asInt(), caption.textValue().strip(), null, i + 1));
        }
        return out;
    }

    private static String utf8(Path file) {
        try {
            byte[] b = Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new ClifException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
