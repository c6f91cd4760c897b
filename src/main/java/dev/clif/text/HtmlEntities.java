package dev.clif.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ftfy 6.1.1's {@code unescape_html}: decodes HTML entities that end in a semicolon, using the HTML5 table, plus
 * all-caps forms of the entities whose names are all lower case (so {@code &EACUTE;} reads as "É") where the
 * all-caps form means nothing else; and numeric character references, decoded as Python's html.unescape does.
 * Anything else (no semicolon, unknown name) is left as it is.
 */
final class HtmlEntities {

    private static final String TABLE = "html5-entities.tsv";
    private static final Pattern ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");

    /** The HTML5 table as Python's html.entities.html5 has it: name (with or without ';') to replacement. */
    private static final Map<String, String> HTML5 = loadTable();
    /** ftfy's entity table: "&name;" to replacement, including the derived all-caps forms. */
    private static final Map<String, String> ENTITIES = buildEntities();

    private static Map<String, String> loadTable() {
        Map<String, String> table = new HashMap<>(4096);
        try (InputStream in = HtmlEntities.class.getResourceAsStream(TABLE)) {
            if (in == null) {
                throw new IllegalStateException("resource dev/clif/text/" + TABLE + " is missing from the jar");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int tab = line.indexOf('\t');
                StringBuilder value = new StringBuilder(2);
                for (String hex : line.substring(tab + 1).split(" ")) {
                    value.appendCodePoint(Integer.parseInt(hex, 16));
                }
                table.put(line.substring(0, tab), value.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading dev/clif/text/" + TABLE, e);
        }
        return table;
    }

    private static Map<String, String> buildEntities() {
        Map<String, String> entities = new HashMap<>(8192);
        for (Map.Entry<String, String> e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) {
                continue;
            }
            entities.put("&" + name, e.getValue());
            if (name.equals(name.toLowerCase(Locale.ROOT))) {
                String upper = "&" + name.toUpperCase(Locale.ROOT);
                if (!namedReferenceDecodes(upper.substring(1))) {
                    entities.put(upper, e.getValue().toUpperCase(Locale.ROOT));
                }
            }
        }
        return entities;
    }

    /**
     * Whether Python's html.unescape would change "&" + {@code ref}, for a ref made of letters and digits and a
     * final ';': it does if the name (at most 32 characters, with its ';') or any prefix of it of two or more
     * characters is in the HTML5 table.
     */
    private static boolean namedReferenceDecodes(String ref) {
        String name = ref.endsWith(";") ? ref.substring(0, ref.length() - 1) : ref;
        String s = name.length() <= 32 ? ref : name.substring(0, 32);
        if (HTML5.containsKey(s)) {
            return true;
        }
        for (int x = s.length() - 1; x > 1; x--) {
            if (HTML5.containsKey(s.substring(0, x))) {
                return true;
            }
        }
        return false;
    }

    /** Decodes the entities in the text as ftfy's unescape_html does. */
    static String unescape(String text) {
        if (text.indexOf('&') < 0) {
            return text;
        }
        Matcher m = ENTITY.matcher(text);
        StringBuilder out = null;
        int last = 0;
        while (m.find()) {
            String entity = m.group();
            String replacement = replace(entity);
            if (replacement.equals(entity)) {
                continue;
            }
            if (out == null) {
                out = new StringBuilder(text.length());
            }
            out.append(text, last, m.start()).append(replacement);
            last = m.end();
        }
        if (out == null) {
            return text;
        }
        return out.append(text, last, text.length()).toString();
    }

    private static String replace(String entity) {
        String known = ENTITIES.get(entity);
        if (known != null) {
            return known;
        }
        if (!entity.startsWith("&#")) {
            return entity;
        }
        // html.unescape decodes the whole reference only when all of it is a decimal or hex number; otherwise
        // its result keeps the ';', and ftfy then keeps the entity as it was.
        String body = entity.substring(2, entity.length() - 1);
        BigInteger number;
        if (!body.isEmpty() && body.chars().allMatch(c -> c >= '0' && c <= '9')) {
            number = new BigInteger(body);
        } else if (body.length() > 1 && (body.charAt(0) == 'x' || body.charAt(0) == 'X')
                && body.substring(1).chars().allMatch(HtmlEntities::isHexDigit)) {
            number = new BigInteger(body.substring(1), 16);
        } else {
            return entity;
        }
        String decoded = numericReference(number);
        return decoded.indexOf(';') >= 0 ? entity : decoded;
    }

    private static boolean isHexDigit(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** Python html.unescape's value for a numeric character reference. */
    private static String numericReference(BigInteger number) {
        if (number.compareTo(BigInteger.valueOf(0x10FFFF)) > 0) {
            return "\uFFFD";
        }
        int n = number.intValueExact();
        if (n == 0) {
            return "\uFFFD";
        }
        if (n == 0x0D) {
            return "\r";
        }
        if (n >= 0x80 && n <= 0x9F) {
            // The HTML5 rule: C1 references mean their windows-1252 characters (unassigned bytes stay C1).
            return String.valueOf(SingleByteCodecs.SLOPPY_WINDOWS_1252.decode(n));
        }
        if (n >= 0xD800 && n <= 0xDFFF) {
            return "\uFFFD";
        }
        if ((n >= 0x01 && n <= 0x08) || n == 0x0B || (n >= 0x0E && n <= 0x1F) || (n >= 0x7F && n <= 0x9F)
                || (n >= 0xFDD0 && n <= 0xFDEF) || (n & 0xFFFE) == 0xFFFE) {
            return "";
        }
        return Character.toString(n);
    }

    private HtmlEntities() {
    }
}
