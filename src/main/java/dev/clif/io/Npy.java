package dev.clif.io;

import dev.clif.ClifException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A NumPy {@code .npy} array of floating-point numbers, as {@code numpy.save} writes it (format versions 1.0, 2.0
 * and 3.0): the magic {@code \x93NUMPY}, the version, the header length, a Python dict literal with {@code descr},
 * {@code fortran_order} and {@code shape}, then the raw elements. Only little-endian {@code <f2}, {@code <f4} and
 * {@code <f8} in C order are read; big-endian, Fortran-order, object, structured and integer arrays are refused,
 * as are truncated files and data left over after the last element (a sign of a wrong or damaged file).
 *
 * <p>{@code dtype} is the header's {@code descr} ({@code "<f4"}, ...); {@code values} are the elements, row-major,
 * widened to double (exactly: every float16/float32 is a double).
 */
public record Npy(String dtype, long[] shape, double[] values) {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    public Npy {
        shape = shape.clone();
        long n = 1;
        for (long d : shape) n *= d;
        if (n != values.length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + values.length);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The values narrowed to float (exact for {@code <f2} and {@code <f4} files). */
    public float[] floats() {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) values[i];
        return out;
    }

    /** Whether these bytes start with the .npy magic. */
    public static boolean hasMagic(byte[] bytes) {
        if (bytes.length < MAGIC.length) return false;
        for (int i = 0; i < MAGIC.length; i++) if (bytes[i] != MAGIC[i]) return false;
        return true;
    }

    public static Npy read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ClifException(file + ": no such file");
        } catch (OutOfMemoryError | IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(bytes, file.toString());
    }

    /** Parses the bytes of a .npy file; {@code what} (the file name) starts every error message. */
    public static Npy parse(byte[] bytes, String what) {
        if (!hasMagic(bytes)) throw new ClifException(what + ": not a NumPy .npy file (it does not start with \\x93NUMPY)");
        if (bytes.length < 10) throw new ClifException(what + ": truncated .npy header");
        int major = bytes[6] & 0xff, minor = bytes[7] & 0xff;
        if (major < 1 || major > 3 || minor != 0)
            throw new ClifException(what + ": .npy format version " + major + "." + minor + " is not one Clif reads (1.0, 2.0, 3.0)");
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        // Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4 (for headers over 64 KiB).
        long headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = buf.getShort(8) & 0xffff;
            headerStart = 10;
        } else {
            if (bytes.length < 12) throw new ClifException(what + ": truncated .npy header");
            headerLen = buf.getInt(8) & 0xffffffffL;
            headerStart = 12;
        }
        if (headerStart + headerLen > bytes.length)
            throw new ClifException(what + ": truncated .npy header (it says " + headerLen + " bytes, the file has " + (bytes.length - headerStart) + " left)");
        // Version 3 allows UTF-8 in the header (structured field names); 1 and 2 are latin-1.
        String header = new String(bytes, headerStart, (int) headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict;
        try {
            dict = new HeaderParser(header).dict();
        } catch (IllegalArgumentException e) {
            throw new ClifException(what + ": malformed .npy header (" + e.getMessage() + "): " + header.strip());
        }
        for (String key : List.of("descr", "fortran_order", "shape"))
            if (!dict.containsKey(key)) throw new ClifException(what + ": .npy header lacks '" + key + "': " + header.strip());

        Object descr = dict.get("descr");
        if (!(descr instanceof String d))
            throw new ClifException(what + ": a structured array (descr " + descr + "); Clif reads plain float arrays only");
        int itemSize = switch (d) {
            case "<f2" -> 2;
            case "<f4" -> 4;
            case "<f8" -> 8;
            default -> throw new ClifException(what + ": " + describeDtype(d) + "; Clif reads little-endian float16/float32/float64 (<f2, <f4, <f8) "
                    + "only: convert with numpy.save(f, a.astype('<f4'))");
        };
        if (!(dict.get("fortran_order") instanceof Boolean fortran))
            throw new ClifException(what + ": .npy header field 'fortran_order' is not True or False: " + dict.get("fortran_order"));
        if (fortran)
            throw new ClifException(what + ": the array is stored in Fortran order; save it in C order: numpy.save(f, numpy.ascontiguousarray(a))");
        if (!(dict.get("shape") instanceof long[] shape))
            throw new ClifException(what + ": .npy header field 'shape' is not a tuple of integers: " + dict.get("shape"));

        long count = 1;
        try {
            for (long s : shape) count = Math.multiplyExact(count, s);
        } catch (ArithmeticException e) {
            throw new ClifException(what + ": shape " + Arrays.toString(shape) + " is too large");
        }
        if (count > Integer.MAX_VALUE) throw new ClifException(what + ": shape " + Arrays.toString(shape) + " has too many elements for Clif");
        long dataStart = headerStart + headerLen;
        long want = count * itemSize, have = bytes.length - dataStart;
        if (have < want)
            throw new ClifException(what + ": truncated: shape " + Arrays.toString(shape) + " of " + d + " needs " + want + " data bytes, the file has " + have);
        if (have > want)
            throw new ClifException(what + ": " + (have - want) + " bytes after the last element of shape " + Arrays.toString(shape)
                    + " (a damaged file, or not one array)");

        double[] values = new double[(int) count];
        int at = (int) dataStart;
        for (int i = 0; i < values.length; i++, at += itemSize)
            values[i] = switch (itemSize) {
                case 2 -> Float.float16ToFloat(buf.getShort(at));
                case 4 -> buf.getFloat(at);
                default -> buf.getDouble(at);
            };
        return new Npy(d, shape, values);
    }

    private static String describeDtype(String d) {
        if (d.startsWith(">")) return "big-endian dtype " + d;
        if (d.endsWith("O")) return "an object array (dtype " + d + ", pickled Python objects)";
        return "dtype " + d;
    }

    /**
     * The subset of Python literal syntax numpy writes into headers: a dict of string keys whose values are
     * strings, True/False, tuples of integers, or (for structured dtypes) lists, which are kept as lists.
     */
    private static final class HeaderParser {
        private final String s;
        private int i;

        HeaderParser(String s) {
            this.s = s;
        }

        Map<String, Object> dict() {
            skip();
            expect('{');
            Map<String, Object> out = new LinkedHashMap<>();
            skip();
            while (peek() != '}') {
                Object key = value();
                if (!(key instanceof String k)) throw new IllegalArgumentException("a key that is not a string");
                skip();
                expect(':');
                if (out.put(k, value()) != null) throw new IllegalArgumentException("key '" + k + "' twice");
                skip();
                if (peek() == ',') {
                    i++;
                    skip();
                } else if (peek() != '}') throw new IllegalArgumentException("expected ',' or '}' at offset " + i);
            }
            i++;
            skip();
            if (i != s.length()) throw new IllegalArgumentException("text after the dict at offset " + i);
            return out;
        }

        private Object value() {
            skip();
            char c = peek();
            if (c == '\'' || c == '"') return string(c);
            if (c == '(') return tuple();
            if (c == '[') return list();
            if (s.startsWith("True", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            throw new IllegalArgumentException("unexpected '" + c + "' at offset " + i);
        }

        private String string(char quote) {
            int start = ++i;
            while (i < s.length() && s.charAt(i) != quote) {
                if (s.charAt(i) == '\\') throw new IllegalArgumentException("escapes in strings are not supported");
                i++;
            }
            if (i >= s.length()) throw new IllegalArgumentException("unterminated string");
            return s.substring(start, i++);
        }

        /** (), (3,), (2, 768): numpy's shape tuples, as long[]; a tuple holding anything else stays a list. */
        private Object tuple() {
            i++;
            List<Object> items = new ArrayList<>();
            skip();
            while (peek() != ')') {
                items.add(Character.isDigit(peek()) ? integer() : value());
                skip();
                if (peek() == ',') {
                    i++;
                    skip();
                } else if (peek() != ')') throw new IllegalArgumentException("expected ',' or ')' at offset " + i);
            }
            i++;
            if (!items.stream().allMatch(o -> o instanceof Long)) return items;
            return items.stream().mapToLong(o -> (Long) o).toArray();
        }

        private Long integer() {
            int start = i;
            while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
            String digits = s.substring(start, i);
            if (s.startsWith("L", i)) i++; // Python 2 wrote long integers as 3L
            try {
                return Long.parseLong(digits);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("integer " + digits + " is too large");
            }
        }

        /** A structured dtype's descr list: only parsed far enough to be refused by name. */
        private List<Object> list() {
            i++;
            List<Object> out = new ArrayList<>();
            skip();
            while (peek() != ']') {
                out.add(value());
                skip();
                if (peek() == ',') {
                    i++;
                    skip();
                } else if (peek() != ']') throw new IllegalArgumentException("expected ',' or ']' at offset " + i);
            }
            i++;
            return out;
        }

        private char peek() {
            if (i >= s.length()) throw new IllegalArgumentException("unexpected end");
            return s.charAt(i);
        }

        private void expect(char c) {
            if (peek() != c) throw new IllegalArgumentException("expected '" + c + "' at offset " + i);
            i++;
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }
    }
}
