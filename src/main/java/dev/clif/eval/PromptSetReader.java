package dev.clif.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.clif.ClifException;
import dev.clif.AtomicFile;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a categorized prompt file in any of the forms of {@link PromptSet.Format}, recognised from its content,
 * and writes prompts back as I2P's CSV. Every defect of the file is a {@link ClifException} naming the file, the
 * line and the column; no row is ever skipped silently.
 */
public final class PromptSetReader {
    private static final Logger log = LoggerFactory.getLogger(PromptSetReader.class);
    /** I2P's header as published (Hugging Face AIML-TUDA/i2p, {@code i2p_benchmark.csv}), in its order. */
    public static final List<String> I2P_HEADER = List.of("prompt", "categories", "hard", "inappropriate_percentage",
            "nudity_percentage", "q16_percentage", "sd_safety_percentage", "prompt_toxicity", "lexica_url", "sd_seed",
            "sd_guidance_scale", "sd_image_width", "sd_image_height", "sd_model");

    // Blank lines come through as records of their own so that every record's character position is its true start.
    private static final CSVFormat CSV_IN = CSVFormat.DEFAULT.builder().setIgnoreEmptyLines(false).get();
    private static final CSVFormat CSV_OUT = CSVFormat.DEFAULT.builder().setRecordSeparator("\n").get();
    // Exact decimals (a guidance of 7.1 stays 7.1 until it becomes a double), and no second reading of a line.
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private PromptSetReader() {}

    /** What a column or field means to Clif. */
    private enum Role { PROMPT, CATEGORIES, ID, SEED, GUIDANCE, WIDTH, HEIGHT, HARD }

    /** One column of a CSV form: the names it may go by (any one of them), and whether the header must have it. */
    private record Column(Role role, List<String> names, boolean required) {
        static Column required(Role role, String... names) {
            return new Column(role, List.of(names), true);
        }

        static Column optional(Role role, String... names) {
            return new Column(role, List.of(names), false);
        }
    }

    private record CsvForm(PromptSet.Format format, List<Column> columns) {
        boolean requires(Role role) {
            return columns.stream().anyMatch(c -> c.role == role && c.required);
        }

        String needs() {
            return columns.stream().filter(Column::required).map(c -> String.join(" or ", c.names))
                    .collect(Collectors.joining(", "));
        }
    }

    // I2P's protocol generates each prompt with its own seed and guidance, so the form needs both. ESD's
    // generate-images.py takes the seed and case_number from the file but the guidance from its command line,
    // so there the guidance column is optional.
    private static final CsvForm I2P = new CsvForm(PromptSet.Format.I2P_CSV, List.of(
            Column.required(Role.PROMPT, "prompt"),
            Column.required(Role.CATEGORIES, "categories"),
            Column.required(Role.SEED, "sd_seed"),
            Column.required(Role.GUIDANCE, "sd_guidance_scale"),
            Column.optional(Role.HARD, "hard"),
            Column.optional(Role.WIDTH, "sd_image_width"),
            Column.optional(Role.HEIGHT, "sd_image_height")));
    private static final CsvForm ESD = new CsvForm(PromptSet.Format.ESD_CSV, List.of(
            Column.required(Role.PROMPT, "prompt"),
            Column.required(Role.CATEGORIES, "categories"),
            Column.required(Role.ID, "case_number"),
            Column.required(Role.SEED, "evaluation_seed"),
            Column.optional(Role.GUIDANCE, "evaluation_guidance"),
            Column.optional(Role.HARD, "hard"),
            Column.optional(Role.WIDTH, "sd_image_width"),
            Column.optional(Role.HEIGHT, "sd_image_height")));
    private static final CsvForm MINIMAL = new CsvForm(PromptSet.Format.MINIMAL_CSV, List.of(
            Column.required(Role.PROMPT, "prompt"),
            Column.required(Role.CATEGORIES, "category", "categories"),
            Column.optional(Role.SEED, "seed"),
            Column.optional(Role.GUIDANCE, "guidance"),
            Column.optional(Role.WIDTH, "width"),
            Column.optional(Role.HEIGHT, "height"),
            Column.optional(Role.HARD, "hard")));

    // Columns that say which form a header means, so that a header lacking one of that form's columns is an
    // error instead of being read as another form that would ignore the seeds.
    private static final List<String> ESD_MARKS = List.of("case_number", "evaluation_seed", "evaluation_guidance");
    private static final List<String> I2P_MARKS = List.of("sd_seed", "sd_guidance_scale", "sd_image_width",
            "sd_image_height");

    /** The prompts as read, before filtering, and whether the file can say which prompts are hard. */
    private record Parsed(PromptSet.Format format, List<EvalPrompt> prompts, boolean hasHard) {}

    /**
     * Reads {@code file}, recognising its form from the content, and keeps the prompts {@code filter} selects
     * (null keeps all).
     */
    public static PromptSet read(Path file, PromptSet.Filter filter) {
        PromptSet.Filter f = filter == null ? PromptSet.Filter.ALL : filter;
        if (f.limit() != null && f.limit() < 1) {
            throw new ClifException("the prompt limit must be at least 1, not " + f.limit());
        }
        String text = readUtf8(file);
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        String start = text.stripLeading();
        if (start.isEmpty()) {
            throw new ClifException(file + ": no prompts: the file is empty");
        }
        Parsed parsed;
        if (start.startsWith("{")) {
            parsed = readJsonl(file, text);
        } else if (start.startsWith("[")) {
            throw new ClifException(file + ": a JSON array; Clif reads JSONL, one JSON object per line");
        } else {
            parsed = readCsv(file, text);
        }
        List<String> refused = new ArrayList<>();
        return new PromptSet(file, parsed.format, select(file, parsed, f, refused), refused);
    }

    /** The distinct categories of {@code set}'s prompts, sorted. */
    public static List<String> categories(PromptSet set) {
        return categoriesOf(set.prompts());
    }

    private static List<String> categoriesOf(List<EvalPrompt> prompts) {
        Set<String> all = new TreeSet<>();
        for (EvalPrompt p : prompts) {
            all.addAll(p.categories());
        }
        return List.copyOf(all);
    }

    // ---------------------------------------------------------------------------------------------- reading text

    private static String readUtf8(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ClifException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new ClifException(file + ": cannot read: permission denied", e);
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(in).toString();
        } catch (CharacterCodingException e) {
            // The decoder stops at the first bad byte; say where, since a single stray Latin-1 byte is the usual case.
            int at = in.position();
            throw new ClifException(String.format("%s:%d: not UTF-8 text (byte 0x%02X at offset %d); save the file as UTF-8",
                    file, lineOfByte(bytes, at), bytes[at] & 0xFF, at), e);
        }
    }

    private static int lineOfByte(byte[] bytes, int end) {
        int line = 1;
        for (int i = 0; i < end; i++) {
            if (bytes[i] == '\n' || (bytes[i] == '\r' && (i + 1 >= bytes.length || bytes[i + 1] != '\n'))) {
                line++;
            }
        }
        return line;
    }

    /** Where each line of a text starts; lines end at \n, \r\n or \r, as commons-csv ends records. */
    private static final class Lines {
        private final int[] starts;

        Lines(String text) {
            List<Integer> s = new ArrayList<>();
            s.add(0);
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                if (c == '\r' || c == '\n') {
                    s.add(i + 1);
                }
            }
            starts = s.stream().mapToInt(Integer::intValue).toArray();
        }

        /** The 1-based line holding character {@code pos}. */
        int lineOf(long pos) {
            int lo = 0;
            int hi = starts.length - 1;
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (starts[mid] <= pos) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            return lo + 1;
        }

        int count() {
            return starts.length;
        }

        int start(int index) {
            return starts[index];
        }
    }

    // ------------------------------------------------------------------------------------------------------ CSV

    private static Parsed readCsv(Path file, String text) {
        Lines lines = new Lines(text);
        List<EvalPrompt> prompts = new ArrayList<>();
        Map<Integer, Integer> idLines = new HashMap<>();
        try (CSVParser parser = CSVParser.parse(text, CSV_IN)) {
            Iterator<CSVRecord> records = parser.iterator();
            List<String> header = null;
            int headerLine = 0;
            Map<Role, Integer> at = null;
            CsvForm form = null;
            int index = 0;
            while (true) {
                // The parser has consumed whole records so far, so a record that fails starts on the next line.
                long before = parser.getCurrentLineNumber();
                CSVRecord record;
                try {
                    if (!records.hasNext()) {
                        break;
                    }
                    record = records.next();
                } catch (UncheckedIOException e) {
                    throw malformed(file, before + 1, e);
                }
                if (isBlank(record)) {
                    continue;
                }
                int line = lines.lineOf(record.getCharacterPosition());
                if (header == null) {
                    header = record.toList().stream().map(String::strip).toList();
                    headerLine = line;
                    form = formOf(file, line, header);
                    at = columnsOf(file, line, header, form);
                    continue;
                }
                if (record.size() < header.size()) {
                    throw new ClifException(String.format("%s:%d: column '%s': missing (the row has %d fields, the header %d)",
                            file, line, header.get(record.size()), record.size(), header.size()));
                }
                if (record.size() > header.size()) {
                    throw new ClifException(String.format(
                            "%s:%d: the row has %d fields, the header %d (an unquoted comma in a field?)",
                            file, line, record.size(), header.size()));
                }
                EvalPrompt p = csvPrompt(file, line, record, header, form, at, index);
                checkId(file, line, idLines, p.id(), at.containsKey(Role.ID) ? header.get(at.get(Role.ID)) : null, "column");
                prompts.add(p);
                index++;
            }
            if (header == null) {
                throw new ClifException(file + ": no prompts: the file is empty");
            }
            if (prompts.isEmpty()) {
                throw new ClifException(file + ": no prompts: only a header (line " + headerLine + ")");
            }
            return new Parsed(form.format, prompts, at.containsKey(Role.HARD));
        } catch (IOException e) {
            // Parsing a String only fails on closing, which does nothing; kept for the signature.
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static boolean isBlank(CSVRecord record) {
        return record.size() == 1 && record.get(0).isBlank();
    }

    private static ClifException malformed(Path file, long line, UncheckedIOException e) {
        String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
        if (why != null && why.contains("EOF reached before encapsulated token finished")) {
            return new ClifException(file + ":" + line
                    + ": a quoted field of the row starting here is never closed (a \" without its closing \")", e);
        }
        return new ClifException(file + ":" + line + ": malformed CSV in the row starting here: " + why, e);
    }

    private static CsvForm formOf(Path file, int line, List<String> header) {
        Set<String> names = header.stream().map(n -> n.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
        CsvForm form = ESD_MARKS.stream().anyMatch(names::contains) ? ESD
                : I2P_MARKS.stream().anyMatch(names::contains) ? I2P : MINIMAL;
        List<String> missing = form.columns.stream()
                .filter(c -> c.required && c.names.stream().noneMatch(names::contains))
                .map(c -> String.join(" or ", c.names)).toList();
        if (missing.isEmpty()) {
            return form;
        }
        String lacks = form == MINIMAL ? "" : "; as " + form.format.description + " it lacks " + String.join(", ", missing);
        throw new ClifException(String.format(
                "%s:%d: the header fits no prompt-file form: it has columns %s%s. Clif reads %s (needs %s), %s (needs %s), "
                        + "%s (needs %s) or JSONL (one JSON object per line with prompt and categories)",
                file, line, header, lacks, I2P.format.description, I2P.needs(), ESD.format.description, ESD.needs(),
                MINIMAL.format.description, MINIMAL.needs()));
    }

    /** Where each role's column is in the header; a column given twice, or under two of its names, is an error. */
    private static Map<Role, Integer> columnsOf(Path file, int line, List<String> header, CsvForm form) {
        Map<Role, Integer> at = new LinkedHashMap<>();
        for (Column column : form.columns) {
            List<Integer> found = new ArrayList<>();
            for (int i = 0; i < header.size(); i++) {
                if (column.names.contains(header.get(i).toLowerCase(Locale.ROOT))) {
                    found.add(i);
                }
            }
            if (found.size() > 1) {
                String a = header.get(found.get(0));
                String b = header.get(found.get(1));
                throw new ClifException(a.equalsIgnoreCase(b)
                        ? String.format("%s:%d: the header has column '%s' twice (columns %d and %d); keep one",
                                file, line, a, found.get(0) + 1, found.get(1) + 1)
                        : String.format("%s:%d: the header has column '%s' as well as '%s'; keep one", file, line, a, b));
            }
            if (found.size() == 1) {
                at.put(column.role, found.get(0));
            }
        }
        return at;
    }

    private static EvalPrompt csvPrompt(Path file, int line, CSVRecord record, List<String> header, CsvForm form,
                                        Map<Role, Integer> at, int index) {
        Cells cells = new Cells(file, line, record, header, form, at);
        String prompt = cells.raw(Role.PROMPT);
        List<String> categories = normaliseCategories(List.of(cells.raw(Role.CATEGORIES)));
        Integer id = cells.value(Role.ID, Values::id);
        Long seed = cells.value(Role.SEED, Values::seed);
        Double guidance = cells.value(Role.GUIDANCE, Values::guidance);
        Integer width = cells.value(Role.WIDTH, Values::size);
        Integer height = cells.value(Role.HEIGHT, Values::size);
        Boolean hard = cells.value(Role.HARD, Values::hard);
        return new EvalPrompt(id != null ? id : index, prompt, categories, seed, guidance, width, height,
                hard != null && hard, line);
    }

    /** The cells of one CSV row by role, and the location prefix its errors carry. */
    private record Cells(Path file, int line, CSVRecord record, List<String> header, CsvForm form,
                         Map<Role, Integer> at) {
        String where(Role role) {
            return file + ":" + line + ": column '" + header.get(at.get(role)) + "'";
        }

        String raw(Role role) {
            return record.get(at.get(role));
        }

        /**
         * The parsed cell, or null where the form has no such column or the cell is empty. A column the form
         * requires (I2P's seed and guidance, ESD's case_number and seed) must be filled on every row: those
         * are what make a run comparable with the published one.
         */
        <T> T value(Role role, Values.Parser<T> parser) {
            if (!at.containsKey(role)) {
                return null;
            }
            String cell = raw(role).strip();
            if (cell.isEmpty()) {
                if (form.requires(role)) {
                    throw new ClifException(where(role) + ": empty");
                }
                return null;
            }
            try {
                return parser.parse(cell, '"' + cell + '"');
            } catch (Values.Bad e) {
                throw new ClifException(where(role) + ": " + e.getMessage());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------- JSONL

    private static Parsed readJsonl(Path file, String text) {
        Lines lines = new Lines(text);
        List<EvalPrompt> prompts = new ArrayList<>();
        Map<Integer, Integer> idLines = new HashMap<>();
        boolean hasHard = false;
        int firstWithId = 0;
        int firstWithoutId = 0;
        int index = 0;
        for (int i = 0; i < lines.count(); i++) {
            int end = i + 1 < lines.count() ? lines.start(i + 1) : text.length();
            String content = text.substring(lines.start(i), end).stripTrailing();
            int line = i + 1;
            if (content.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(content);
            } catch (JsonProcessingException e) {
                String why = e.getOriginalMessage() == null ? e.getClass().getSimpleName()
                        : e.getOriginalMessage().lines().findFirst().orElse("");
                String column = e.getLocation() != null && e.getLocation().getColumnNr() > 0
                        ? " (column " + e.getLocation().getColumnNr() + ")" : "";
                throw new ClifException(file + ":" + line + ": not valid JSON" + column + ": " + why, e);
            } catch (NumberFormatException e) {
                // Jackson reads decimals exactly (BigDecimal) and refuses exponents it cannot hold, e.g. 1e10000001324.
                throw new ClifException(file + ":" + line + ": not valid JSON: a number out of range ("
                        + e.getMessage().lines().findFirst().orElse("") + ")", e);
            }
            if (!node.isObject()) {
                throw new ClifException(file + ":" + line + ": a JSON " + typeOf(node) + ", not an object");
            }
            Fields fields = new Fields(file, line, node);
            EvalPrompt p = jsonPrompt(fields, index);
            if (fields.given("id")) {
                firstWithId = firstWithId == 0 ? line : firstWithId;
            } else {
                firstWithoutId = firstWithoutId == 0 ? line : firstWithoutId;
            }
            // An id on some lines only would mix the file's ids with line indices, which may collide or mislead.
            if (firstWithId != 0 && firstWithoutId != 0) {
                throw new ClifException(firstWithId < firstWithoutId
                        ? file + ":" + firstWithoutId + ": field 'id': missing, while line " + firstWithId
                        + " has one (give every line an id, or none)"
                        : file + ":" + firstWithId + ": field 'id': given, while line " + firstWithoutId
                        + " has none (give every line an id, or none)");
            }
            checkId(file, line, idLines, p.id(), fields.given("id") ? "id" : null, "field");
            hasHard |= fields.given("hard");
            prompts.add(p);
            index++;
        }
        if (prompts.isEmpty()) {
            throw new ClifException(file + ": no prompts: the file has only blank lines");
        }
        return new Parsed(PromptSet.Format.JSONL, prompts, hasHard);
    }

    private static EvalPrompt jsonPrompt(Fields fields, int index) {
        JsonNode prompt = fields.get("prompt");
        if (prompt == null) {
            throw new ClifException(fields.where("prompt") + ": missing");
        }
        if (!prompt.isTextual()) {
            throw new ClifException(fields.where("prompt") + ": a " + typeOf(prompt) + ", not a string");
        }
        boolean plural = fields.given("categories");
        boolean singular = fields.given("category");
        if (plural && singular) {
            throw new ClifException(fields.where("categories") + ": given as well as 'category'; keep one");
        }
        if (!plural && !singular) {
            throw new ClifException(fields.where("categories")
                    + ": missing (give \"categories\": an array or a comma-separated string, or \"category\"; it may be empty)");
        }
        String name = plural ? "categories" : "category";
        JsonNode cats = fields.get(name);
        List<String> pieces = new ArrayList<>();
        if (cats.isTextual()) {
            pieces.add(cats.textValue());
        } else if (cats.isArray()) {
            for (JsonNode c : cats) {
                if (!c.isTextual()) {
                    throw new ClifException(fields.where(name) + ": holds a " + typeOf(c) + ", not only strings");
                }
                pieces.add(c.textValue());
            }
        } else {
            throw new ClifException(fields.where(name) + ": a " + typeOf(cats) + ", not an array of strings or a string");
        }
        Integer id = fields.number("id", Values::id);
        Long seed = fields.number("seed", Values::seed);
        Double guidance = fields.number("guidance", Values::guidance);
        Integer width = fields.number("width", Values::size);
        Integer height = fields.number("height", Values::size);
        Boolean hard = fields.hard();
        return new EvalPrompt(id != null ? id : index, prompt.textValue(), normaliseCategories(pieces), seed, guidance,
                width, height, hard != null && hard, fields.line);
    }

    /** The fields of one JSONL object, and the location prefix its errors carry. JSON null means "not given". */
    private record Fields(Path file, int line, JsonNode node) {
        String where(String field) {
            return file + ":" + line + ": field '" + field + "'";
        }

        JsonNode get(String field) {
            JsonNode v = node.get(field);
            return v == null || v.isNull() ? null : v;
        }

        boolean given(String field) {
            return get(field) != null;
        }

        <T> T number(String field, Values.Parser<T> parser) {
            JsonNode v = get(field);
            if (v == null) {
                return null;
            }
            if (!v.isNumber()) {
                throw new ClifException(where(field) + ": a " + typeOf(v) + ", not a number");
            }
            try {
                return parser.parse(v.decimalValue().toString(), v.toString());
            } catch (Values.Bad e) {
                throw new ClifException(where(field) + ": " + e.getMessage());
            }
        }

        Boolean hard() {
            JsonNode v = get("hard");
            if (v == null) {
                return null;
            }
            if (v.isBoolean()) {
                return v.booleanValue();
            }
            if (!v.isNumber()) {
                throw new ClifException(where("hard") + ": a " + typeOf(v) + ", not true, false, 0 or 1");
            }
            try {
                return Values.hard(v.decimalValue().toString(), v.toString());
            } catch (Values.Bad e) {
                throw new ClifException(where("hard") + ": " + e.getMessage());
            }
        }
    }

    private static String typeOf(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "array";
            case BOOLEAN -> "boolean";
            case NUMBER -> "number";
            case OBJECT -> "object";
            case STRING -> "string";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    // ------------------------------------------------------------------------------------------------- values

    /** Parsing one cell or field; {@link Bad} carries the reason, the caller adds where. */
    private static final class Values {
        @FunctionalInterface
        interface Parser<T> {
            /** {@code shown} is the value as the user wrote it, for messages. */
            T parse(String text, String shown) throws Bad;
        }

        static final class Bad extends Exception {
            Bad(String message) {
                super(message, null, false, false);
            }
        }

        private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);
        private static final BigDecimal INT_MAX = BigDecimal.valueOf(Integer.MAX_VALUE);

        private static BigDecimal decimal(String text, String shown) throws Bad {
            try {
                return new BigDecimal(text);
            } catch (NumberFormatException e) {
                throw new Bad(shown + " is not a number");
            }
        }

        /** A whole number (123, 123.0, 1.23e2) at most {@code max}; compared as decimals so 1e999999 cannot blow up. */
        private static BigDecimal whole(String text, String shown, BigDecimal max, String what) throws Bad {
            BigDecimal v;
            try {
                v = new BigDecimal(text).stripTrailingZeros();
            } catch (NumberFormatException e) {
                throw new Bad(shown + " is not a whole number");
            }
            if (v.scale() > 0) {
                throw new Bad(shown + " is not a whole number");
            }
            if (v.signum() < 0) {
                throw new Bad(shown + " is negative; " + what + " is 0 or more");
            }
            if (v.compareTo(max) > 0) {
                throw new Bad(shown + " is too large for " + what);
            }
            return v;
        }

        static Integer id(String text, String shown) throws Bad {
            return whole(text, shown, INT_MAX, "an id").intValueExact();
        }

        static Long seed(String text, String shown) throws Bad {
            return whole(text, shown, LONG_MAX, "a seed").longValueExact();
        }

        static Integer size(String text, String shown) throws Bad {
            try {
                if (new BigDecimal(text).signum() <= 0) {
                    throw new Bad(shown + " is not a positive size");
                }
            } catch (NumberFormatException e) {
                // whole() below names it
            }
            return whole(text, shown, INT_MAX, "an image size").intValueExact();
        }

        static Double guidance(String text, String shown) throws Bad {
            BigDecimal v = decimal(text, shown);
            if (v.signum() < 0) {
                throw new Bad(shown + " is negative; guidance is 0 or more");
            }
            double d = v.doubleValue();
            if (!Double.isFinite(d)) {
                throw new Bad(shown + " is too large for a guidance scale");
            }
            return d;
        }

        static Boolean hard(String text, String shown) throws Bad {
            String t = text.toLowerCase(Locale.ROOT);
            if (t.equals("true")) {
                return true;
            }
            if (t.equals("false")) {
                return false;
            }
            try {
                BigDecimal v = new BigDecimal(text);
                if (v.compareTo(BigDecimal.ONE) == 0) {
                    return true;
                }
                if (v.signum() == 0) {
                    return false;
                }
            } catch (NumberFormatException ignored) {
                // falls through to the message below
            }
            throw new Bad(shown + " is not 0, 1, true or false");
        }
    }

    /** Comma-separated pieces, trimmed and lower-cased, empty ones dropped, each kept once in first-seen order. */
    static List<String> normaliseCategories(List<String> values) {
        Set<String> out = new LinkedHashSet<>();
        for (String v : values) {
            for (String piece : v.split(",")) {
                String c = piece.strip().toLowerCase(Locale.ROOT);
                if (!c.isEmpty()) {
                    out.add(c);
                }
            }
        }
        return List.copyOf(out);
    }

    private static void checkId(Path file, int line, Map<Integer, Integer> idLines, int id, String name, String kind) {
        Integer first = idLines.putIfAbsent(id, line);
        if (first != null) {
            // Row indices never repeat, so only a file's own id column can get here.
            throw new ClifException(String.format("%s:%d: %s '%s': id %d is also on line %d", file, line, kind, name, id, first));
        }
    }

    // -------------------------------------------------------------------------------------------------- filter

    /**
     * The prompts the filter keeps. Empty prompts are refused, not generated: each goes to {@code refused} (file:line)
     * and is logged; their ids stay taken, so the other prompts keep theirs.
     */
    private static List<EvalPrompt> select(Path file, Parsed all, PromptSet.Filter f, List<String> refused) {
        List<EvalPrompt> usable = new ArrayList<>();
        for (EvalPrompt p : all.prompts) {
            if (!p.prompt().isBlank()) {
                usable.add(p);
                continue;
            }
            String why = file + ":" + p.line() + ": empty prompt (id " + p.id() + ")";
            log.warn("{}: refused, not generated", why);
            refused.add(why);
        }
        if (usable.isEmpty()) throw new ClifException(file + ": no prompts: every prompt is empty (" + String.join("; ", refused) + ")");
        Parsed parsed = new Parsed(all.format, usable, all.hasHard);
        List<String> wanted = normaliseCategories(f.categories());
        List<String> present = categoriesOf(parsed.prompts);
        String has = present.isEmpty() ? "the file's prompts have no categories"
                : "the file's categories: " + String.join(", ", present);
        for (String c : wanted) {
            // A misspelt category would otherwise just shrink the set without a word.
            if (!present.contains(c)) {
                throw new ClifException(file + ": no prompt has category '" + c + "'; " + has);
            }
        }
        if (f.hardOnly() && !parsed.hasHard) {
            throw new ClifException(file + ": hard prompts only, but " + parsed.format.description
                    + (parsed.format == PromptSet.Format.JSONL ? " without a 'hard' field on any line" : " without a 'hard' column")
                    + " cannot say which prompts are hard");
        }
        List<EvalPrompt> kept = new ArrayList<>();
        for (EvalPrompt p : parsed.prompts) {
            if (!wanted.isEmpty() && p.categories().stream().noneMatch(wanted::contains)) {
                continue;
            }
            if (f.hardOnly() && !p.hard()) {
                continue;
            }
            kept.add(p);
        }
        if (kept.isEmpty()) {
            // Every wanted category is present, so only "hard only" can empty the set.
            long hard = parsed.prompts.stream().filter(EvalPrompt::hard).count();
            throw new ClifException(String.format("%s: no prompt is left after the filter (hard only%s); the file has %d prompts, %d of them hard; %s",
                    file, wanted.isEmpty() ? "" : ", categories " + String.join(", ", wanted), parsed.prompts.size(), hard, has));
        }
        if (f.limit() != null && kept.size() > f.limit()) {
            kept = kept.subList(0, f.limit());
        }
        return kept;
    }

    // ------------------------------------------------------------------------------------------------- writing

    /**
     * Writes {@code prompts} as I2P's CSV (its header, the columns Clif does not know left empty), atomically.
     * The I2P form has no id column, so the prompts must have ids 0..n-1 in order (what reading gives back);
     * every prompt needs a seed and a guidance, as I2P's form does. Reading the file back gives the same prompts
     * except for {@code line}.
     */
    public static void writeI2pCsv(Path file, List<EvalPrompt> prompts) {
        if (prompts.isEmpty()) {
            throw new ClifException(file + ": no prompts to write");
        }
        for (int i = 0; i < prompts.size(); i++) {
            checkWritable(file, i, prompts.get(i));
        }
        AtomicFile.write(file, tmp -> {
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8);
                 CSVPrinter out = new CSVPrinter(w, CSV_OUT)) {
                out.printRecord(I2P_HEADER);
                for (EvalPrompt p : prompts) {
                    List<String> row = new ArrayList<>();
                    for (String column : I2P_HEADER) {
                        row.add(switch (column) {
                            case "prompt" -> p.prompt();
                            case "categories" -> String.join(", ", p.categories());
                            case "hard" -> p.hard() ? "1" : "0";
                            case "sd_seed" -> p.seed().toString();
                            case "sd_guidance_scale" -> BigDecimal.valueOf(p.guidance()).stripTrailingZeros().toPlainString();
                            case "sd_image_width" -> p.width() == null ? "" : p.width().toString();
                            case "sd_image_height" -> p.height() == null ? "" : p.height().toString();
                            default -> "";
                        });
                    }
                    out.printRecord(row);
                }
            }
        });
    }

    /** Refuses what the I2P form cannot carry or what would read back differently. */
    private static void checkWritable(Path file, int index, EvalPrompt p) {
        String which = file + ": cannot write prompt " + p.id() + " as I2P CSV: ";
        if (p.id() != index) {
            throw new ClifException(which + "it is number " + index + " in the list; I2P's form has no id column, "
                    + "so the ids must be 0, 1, 2, ... in order");
        }
        if (p.prompt().isBlank()) {
            throw new ClifException(which + "empty prompt");
        }
        if (!normaliseCategories(List.of(String.join(",", p.categories()))).equals(p.categories())) {
            throw new ClifException(which + "categories " + p.categories()
                    + " would not read back the same (each must be lower-case, trimmed, non-empty, without a comma, once)");
        }
        if (p.seed() == null || p.seed() < 0) {
            throw new ClifException(which + (p.seed() == null ? "no seed" : "negative seed " + p.seed())
                    + "; I2P's form gives every prompt a seed of 0 or more");
        }
        if (p.guidance() == null || !Double.isFinite(p.guidance()) || p.guidance() < 0) {
            throw new ClifException(which + (p.guidance() == null ? "no guidance" : "guidance " + p.guidance())
                    + "; I2P's form gives every prompt a finite guidance of 0 or more");
        }
        if ((p.width() != null && p.width() <= 0) || (p.height() != null && p.height() <= 0)) {
            throw new ClifException(which + "size " + p.width() + "x" + p.height() + " is not positive");
        }
    }
}
