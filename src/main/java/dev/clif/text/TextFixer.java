package dev.clif.text;

import java.text.Normalizer;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A port of ftfy 6.1.1's {@code fix_text} with its default configuration, which is what the reference CLIP
 * tokenizer runs on every piece of text: HTML entities (unless the text looks like HTML), mojibake, C1 controls,
 * Latin ligatures, fullwidth/halfwidth forms, curly quotes, line breaks, lone surrogates, terminal escapes,
 * invisible control characters, then NFC; repeated until the text stops changing.
 */
public final class TextFixer {

    /** ftfy fixes text in segments (lines) of at most this many code points. */
    private static final int MAX_DECODE_LENGTH = 1_000_000;

    private static final Map<Integer, String> LIGATURES = new TreeMap<>(Map.ofEntries(
            Map.entry(0x0132, "IJ"), Map.entry(0x0133, "ij"), // Dutch
            Map.entry(0x0149, "\u02bcn"), // Afrikaans
            Map.entry(0x01F1, "DZ"), Map.entry(0x01F2, "Dz"), Map.entry(0x01F3, "dz"), // Serbian/Croatian digraphs
            Map.entry(0x01C4, "D\u017d"), Map.entry(0x01C5, "D\u017e"), Map.entry(0x01C6, "d\u017e"),
            Map.entry(0x01C7, "LJ"), Map.entry(0x01C8, "Lj"), Map.entry(0x01C9, "lj"),
            Map.entry(0x01CA, "NJ"), Map.entry(0x01CB, "Nj"), Map.entry(0x01CC, "nj"),
            Map.entry(0xFB00, "ff"), Map.entry(0xFB01, "fi"), Map.entry(0xFB02, "fl"), // typographic ligatures
            Map.entry(0xFB03, "ffi"), Map.entry(0xFB04, "ffl"), Map.entry(0xFB05, "\u017ft"), Map.entry(0xFB06, "st")));

    /** U+3000 and the halfwidth/fullwidth forms U+FF01..U+FFEF, each to its NFKC form where that differs. */
    private static final String[] WIDTH_MAP = buildWidthMap();

    private static final Pattern SINGLE_QUOTE = Pattern.compile("[\u02bc\u2018-\u201b]");
    private static final Pattern DOUBLE_QUOTE = Pattern.compile("[\u201c-\u201f]");
    /** ANSI terminal escapes (Python's \d is any decimal digit). */
    private static final Pattern ANSI = Pattern.compile("\u001b\\[((?:\\p{Nd}|;)*)([a-zA-Z])");

    private static String[] buildWidthMap() {
        String[] map = new String[0xFFF0 - 0xFF01];
        for (int c = 0xFF01; c < 0xFFF0; c++) {
            String ch = String.valueOf((char) c);
            String alt = Normalizer.normalize(ch, Normalizer.Form.NFKC);
            if (!alt.equals(ch)) {
                map[c - 0xFF01] = alt;
            }
        }
        return map;
    }

    /** Fixes the text as ftfy.fix_text(text) does with the default settings. */
    public static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true; // "auto": on until a segment holds '<', then off for the rest
        int pos = 0;
        while (pos < text.length()) {
            int end = text.indexOf('\n', pos) + 1;
            if (end == 0) {
                end = text.length();
            }
            if (text.codePointCount(pos, end) > MAX_DECODE_LENGTH) {
                end = text.offsetByCodePoints(pos, MAX_DECODE_LENGTH);
            }
            String segment = text.substring(pos, end);
            if (unescapeHtml && segment.indexOf('<') >= 0) {
                unescapeHtml = false;
            }
            out.append(fixSegment(segment, unescapeHtml));
            pos = end;
        }
        return out.toString();
    }

    /** ftfy's fix_and_explain for one segment: all the fixes, in order, until the text stops changing. */
    static String fixSegment(String text, boolean unescapeHtml) {
        while (true) {
            String orig = text;
            if (unescapeHtml) {
                text = HtmlEntities.unescape(text);
            }
            text = EncodingFixer.fixEncoding(text);
            text = EncodingFixer.fixC1Controls(text);
            text = fixLatinLigatures(text);
            text = fixCharacterWidth(text);
            text = uncurlQuotes(text);
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = removeTerminalEscapes(text);
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(orig)) {
                return text;
            }
        }
    }

    static String fixLatinLigatures(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            String rep = LIGATURES.get((int) text.charAt(i));
            if (rep != null && sb == null) {
                sb = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (sb != null) {
                if (rep != null) {
                    sb.append(rep);
                } else {
                    sb.append(text.charAt(i));
                }
            }
        }
        return sb == null ? text : sb.toString();
    }

    static String fixCharacterWidth(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String rep = null;
            if (c == '\u3000') {
                rep = " ";
            } else if (c >= 0xFF01 && c < 0xFFF0) {
                rep = WIDTH_MAP[c - 0xFF01];
            }
            if (rep != null && sb == null) {
                sb = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (sb != null) {
                if (rep != null) {
                    sb.append(rep);
                } else {
                    sb.append(c);
                }
            }
        }
        return sb == null ? text : sb.toString();
    }

    static String uncurlQuotes(String text) {
        return SINGLE_QUOTE.matcher(DOUBLE_QUOTE.matcher(text).replaceAll("\"")).replaceAll("'");
    }

    static String fixLineBreaks(String text) {
        return text.replace("\r\n", "\n")
                .replace('\r', '\n')
                .replace('\u2028', '\n')
                .replace('\u2029', '\n')
                .replace('\u0085', '\n');
    }

    /** Lone UTF-16 surrogates become U+FFFD (pairs already are the characters they encode). */
    static String fixSurrogates(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean lone = false;
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    if (sb != null) {
                        sb.append(c).append(text.charAt(i + 1));
                    }
                    i++;
                    continue;
                }
                lone = true;
            } else if (Character.isLowSurrogate(c)) {
                lone = true;
            }
            if (lone && sb == null) {
                sb = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (sb != null) {
                sb.append(lone ? '\uFFFD' : c);
            }
        }
        return sb == null ? text : sb.toString();
    }

    static String removeTerminalEscapes(String text) {
        return text.indexOf('\u001b') < 0 ? text : ANSI.matcher(text).replaceAll("");
    }

    /** Removes control characters that have no visible effect (keeps \t \n \f \r, joiners, C1 and tags). */
    static String removeControlChars(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean drop = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                    || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
            if (drop && sb == null) {
                sb = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (sb != null && !drop) {
                sb.append(c);
            }
        }
        return sb == null ? text : sb.toString();
    }

    private TextFixer() {
    }
}
