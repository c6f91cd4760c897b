package dev.clif.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ftfy 6.1.1's {@code fix_encoding}: finds mojibake (UTF-8 that was decoded as a single-byte encoding) and
 * decodes it again, step by step until nothing changes.  A step only acts on text that {@link Badness} flags.
 * It tries, in order: re-encoding the whole text in one of the single-byte encodings and decoding it as UTF-8
 * (putting back U+A0 bytes that became spaces, and marking lost bytes as U+FFFD); fixing UTF-8-looking runs
 * embedded in otherwise good text; reading C1 control characters as windows-1252.
 */
final class EncodingFixer {

    // ---- byte-level patterns, run over the bytes as ISO-8859-1 text ----

    /** UTF-8 sequences that would be valid if a 0xA0 byte had not been turned into a space. */
    private static final Pattern ALTERED_UTF8 = Pattern.compile(
            "[\\xc2\\xc3\\xc5\\xce\\xd0\\xd9][ ]"
                    + "|[\\xe2\\xe3][ ][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf]"
                    + "|[\\xe0-\\xe3][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf][ ]"
                    + "|[\\xf0][ ][\\x80-\\xbf][\\x80-\\xbf]"
                    + "|[\\xf0][\\x80-\\xbf][ ][\\x80-\\xbf]"
                    + "|[\\xf0][\\x80-\\xbf][\\x80-\\xbf][ ]",
            Pattern.UNIX_LINES);

    /** C3 then one space: almost always "à" before a word (the Portuguese contractions excepted). */
    private static final Pattern A_GRAVE_WORD =
            Pattern.compile("\\xc3 (?! |quele|quela|quilo|s )", Pattern.UNIX_LINES);

    /** UTF-8 (and CESU-8) sequences some of whose bytes were lost (0x1A, or at most one '?'). */
    private static final Pattern LOSSY_UTF8 = Pattern.compile(
            "[\\xc2-\\xdf][\\x1a]"
                    + "|[\\xc2-\\xc3][?]"
                    + "|\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]"
                    + "|\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]"
                    + "|[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]"
                    + "|[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]"
                    + "|[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]"
                    + "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]"
                    + "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]"
                    + "|\\x1a",
            Pattern.UNIX_LINES);

    /** The UTF-8 encoding of U+FFFD, as ISO-8859-1 text. */
    private static final String REPLACEMENT_UTF8 = "\u00ef\u00bf\u00bd";

    // ---- text-level patterns ----

    static final Pattern C1_CONTROL = Pattern.compile("[\\x80-\\x9f]");

    // Characters that, read as Latin-1-like text, stand for UTF-8 lead bytes and continuation bytes.
    private static final String FIRST_OF_2 = "\u00c2\u00c3\u00c4\u00c5\u00c6\u00c7\u00c8\u00c9\u00ca\u00cb\u00cc"
            + "\u00cd\u00ce\u00cf\u00d0\u00d1\u00d2\u00d3\u00d4\u00d5\u00d6\u00d7\u00d8\u00d9\u00da\u00db\u00dc\u00dd"
            + "\u00de\u00df\u0102\u0106\u010c\u010e\u0110\u0118\u011a\u011e\u0130\u0139\u0143\u0147\u0150\u0158\u015e"
            + "\u0162\u016e\u0170\u0392\u0393\u0394\u0395\u0396\u0397\u0398\u0399\u039a\u039b\u039c\u039d\u039e\u039f"
            + "\u03a0\u03a1\u03a3\u03a4\u03a5\u03a6\u03a7\u03a8\u03a9\u03aa\u03ab\u03ac\u03ad\u03ae\u03af\u0412\u0413"
            + "\u0414\u0415\u0416\u0417\u0418\u0419\u041a\u041b\u041c\u041d\u041e\u041f\u0420\u0421\u0422\u0423\u0424"
            + "\u0425\u0426\u0427\u0428\u0429\u042a\u042b\u042c\u042d\u042e\u042f";
    private static final String FIRST_OF_3 = "\u00e0\u00e1\u00e2\u00e3\u00e4\u00e5\u00e6\u00e7\u00e8\u00e9\u00ea"
            + "\u00eb\u00ec\u00ed\u00ee\u00ef\u0103\u0107\u010d\u010f\u0119\u011b\u013a\u0155\u03b0\u03b1\u03b2\u03b3"
            + "\u03b4\u03b5\u03b6\u03b7\u03b8\u03b9\u03ba\u03bb\u03bc\u03bd\u03be\u03bf\u0430\u0431\u0432\u0433\u0434"
            + "\u0435\u0436\u0437\u0438\u0439\u043a\u043b\u043c\u043d\u043e\u043f";
    private static final String FIRST_OF_4 = "\u00f0\u00f3\u0111\u011f\u03c0\u03c3\u0440\u0443";
    private static final String CONTINUATION_STRICT = "\u0080-\u00bf\u0104\u0105\u013d\u013e\u0141\u0142\u0152"
            + "\u0153\u015a\u015b\u015e\u015f\u0160\u0161\u0164\u0165\u0178\u0179\u017a\u017b\u017c\u017d\u017e\u0192"
            + "\u02c6\u02c7\u02d8\u02db\u02dc\u02dd\u0384\u0385\u0386\u0388\u0389\u038a\u038c\u038e\u038f\u0401\u0402"
            + "\u0403\u0404\u0405\u0406\u0407\u0408\u0409\u040a\u040b\u040c\u040e\u040f\u0451\u0452\u0453\u0454\u0455"
            + "\u0456\u0457\u0458\u0459\u045a\u045b\u045c\u045e\u045f\u0490\u0491\u2020\u2021\u2022\u2030\u2039\u203a"
            + "\u20ac\u2116\u2122";
    /** The strict set plus dashes, quotes, the ellipsis and a space (standing for U+A0). */
    private static final String CONTINUATION = CONTINUATION_STRICT + "\u2013\u2014\u2015\u2018\u2019\u201a\u201c"
            + "\u201d\u201e\u2026 ";

    /** Runs of likely UTF-8 mojibake, not right after a character that would continue a longer garble. */
    private static final Pattern UTF8_DETECTOR = Pattern.compile(
            "(?<![" + CONTINUATION_STRICT + "])"
                    + "(?:[" + FIRST_OF_2 + "][" + CONTINUATION + "]"
                    + "|[" + FIRST_OF_3 + "][" + CONTINUATION + "]{2}"
                    + "|[" + FIRST_OF_4 + "][" + CONTINUATION + "]{3})+");

    /** Fixes the encoding of the text until a step changes nothing. */
    static String fixEncoding(String text) {
        while (true) {
            String fixed = fixOneStep(text);
            if (fixed.equals(text)) {
                return fixed;
            }
            text = fixed;
        }
    }

    private static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) > 0x7F) {
                return false;
            }
        }
        return true;
    }

    private static String fixOneStep(String text) {
        if (text.isEmpty() || isAscii(text) || !Badness.isBad(text)) {
            return text;
        }
        List<SingleByteCodecs.Codec> possible = new ArrayList<>();
        for (SingleByteCodecs.Codec codec : SingleByteCodecs.CHARMAP_ENCODINGS) {
            if (!codec.canEncode(text)) {
                continue;
            }
            possible.add(codec);
            byte[] bytes = codec.encode(text);
            if (ALTERED_UTF8.matcher(latin1(bytes)).find()) {
                bytes = restoreByteA0(bytes);
            }
            if (codec.sloppy) {
                bytes = replaceLossySequences(bytes);
            }
            String decoded = contains(bytes, 0xED) || contains(bytes, 0xC0)
                    ? Utf8.decodeVariants(bytes)
                    : Utf8.decode(bytes);
            if (decoded != null) {
                return decoded;
            }
        }
        if (UTF8_DETECTOR.matcher(text).find()) {
            String fixed = decodeInconsistentUtf8(text);
            if (!fixed.equals(text)) {
                return fixed;
            }
        }
        // ftfy then compares Latin-1 with windows-1252; its list holds only the sloppy windows-1252, so text
        // that is Latin-1 is always re-read as (strict) windows-1252 here.
        if (possible.contains(SingleByteCodecs.LATIN_1)) {
            String fixed = SingleByteCodecs.latin1AsWindows1252(text);
            if (fixed != null && !fixed.equals(text)) {
                return fixed;
            }
        }
        if (C1_CONTROL.matcher(text).find()) {
            return fixC1Controls(text);
        }
        return text;
    }

    /** Reads each C1 control character as the windows-1252 character of that byte (as Web browsers do). */
    static String fixC1Controls(String text) {
        Matcher m = C1_CONTROL.matcher(text);
        if (!m.find()) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length());
        int last = 0;
        do {
            sb.append(text, last, m.start()).append(SingleByteCodecs.SLOPPY_WINDOWS_1252.decode(text.charAt(m.start())));
            last = m.end();
        } while (m.find());
        return sb.append(text, last, text.length()).toString();
    }

    /** Fixes each UTF-8-looking run that is itself flagged as bad, leaving the text around it alone. */
    static String decodeInconsistentUtf8(String text) {
        Matcher m = UTF8_DETECTOR.matcher(text);
        StringBuilder sb = new StringBuilder(text.length());
        int last = 0;
        while (m.find()) {
            String sub = m.group();
            String replacement = sub.length() < text.length() && Badness.isBad(sub) ? fixEncoding(sub) : sub;
            sb.append(text, last, m.start()).append(replacement);
            last = m.end();
        }
        return sb.append(text, last, text.length()).toString();
    }

    /** Puts back the 0xA0 bytes that were turned into spaces inside would-be UTF-8 sequences. */
    static byte[] restoreByteA0(byte[] bytes) {
        String s = A_GRAVE_WORD.matcher(latin1(bytes)).replaceAll("\u00c3\u00a0 ");
        Matcher m = ALTERED_UTF8.matcher(s);
        StringBuilder sb = new StringBuilder(s.length());
        int last = 0;
        while (m.find()) {
            sb.append(s, last, m.start()).append(m.group().replace(' ', '\u00a0'));
            last = m.end();
        }
        sb.append(s, last, s.length());
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Replaces UTF-8 sequences with lost bytes (0x1A) by the UTF-8 of U+FFFD. */
    static byte[] replaceLossySequences(byte[] bytes) {
        String s = LOSSY_UTF8.matcher(latin1(bytes)).replaceAll(REPLACEMENT_UTF8);
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String latin1(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static boolean contains(byte[] bytes, int value) {
        for (byte b : bytes) {
            if ((b & 0xFF) == value) {
                return true;
            }
        }
        return false;
    }

    private EncodingFixer() {
    }
}
