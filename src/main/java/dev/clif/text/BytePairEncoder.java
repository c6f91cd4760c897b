package dev.clif.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE as CLIP does it: a word's UTF-8 bytes are written as printable characters (GPT-2's byte to
 * unicode table), the last one gets the end-of-word mark {@code </w>}, then the adjacent pair with the best
 * (lowest) merge rank is merged everywhere, again and again, until no pair has a rank.  Results are cached per
 * word in a bounded, thread-safe cache.
 */
final class BytePairEncoder {

    static final String END_OF_WORD = "</w>";
    static final int DEFAULT_CACHE_SIZE = 50_000;

    /** GPT-2/CLIP's bytes_to_unicode: printable bytes stand for themselves, the rest map to U+0100 and up. */
    private static final char[] BYTE_TO_CHAR = buildByteTable();

    private final Map<String, Integer> ranks;
    private final Set<String> verbatim;
    private final int cacheSize;
    private final ConcurrentHashMap<String, List<String>> cache = new ConcurrentHashMap<>();

    /**
     * @param ranks    merge rank per pair, keyed {@code first + " " + second}
     * @param verbatim words returned as they are (the special tokens, as the reference seeds its cache with)
     */
    BytePairEncoder(Map<String, Integer> ranks, Set<String> verbatim, int cacheSize) {
        this.ranks = Map.copyOf(ranks);
        this.verbatim = Set.copyOf(verbatim);
        this.cacheSize = cacheSize;
    }

    private static char[] buildByteTable() {
        char[] table = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int next = 0;
        for (int b = 0; b < 256; b++) {
            table[b] = printable[b] ? (char) b : (char) (256 + next++);
        }
        return table;
    }

    /** The word's UTF-8 bytes, one character per byte. */
    static String byteEncode(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** The inverse of {@link #byteEncode}: one byte per character of the table, decoded as UTF-8 (bad bytes as U+FFFD). */
    static String byteDecode(String encoded) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(encoded.length());
        for (int i = 0; i < encoded.length(); i++) {
            int b = CHAR_TO_BYTE.getOrDefault(encoded.charAt(i), -1);
            if (b >= 0) bytes.write(b);
            else bytes.writeBytes(String.valueOf(encoded.charAt(i)).getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static final java.util.Map<Character, Integer> CHAR_TO_BYTE = buildCharToByte();

    private static java.util.Map<Character, Integer> buildCharToByte() {
        java.util.Map<Character, Integer> m = new java.util.HashMap<>();
        for (int b = 0; b < 256; b++) m.put(BYTE_TO_CHAR[b], b);
        return m;
    }

    /** The BPE pieces of a byte-encoded word, the last ending in {@code </w>}. */
    List<String> encode(String word) {
        if (word.isEmpty()) {
            return List.of();
        }
        if (verbatim.contains(word)) {
            return List.of(word);
        }
        List<String> cached = cache.get(word);
        if (cached != null) {
            return cached;
        }
        List<String> pieces = List.copyOf(merge(word));
        if (cache.size() >= cacheSize) {
            cache.clear();
        }
        cache.put(word, pieces);
        return pieces;
    }

    int cacheEntries() {
        return cache.size();
    }

    private List<String> merge(String word) {
        List<String> symbols = new ArrayList<>(word.length());
        for (int i = 0; i < word.length() - 1; i++) {
            symbols.add(String.valueOf(word.charAt(i)));
        }
        symbols.add(word.charAt(word.length() - 1) + END_OF_WORD);
        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = ranks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) {
                break;
            }
            List<String> merged = new ArrayList<>(symbols.size());
            int i = 0;
            while (i < symbols.size()) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(symbols.get(i));
                    i++;
                }
            }
            symbols = merged;
        }
        return symbols;
    }
}
