package dev.clif.shapes.bench;

import dev.clif.ClifException;
import dev.clif.purge.PurgeConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The methods the shapes bench compares: three purges that write a delta (CLIF, ESD, UCE) and two inference-time
 * baselines that leave the weights alone (SLD with the purged colour as its safety concept, and the purged colour as
 * the negative prompt).
 */
public enum Baseline {
    CLIF, ESD, UCE, SLD, NEGATIVE;

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The purge method behind it, or null for an inference-time baseline. */
    public PurgeConfig.Method purgeMethod() {
        return switch (this) {
            case CLIF -> PurgeConfig.Method.CLIF;
            case ESD -> PurgeConfig.Method.ESD;
            case UCE -> PurgeConfig.Method.UCE;
            case SLD, NEGATIVE -> null;
        };
    }

    /** {@code all}, {@code both} (CLIF and ESD) or a comma-separated list of clif, esd, uce, sld, negative. */
    public static List<Baseline> parseList(String s) {
        String t = s.strip().toLowerCase(Locale.ROOT);
        if (t.equals("all")) return List.of(values());
        if (t.equals("both")) return List.of(CLIF, ESD);
        List<Baseline> out = new ArrayList<>();
        for (String part : t.split(",")) {
            Baseline b = null;
            for (Baseline v : values()) if (v.key().equals(part.strip())) b = v;
            if (b == null) throw new ClifException("--method must be clif, esd, uce, sld, negative, a comma-separated list of them, both (clif,esd) or all, got '" + s + "'");
            if (!out.contains(b)) out.add(b);
        }
        return out;
    }
}
