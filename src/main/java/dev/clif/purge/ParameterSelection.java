package dev.clif.purge;

import dev.clif.ClifException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Which UNet parameters a purge trains. Presets:
 * <ul>
 *   <li>{@code xattn-kv} (default): the keys and values of cross-attention, names ending in
 *       {@code .attn2.to_k.weight} or {@code .attn2.to_v.weight};</li>
 *   <li>{@code xattn}: every parameter of cross-attention (name contains {@code .attn2.});</li>
 *   <li>{@code noxattn}: everything except cross-attention (ESD-u style);</li>
 *   <li>{@code full}: every parameter.</li>
 * </ul>
 * Anything else with {@code *}, {@code ?} or a dot is a glob over the full parameter names ({@code *} matches any
 * run of characters, dots included; {@code ?} one character). Several specs select their union, in the model's
 * parameter order. An unknown preset or a glob that matches nothing is an error.
 */
public final class ParameterSelection {
    public static final List<String> PRESETS = List.of("xattn-kv", "xattn", "noxattn", "full");

    private ParameterSelection() {}

    /** The selected names, in {@code names} order. {@code specs} entries may hold comma-separated lists. */
    public static List<String> select(List<String> names, List<String> specs) {
        List<String> parts = new ArrayList<>();
        for (String s : specs == null || specs.isEmpty() ? List.of("xattn-kv") : specs)
            for (String p : s.split(",")) if (!p.isBlank()) parts.add(p.strip());
        if (parts.isEmpty()) throw new ClifException("--params is empty (use a preset " + String.join(", ", PRESETS) + " or glob patterns)");
        Set<String> chosen = new LinkedHashSet<>();
        for (String spec : parts) {
            Predicate<String> match = predicate(spec);
            boolean any = false;
            for (String n : names) if (match.test(n)) {
                chosen.add(n);
                any = true;
            }
            if (!any) throw new ClifException("parameter pattern '" + spec + "' matches no UNet parameter (e.g. "
                    + (names.isEmpty() ? "none" : names.get(0)) + ")");
        }
        List<String> out = new ArrayList<>();
        for (String n : names) if (chosen.contains(n)) out.add(n);
        return out;
    }

    static Predicate<String> predicate(String spec) {
        String key = spec.toLowerCase(Locale.ROOT);
        switch (key) {
            case "xattn-kv":
                return n -> n.endsWith(".attn2.to_k.weight") || n.endsWith(".attn2.to_v.weight");
            case "xattn":
                return n -> n.contains(".attn2.");
            case "noxattn":
                return n -> !n.contains(".attn2.");
            case "full":
                return n -> true;
            default:
                break;
        }
        if (spec.indexOf('*') < 0 && spec.indexOf('?') < 0 && spec.indexOf('.') < 0)
            throw new ClifException("unknown parameter preset '" + spec + "' (use " + String.join(", ", PRESETS)
                    + ", or glob patterns such as '*.attn2.to_k.weight')");
        Pattern p = glob(spec);
        return n -> p.matcher(n).matches();
    }

    static Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        StringBuilder lit = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                if (lit.length() > 0) {
                    re.append(Pattern.quote(lit.toString()));
                    lit.setLength(0);
                }
                re.append(c == '*' ? ".*" : ".");
            } else lit.append(c);
        }
        if (lit.length() > 0) re.append(Pattern.quote(lit.toString()));
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}
