package dev.clif.text;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The text clean-up the reference CLIP tokenizer (transformers' CLIPTokenizer with ftfy installed) applies to
 * each piece of text before the pre-tokeniser: ftfy's fix_text, runs of whitespace collapsed to one space, the
 * ends stripped, then Python's lower case.
 */
public final class TextCleaner {

    /** The `regex` module's \s: Unicode White_Space. */
    static final String WHITE_SPACE = "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"
            + "\\u205f\\u3000";
    private static final Pattern WHITESPACE_RUN = Pattern.compile("[" + WHITE_SPACE + "]+");

    /** Cleans the text as the reference does: fix, collapse whitespace, strip, lower-case. */
    public static String clean(String text) {
        String fixed = TextFixer.fixText(text);
        String collapsed = WHITESPACE_RUN.matcher(fixed).replaceAll(" ");
        return pythonLower(pythonStrip(collapsed));
    }

    /**
     * Python's str.lower(): the full lower-case mapping of each character, with capital sigma becoming final
     * sigma when a cased letter comes before it and none after it, skipping case-ignorable characters both ways
     * (Java's own final-sigma rule looks at word boundaries instead, and differs on e.g. "\u00efΣ\u2015\u00dc").
     */
    static String pythonLower(String s) {
        int sigma = s.indexOf('\u03a3');
        if (sigma < 0) {
            return s.toLowerCase(Locale.ROOT);
        }
        StringBuilder sb = new StringBuilder(s.length());
        int last = 0;
        while (sigma >= 0) {
            // no capital sigma in between, so nothing there depends on context
            sb.append(s.substring(last, sigma).toLowerCase(Locale.ROOT));
            sb.append(isFinalSigma(s, sigma) ? '\u03c2' : '\u03c3');
            last = sigma + 1;
            sigma = s.indexOf('\u03a3', last);
        }
        sb.append(s.substring(last).toLowerCase(Locale.ROOT));
        return sb.toString();
    }

    private static boolean isFinalSigma(String s, int index) {
        int j = index;
        int c = -1;
        while (j > 0) {
            c = s.codePointBefore(j);
            j -= Character.charCount(c);
            if (!isCaseIgnorable(c)) {
                break;
            }
            c = -1;
        }
        if (c < 0 || !isCased(c)) {
            return false;
        }
        j = index + 1;
        while (j < s.length()) {
            c = s.codePointAt(j);
            if (!isCaseIgnorable(c)) {
                return !isCased(c);
            }
            j += Character.charCount(c);
        }
        return true;
    }

    /** Unicode's Cased property. */
    static boolean isCased(int c) {
        return Character.isLowerCase(c) || Character.isUpperCase(c) || Character.isTitleCase(c);
    }

    /** Unicode's Case_Ignorable property: marks, formats, modifiers, and the Word_Break mid-word punctuation. */
    static boolean isCaseIgnorable(int c) {
        switch (Character.getType(c)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT, Character.MODIFIER_LETTER,
                    Character.MODIFIER_SYMBOL -> {
                return true;
            }
            default -> {
                return switch (c) {
                    // Word_Break = Single_Quote, MidNumLet, MidLetter
                    case 0x0027, 0x002E, 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E,
                            0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A -> true;
                    default -> false;
                };
            }
        }
    }

    /** Python's str.isspace() for one character. */
    static boolean isPythonSpace(int c) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /** Python's str.strip() with no argument. */
    static String pythonStrip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isPythonSpace(s.charAt(start))) {
            start++;
        }
        while (end > start && isPythonSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(start, end);
    }

    private TextCleaner() {
    }
}
