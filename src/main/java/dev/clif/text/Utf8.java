package dev.clif.text;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strict UTF-8 decoding with Python's rules (no overlong forms, no encoded surrogates, nothing above U+10FFFF,
 * no truncated sequences), plus ftfy's "utf-8-variants": UTF-8 that may also hold CESU-8 surrogate pairs and
 * Java's two-byte null (C0 80).  Both return null where Python would raise UnicodeDecodeError.
 */
final class Utf8 {

    // Byte patterns run over the bytes as ISO-8859-1 text.  UNIX_LINES gives '$' Python's meaning: the end,
    // or just before a final '\n'.
    private static final String NULL_EXPR = "(\\xc0(\\x80|$))";
    private static final String CESU8_EXPR =
            "(\\xed([\\xa0-\\xaf]|$)([\\x80-\\xbf]|$)(\\xed|$)([\\xb0-\\xbf]|$)([\\x80-\\xbf]|$))";
    private static final String SURROGATE_EXPR = "(\\xed([\\xa0-\\xbf]|$)([\\x80-\\xbf]|$))";
    private static final Pattern CESU8 = Pattern.compile(CESU8_EXPR, Pattern.UNIX_LINES);
    private static final Pattern SPECIAL_BYTES =
            Pattern.compile(NULL_EXPR + "|" + CESU8_EXPR + "|" + SURROGATE_EXPR, Pattern.UNIX_LINES);

    /** Decodes all of {@code b}, or returns null if it is not valid UTF-8. */
    static String decode(byte[] b) {
        return decode(b, 0, b.length);
    }

    /** Decodes {@code b[from, to)}, or returns null if it is not valid UTF-8. */
    static String decode(byte[] b, int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        int i = from;
        while (i < to) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                sb.append((char) b0);
                i++;
                continue;
            }
            int need;
            int cp;
            int lo = 0x80;
            int hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
                cp = b0 & 0x1F;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                cp = b0 & 0x0F;
                if (b0 == 0xE0) {
                    lo = 0xA0;
                } else if (b0 == 0xED) {
                    hi = 0x9F;
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                cp = b0 & 0x07;
                if (b0 == 0xF0) {
                    lo = 0x90;
                } else if (b0 == 0xF4) {
                    hi = 0x8F;
                }
            } else {
                return null;
            }
            if (i + need >= to) { // truncated sequence
                return null;
            }
            for (int k = 1; k <= need; k++) {
                int bk = b[i + k] & 0xFF;
                int min = k == 1 ? lo : 0x80;
                int max = k == 1 ? hi : 0xBF;
                if (bk < min || bk > max) {
                    return null;
                }
                cp = (cp << 6) | (bk & 0x3F);
            }
            sb.appendCodePoint(cp);
            i += need + 1;
        }
        return sb.toString();
    }

    /**
     * ftfy's "utf-8-variants" codec, strict: standard UTF-8 where it can, a six-byte CESU-8 surrogate pair
     * where one stands, and C0 80 as U+0000.
     */
    static String decodeVariants(byte[] b) {
        String s = new String(b, StandardCharsets.ISO_8859_1);
        StringBuilder out = new StringBuilder(b.length);
        int pos = 0;
        while (pos < b.length) {
            String rest = s.substring(pos);
            Matcher m = SPECIAL_BYTES.matcher(rest);
            if (!m.find()) {
                String d = decode(b, pos, b.length);
                if (d == null) {
                    return null;
                }
                out.append(d);
                break;
            }
            int cutoff = m.start();
            if (cutoff > 0) {
                String d = decode(b, pos, pos + cutoff);
                if (d == null) {
                    return null;
                }
                out.append(d);
                pos += cutoff;
                continue;
            }
            int remaining = b.length - pos;
            if ((b[pos] & 0xFF) == 0xC0) {
                if (remaining > 1) {
                    out.append('\0');
                    pos += 2;
                    continue;
                }
                return null; // a lone C0 at the end is not UTF-8
            }
            // An encoded surrogate (ED A0..BF ..): only a whole CESU-8 pair decodes.
            if (remaining < 6 || !CESU8.matcher(rest).lookingAt()) {
                return null;
            }
            int cp = ((b[pos + 1] & 0x0F) << 16)
                    + ((b[pos + 2] & 0x3F) << 10)
                    + ((b[pos + 4] & 0x0F) << 6)
                    + (b[pos + 5] & 0x3F)
                    + 0x10000;
            out.appendCodePoint(cp);
            pos += 6;
        }
        return out.toString();
    }

    private Utf8() {
    }
}
