package dev.clif.text;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clif.ClifException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CLIP BPE tokenizer, matching transformers' (slow) CLIPTokenizer with ftfy installed, token id for token id.
 *
 * <p>Encoding a text: the special tokens written literally in it ({@code <|startoftext|>}, {@code <|endoftext|>})
 * are split off and kept as they are; every other piece is cleaned ({@link TextCleaner}: ftfy's fix_text,
 * whitespace collapsed and stripped, lower case), cut into words by CLIP's pre-tokeniser pattern, and each word
 * is byte-level BPE-encoded ({@link BytePairEncoder}).  Tokens missing from the vocabulary get the unknown-token
 * id.  {@link #encode} adds the begin/end tokens; {@link #encodePadded} also truncates (keeping the end token
 * last) and pads with the pad id to {@link #maxLength()}.
 *
 * <p>Instances are immutable apart from the BPE cache, and safe to share between threads.
 */
public final class ClipTokenizer {

    public static final String VOCAB_FILE = "vocab.json";
    public static final String MERGES_FILE = "merges.txt";
    public static final String CONFIG_FILE = "tokenizer_config.json";
    public static final String SPECIAL_TOKENS_FILE = "special_tokens_map.json";

    /** CLIP reads at most this many merges (49152 - 256 byte tokens - 2 special tokens). */
    static final int MAX_MERGES = 49152 - 256 - 2;
    /** The context length of CLIP's text encoder, used when tokenizer_config.json does not give one. */
    static final int DEFAULT_MAX_LENGTH = 77;

    /**
     * CLIP's pre-tokeniser: transformers' pattern, which it compiles case-insensitively with the `regex` module
     * and applies to lower-cased text.  Under that flag the module's negated class also refuses characters whose
     * case variants are letters: among assigned characters that is only U+0345 (combining ypogegrammeni, whose
     * case variants are iota), which then matches no alternative and is dropped; it is left out of the class here.
     */
    private static final Pattern WORDS = Pattern.compile(
            "(?iu:<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d)"
                    + "|\\p{L}+"
                    + "|\\p{N}"
                    + "|[^" + TextCleaner.WHITE_SPACE + "\\p{L}\\p{N}\\u0345]+");

    /**
     * Words the BPE step keeps whole: CLIP's two special tokens, which the pre-tokeniser can also find inside
     * cleaned text (the reference seeds its BPE cache with them).
     */
    private static final Set<String> VERBATIM_WORDS = Set.of("<|startoftext|>", "<|endoftext|>");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Integer> vocab;
    private final BytePairEncoder bpe;
    /** Literal special tokens, longest first (so the longest one wins where several start at one place). */
    private final List<String> specialTokens;
    private final Map<String, Integer> specialIds;
    private final String bosToken;
    private final String eosToken;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int unkId;
    private final int maxLength;

    private ClipTokenizer(Map<String, Integer> vocab, Map<String, Integer> mergeRanks,
            Map<String, Integer> specialIds, String bos, String eos, String pad, String unk, int maxLength) {
        this.vocab = Map.copyOf(vocab);
        this.specialIds = Map.copyOf(specialIds);
        List<String> specials = new ArrayList<>(specialIds.keySet());
        specials.sort((a, b) -> Integer.compare(b.length(), a.length()));
        this.specialTokens = List.copyOf(specials);
        this.bpe = new BytePairEncoder(mergeRanks, VERBATIM_WORDS, BytePairEncoder.DEFAULT_CACHE_SIZE);
        this.bosToken = bos;
        this.eosToken = eos;
        this.bosId = specialIds.get(bos);
        this.eosId = specialIds.get(eos);
        this.padId = specialIds.get(pad);
        this.unkId = specialIds.get(unk);
        this.maxLength = maxLength;
    }

    // ------------------------------------------------------------------------------------------ loading

    /**
     * Loads a tokenizer folder in the layout transformers saves: vocab.json and merges.txt (required),
     * tokenizer_config.json and special_tokens_map.json (optional; CLIP's defaults otherwise).
     *
     * @throws ClifException naming the file and the problem, for a missing, unreadable or malformed file
     */
    public static ClipTokenizer load(Path tokenizerDir) {
        if (!Files.isDirectory(tokenizerDir)) {
            throw new ClifException("tokenizer folder " + tokenizerDir + " does not exist or is not a folder");
        }
        Map<String, Integer> vocab = readVocab(tokenizerDir.resolve(VOCAB_FILE));
        Map<String, Integer> ranks = readMerges(tokenizerDir.resolve(MERGES_FILE));

        JsonNode config = readOptionalJson(tokenizerDir.resolve(CONFIG_FILE));
        JsonNode specialMap = readOptionalJson(tokenizerDir.resolve(SPECIAL_TOKENS_FILE));

        // special_tokens_map.json wins over tokenizer_config.json, as in transformers' from_pretrained.
        String bos = specialToken(specialMap, config, "bos_token", "<|startoftext|>");
        String eos = specialToken(specialMap, config, "eos_token", "<|endoftext|>");
        String unk = specialToken(specialMap, config, "unk_token", "<|endoftext|>");
        String pad = specialToken(specialMap, config, "pad_token", "<|endoftext|>");

        Map<String, Integer> added = addedTokens(config, tokenizerDir.resolve(CONFIG_FILE));
        Set<String> specials = new LinkedHashSet<>(List.of(bos, eos, unk, pad));
        specials.addAll(added.keySet());
        Map<String, Integer> specialIds = new HashMap<>();
        for (String token : specials) {
            Integer id = vocab.containsKey(token) ? vocab.get(token) : added.get(token);
            if (id == null) {
                throw new ClifException(tokenizerDir.resolve(VOCAB_FILE) + ": special token " + token
                        + " is not in the vocabulary (nor among the added tokens of " + CONFIG_FILE + ")");
            }
            specialIds.put(token, id);
        }

        int maxLength = DEFAULT_MAX_LENGTH;
        if (config != null && config.hasNonNull("model_max_length")) {
            JsonNode m = config.get("model_max_length");
            if (!m.canConvertToInt() || m.asInt() < 2) {
                throw new ClifException(tokenizerDir.resolve(CONFIG_FILE) + ": model_max_length " + m
                        + " is not a usable length (an integer of at least 2)");
            }
            maxLength = m.asInt();
        }
        return new ClipTokenizer(vocab, ranks, specialIds, bos, eos, pad, unk, maxLength);
    }

    private static Map<String, Integer> readVocab(Path file) {
        JsonNode root = readJson(file);
        if (root == null) {
            throw new ClifException("tokenizer file " + file + " is missing");
        }
        if (!root.isObject() || root.isEmpty()) {
            throw new ClifException(file + " should be a JSON object mapping tokens to ids, but is "
                    + (root.isObject() ? "empty" : root.getNodeType().toString().toLowerCase()));
        }
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
                throw new ClifException(file + ": token " + e.getKey() + " has id " + v
                        + ", which is not a non-negative integer");
            }
            vocab.put(e.getKey(), v.asInt());
        }
        return vocab;
    }

    /**
     * Reads merges.txt as CLIP does: the first line (the "#version" header) is skipped, then at most
     * {@link #MAX_MERGES} lines, each "first second", ranked by position (a repeated pair keeps its last rank).
     */
    private static Map<String, Integer> readMerges(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ClifException("tokenizer file " + file + " is missing");
        } catch (IOException e) {
            throw new ClifException("cannot read tokenizer file " + file + ": " + e.getMessage(), e);
        }
        String[] lines = TextCleaner.pythonStrip(text).split("\n", -1);
        int count = Math.min(lines.length - 1, MAX_MERGES);
        if (count <= 0) {
            throw new ClifException(file + " holds no merges (expected a \"#version\" line, then one"
                    + " \"first second\" pair per line)");
        }
        Map<String, Integer> ranks = new HashMap<>(count * 2);
        for (int rank = 0; rank < count; rank++) {
            String[] parts = splitPythonWhitespace(lines[rank + 1]);
            if (parts.length != 2) {
                throw new ClifException(file + ": line " + (rank + 2) + " should be two symbols separated by a"
                        + " space, but is \"" + lines[rank + 1] + "\"");
            }
            ranks.put(parts[0] + " " + parts[1], rank);
        }
        return ranks;
    }

    private static String[] splitPythonWhitespace(String line) {
        List<String> parts = new ArrayList<>(2);
        int i = 0;
        while (i < line.length()) {
            while (i < line.length() && TextCleaner.isPythonSpace(line.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < line.length() && !TextCleaner.isPythonSpace(line.charAt(i))) {
                i++;
            }
            if (i > start) {
                parts.add(line.substring(start, i));
            }
        }
        return parts.toArray(String[]::new);
    }

    /** Parses a JSON file; null if it does not exist. */
    private static JsonNode readJson(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            JsonNode node = JSON.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new ClifException(file + " is empty (expected JSON)");
            }
            return node;
        } catch (NoSuchFileException e) {
            return null;
        } catch (JacksonException e) {
            throw new ClifException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ClifException("cannot read tokenizer file " + file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readOptionalJson(Path file) {
        JsonNode node = readJson(file);
        if (node != null && !node.isObject()) {
            throw new ClifException(file + " should hold a JSON object");
        }
        return node;
    }

    /** A special token's text: a plain string or an AddedToken object with "content". */
    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isObject() && node.hasNonNull("content") && node.get("content").isTextual()) {
            return node.get("content").asText();
        }
        return null;
    }

    private static String specialToken(JsonNode specialMap, JsonNode config, String key, String fallback) {
        for (JsonNode source : new JsonNode[] {specialMap, config}) {
            if (source != null && source.has(key)) {
                String text = tokenText(source.get(key));
                if (text == null || text.isEmpty()) {
                    throw new ClifException((source == specialMap ? SPECIAL_TOKENS_FILE : CONFIG_FILE) + ": "
                            + key + " should be a token string or an object with a \"content\" string, but is "
                            + source.get(key));
                }
                return text;
            }
        }
        return fallback;
    }

    /** tokenizer_config.json's "added_tokens_decoder" (newer transformers): id to token. */
    private static Map<String, Integer> addedTokens(JsonNode config, Path file) {
        Map<String, Integer> added = new HashMap<>();
        if (config == null || !config.has("added_tokens_decoder")) {
            return added;
        }
        JsonNode decoder = config.get("added_tokens_decoder");
        if (!decoder.isObject()) {
            throw new ClifException(file + ": added_tokens_decoder should be an object of id -> token");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = decoder.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String text = tokenText(e.getValue());
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new ClifException(file + ": added_tokens_decoder key " + e.getKey() + " is not an id");
            }
            if (text == null || text.isEmpty()) {
                throw new ClifException(file + ": added token " + id + " has no content");
            }
            added.put(text, id);
        }
        return added;
    }

    // ----------------------------------------------------------------------------------------- encoding

    /** The token strings of the text, with the begin and end tokens; no truncation or padding. */
    public List<String> tokens(String text) {
        List<String> out = new ArrayList<>();
        out.add(bosToken);
        out.addAll(tokenize(text));
        out.add(eosToken);
        return out;
    }

    /** The token ids of the text, with the begin and end ids; no truncation or padding. */
    public int[] encode(String text) {
        List<String> tokens = tokenize(text);
        int[] ids = new int[tokens.size() + 2];
        ids[0] = bosId;
        for (int i = 0; i < tokens.size(); i++) {
            ids[i + 1] = idOf(tokens.get(i));
        }
        ids[ids.length - 1] = eosId;
        return ids;
    }

    /**
     * The model input for the text: begin id, the text's ids truncated to {@code maxLength - 2}, end id, then the
     * pad id up to {@link #maxLength()}.
     */
    public long[] encodePadded(String text) {
        int[] ids = encode(text);
        long[] row = new long[maxLength];
        int body = Math.min(ids.length - 2, maxLength - 2);
        row[0] = bosId;
        for (int i = 0; i < body; i++) {
            row[i + 1] = ids[i + 1];
        }
        row[body + 1] = eosId;
        Arrays.fill(row, body + 2, maxLength, padId);
        return row;
    }

    /** {@link #encodePadded} for each text, one row each. */
    public long[][] encodeBatch(List<String> texts) {
        long[][] rows = new long[texts.size()][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = encodePadded(texts.get(i));
        }
        return rows;
    }

    /**
     * Text for token ids, as transformers' {@code CLIPTokenizer.decode(ids, skip_special_tokens=True)}: the tokens
     * joined, each {@code </w>} a space, the byte encoding undone, trimmed. Special ids (begin, end, pad) are skipped;
     * an id outside the vocabulary is an error. Encoding the result need not give the same ids back (BPE may merge
     * differently): callers that need the ids check.
     */
    public String decode(int[] ids) {
        String[] byId = idToToken();
        StringBuilder joined = new StringBuilder();
        for (int id : ids) {
            if (specialIds.containsValue(id)) continue;
            if (id < 0 || id >= byId.length || byId[id] == null)
                throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (0.." + (byId.length - 1) + ")");
            joined.append(byId[id]);
        }
        return BytePairEncoder.byteDecode(joined.toString().replace(BytePairEncoder.END_OF_WORD, " ")).strip();
    }

    private volatile String[] idToToken;

    private String[] idToToken() {
        String[] t = idToToken;
        if (t != null) return t;
        int max = 0;
        for (int id : vocab.values()) max = Math.max(max, id);
        for (int id : specialIds.values()) max = Math.max(max, id);
        t = new String[max + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) t[e.getValue()] = e.getKey();
        idToToken = t;
        return t;
    }

    /** The text's tokens, without begin/end tokens. */
    List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            String special = specialAt(text, i);
            if (special == null) {
                i++;
                continue;
            }
            if (i > start) {
                tokenizePiece(text.substring(start, i), out);
            }
            out.add(special);
            i += special.length();
            start = i;
        }
        if (start < text.length()) {
            tokenizePiece(text.substring(start), out);
        }
        return out;
    }

    /** The special token written at {@code text[i..]}, the longest if several; null if none. */
    private String specialAt(String text, int i) {
        for (String s : specialTokens) { // longest first
            if (text.startsWith(s, i)) {
                return s;
            }
        }
        return null;
    }

    private void tokenizePiece(String piece, List<String> out) {
        String clean = TextCleaner.clean(piece);
        Matcher m = WORDS.matcher(clean);
        while (m.find()) {
            out.addAll(bpe.encode(BytePairEncoder.byteEncode(m.group())));
        }
    }

    private int idOf(String token) {
        Integer id = specialIds.get(token);
        if (id == null) {
            id = vocab.get(token);
        }
        return id == null ? unkId : id;
    }

    public int maxLength() {
        return maxLength;
    }

    public int padId() {
        return padId;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int unkId() {
        return unkId;
    }

    /** Number of entries in the vocabulary file. */
    public int vocabSize() {
        return vocab.size();
    }
}
