package dev.clif.text;

import java.util.regex.Pattern;

/**
 * ftfy 6.1.1's mojibake heuristic ({@code ftfy.badness.is_bad}): a text "is bad" when it holds one of a list of
 * character sequences that are far more likely to be UTF-8 mis-decoded as a single-byte encoding than intended.
 * The characters are grouped in categories (those that turn up in such mojibake), and the sequences are written
 * in terms of the categories, as ftfy does.
 */
final class Badness {

    // Character categories (character-class bodies; '-' between two characters is a range, as in ftfy).
    static final String COMMON = "\u00a0\u00ad\u00b7\u00b4\u2013\u2014\u2015\u2026\u2019";
    static final String C1 = "\u0080-\u009f";
    static final String BAD = "\u00a6\u00a4\u00a8\u00ac\u00af\u00b6\u00a7\u00b8\u0192\u02c6\u02c7\u02d8\u02db\u02dc"
            + "\u2020\u2021\u2030\u2310\u25ca\ufffd\u00aa\u00ba";
    static final String CURRENCY = "\u00a2\u00a3\u00a5\u20a7\u20ac";
    static final String START_PUNCTUATION = "\u00a1\u00ab\u00bf\u00a9\u0384\u0385\u2018\u201a\u201c\u201e\u2022"
            + "\u2039\uf8ff";
    static final String END_PUNCTUATION = "\u00ae\u00bb\u02dd\u201d\u203a\u2122";
    static final String NUMERIC = "\u00b2\u00b3\u00b9\u00b1\u00bc\u00bd\u00be\u00d7\u00b5\u00f7\u2044\u2202\u2206"
            + "\u220f\u2211\u221a\u221e\u2229\u222b\u2248\u2260\u2261\u2264\u2265\u2116";
    static final String KAOMOJI = "\u00d2-\u00d6\u00d9-\u00dc\u00f2-\u00f6\u00f8-\u00fc\u0150\u00b0";
    static final String UPPER_ACCENTED = "\u00c0-\u00d1\u00d8\u00dc\u00dd\u0102\u0104\u0106\u010c\u010e\u0110\u0118"
            + "\u011a\u011e\u0130\u0139\u013d\u0141\u0143\u0147\u0152\u0158\u015a\u015e\u0160\u0162\u0164\u016e"
            + "\u0170\u0178\u0179\u017b\u017d\u0490";
    static final String LOWER_ACCENTED = "\u00df\u00e0-\u00f1\u0103\u0105\u0107\u010d\u010f\u0111\u0119\u011b"
            + "\u011f\u013a\u013e\u0142\u0153\u0155\u015b\u015f\u0161\u0165\u00fc\u017a\u017c\u017e\u0491\ufb01"
            + "\ufb02";
    static final String UPPER_COMMON = "\u00de\u0391-\u03a9\u0386\u0388\u0389\u038a\u038c\u038e\u038f\u03aa\u03ab"
            + "\u0401-\u042f";
    static final String LOWER_COMMON = "\u03b1-\u03c9\u03ac\u03ad\u03ae\u03af\u03b0\u0430-\u045f";
    static final String BOX = "\u2502\u250c\u2510\u2518\u251c\u2524\u252c\u253c\u2550-\u256c\u2580\u2584\u2588"
            + "\u258c\u2590\u2591\u2592\u2593";

    /** Python's {@code \s} on str: the characters for which str.isspace() holds. */
    static final String PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029"
            + "\\u202f\\u205f\\u3000";
    /** Python's {@code \w} on str: letters, numbers and the underscore. */
    static final String PY_WORD = "\\p{L}\\p{N}_";

    private static String cls(String... parts) {
        return "[" + String.join("", parts) + "]";
    }

    private static final String BADNESS_EXPR = String.join("|",
            cls(C1),
            cls(BAD, LOWER_ACCENTED, UPPER_ACCENTED, BOX, START_PUNCTUATION, END_PUNCTUATION, CURRENCY, NUMERIC)
                    + cls(BAD),
            "[a-zA-Z]" + cls(LOWER_COMMON, UPPER_COMMON) + cls(BAD),
            cls(BAD) + cls(LOWER_ACCENTED, UPPER_ACCENTED, BOX, START_PUNCTUATION, END_PUNCTUATION, CURRENCY,
                    NUMERIC),
            cls(LOWER_ACCENTED, LOWER_COMMON, BOX, END_PUNCTUATION, CURRENCY, NUMERIC) + cls(UPPER_ACCENTED),
            cls(BOX, END_PUNCTUATION, CURRENCY, NUMERIC) + cls(LOWER_ACCENTED),
            // [upper_accented][currency] alone is left out (fancy leetspeak-like writing uses it)
            cls(LOWER_ACCENTED, BOX, END_PUNCTUATION) + cls(CURRENCY),
            cls(PY_SPACE) + cls(UPPER_ACCENTED) + cls(CURRENCY),
            cls(UPPER_ACCENTED, BOX) + cls(NUMERIC),
            cls(LOWER_ACCENTED, UPPER_ACCENTED, BOX, CURRENCY, END_PUNCTUATION) + cls(START_PUNCTUATION)
                    + cls(NUMERIC),
            cls(LOWER_ACCENTED, UPPER_ACCENTED, CURRENCY, NUMERIC, BOX) + cls(END_PUNCTUATION)
                    + cls(START_PUNCTUATION),
            cls(CURRENCY, NUMERIC, BOX) + cls(START_PUNCTUATION),
            "[a-z]" + cls(UPPER_ACCENTED) + cls(START_PUNCTUATION, CURRENCY),
            cls(BOX) + cls(KAOMOJI),
            cls(LOWER_ACCENTED, UPPER_ACCENTED, CURRENCY, NUMERIC, START_PUNCTUATION, END_PUNCTUATION) + cls(BOX),
            cls(BOX) + cls(END_PUNCTUATION),
            cls(LOWER_ACCENTED, UPPER_ACCENTED) + cls(END_PUNCTUATION) + cls(PY_WORD),
            // the ligature oe not followed by an unaccented Latin letter
            "[\u0152\u0153][^A-Za-z]",
            // common Windows-1252 two-character mojibake not covered above
            "[\u00c2\u00c3\u00ce\u00d0]" + cls("\u20ac\u0160\u0161\u00a2\u00a3\u0178\u017e\u00a0\u00ad\u00ae\u00a9"
                    + "\u00b0\u00b7\u00bb", START_PUNCTUATION, END_PUNCTUATION, "\u2013\u2014\u00b4"),
            "\u00d7[\u00b2\u00b3]",
            // Windows-1252 mojibake of Arabic: needs four characters, since it includes the 'common' ones
            "[\u00d8\u00d9]" + cls(COMMON, CURRENCY, BAD, NUMERIC, START_PUNCTUATION, "\u0178\u0160\u00ae\u00b0\u00b5\u00bb")
                    + "[\u00d8\u00d9]"
                    + cls(COMMON, CURRENCY, BAD, NUMERIC, START_PUNCTUATION, "\u0178\u0160\u00ae\u00b0\u00b5\u00bb"),
            // Windows-1252 starts of 3-byte sequences of some South Asian scripts
            "\u00e0[\u00b2\u00b5\u00b9\u00bc\u00bd\u00be]",
            // MacRoman mojibake not covered above
            "\u221a[\u00b1\u2202\u2020\u2260\u00ae\u2122\u00b4\u2264\u2265\u00a5\u00b5\u00f8]",
            "\u2248[\u00b0\u00a2]",
            "\u201a\u00c4[\u00ec\u00ee\u00ef\u00f2\u00f4\u00fa\u00f9\u00fb\u2020\u00b0\u00a2\u03c0]",
            "\u201a[\u00e2\u00f3][\u00e0\u00e4\u00b0\u00ea]",
            // Windows-1251 mojibake of characters in the U+2000 range
            "\u0432\u0402",
            // Windows-1251 mojibake of Latin-1 and/or Cyrillic: three characters
            "[\u0412\u0413\u0420\u0421]" + cls(C1, BAD, START_PUNCTUATION, END_PUNCTUATION, CURRENCY, "\u00b0\u00b5")
                    + "[\u0412\u0413\u0420\u0421]",
            // Windows-1251 on top of Latin-1 mojibake of Windows-1252, next to a Latin letter
            "\u0413\u045e\u0412\u0402\u0412.[A-Za-z ]",
            // Windows-1252 encodings of a-grave and a-acute, and of U+A0 itself
            "\u00c3[\u00a0\u00a1]",
            "[a-z]" + cls(PY_SPACE) + "?[\u00c3\u00c2][ ]",
            "^[\u00c3\u00c2][ ]",
            // A-circumflex before the character it is the encoding of, where that character is common
            cls("a-z.,?!", END_PUNCTUATION) + "\u00c2" + cls(" ", START_PUNCTUATION, END_PUNCTUATION),
            // Windows-1253 mojibake of characters in the U+2000 range
            "\u03b2\u20ac[\u2122\u00a0\u0386\u00ad\u00ae\u00b0]",
            // Windows-1253 mojibake of Latin-1 and/or Greek
            "[\u0392\u0393\u039e\u039f]" + cls(C1, BAD, START_PUNCTUATION, END_PUNCTUATION, CURRENCY, "\u00b0")
                    + "[\u0392\u0393\u039e\u039f]");

    /** UNIX_LINES: '.' stops only at '\n', as in Python. */
    static final Pattern BADNESS = Pattern.compile(BADNESS_EXPR, Pattern.UNIX_LINES);

    /** True when the text looks like it contains mojibake. */
    static boolean isBad(String text) {
        return BADNESS.matcher(text).find();
    }

    private Badness() {
    }
}
