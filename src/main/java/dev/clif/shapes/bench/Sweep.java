package dev.clif.shapes.bench;

import dev.clif.ClifException;
import dev.clif.sampling.SafeLatentDiffusion;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The shapes bench's fair fight: each method runs at its own best setting, chosen by a small sweep judged on a tuning
 * seed (its own purge seed and its own image seeds), then the chosen setting is purged and judged again on the bench's
 * seed, which the choice never saw. The grids: ESD learning rate × steps, UCE's preservation weight λ, SLD's presets;
 * CLIF runs its defaults and the negative prompt has no parameter.
 *
 * <p>The choice: among the settings whose control accuracy stays within {@link #CONTROL_SLACK} of the unpurged model's
 * (on the tuning seed), the lowest purged-concept rate (ties: the higher control accuracy, then the earlier setting);
 * if none stays within it, the highest control accuracy (ties: the lower purged-concept rate, then the earlier).
 */
public final class Sweep {
    /** How far control accuracy may fall below the unpurged model's for a setting to count. */
    public static final double CONTROL_SLACK = 0.02;

    private Sweep() {}

    /** One setting of one method; the fields a method does not use are ignored. */
    public record Setting(Baseline method, double lr, int steps, double uceLambda, String sldPreset) {
        public String label() {
            return switch (method) {
                case CLIF -> String.format(Locale.ROOT, "lr %s, %d steps (defaults)", num(lr), steps);
                case ESD -> String.format(Locale.ROOT, "lr %s, %d steps", num(lr), steps);
                case UCE -> "λ " + num(uceLambda);
                case SLD -> "preset " + sldPreset;
                case NEGATIVE -> "negative prompt = the purged colour";
            };
        }

        public ObjectNode json() {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("label", label());
            switch (method) {
                case CLIF, ESD -> o.put("lr", lr).put("steps", steps);
                case UCE -> o.put("uce_preserve_scale", uceLambda);
                case SLD -> o.put("sld_preset", sldPreset);
                case NEGATIVE -> { }
            }
            return o;
        }

        private static String num(double v) {
            return v == Math.rint(v) && Math.abs(v) < 1e6 ? String.valueOf((long) v) : String.valueOf(v);
        }
    }

    /** The grids and where they are judged. */
    public record Grid(List<Double> esdLrs, List<Integer> esdSteps, List<Double> uceLambdas, List<String> sldPresets,
                       long tuningSeed, int tuningImages) {
        public Grid {
            esdLrs = List.copyOf(esdLrs);
            esdSteps = esdSteps.stream().sorted().distinct().toList(); // ascending: a longer run continues a shorter one
            uceLambdas = List.copyOf(uceLambdas);
            sldPresets = List.copyOf(sldPresets);
            if (esdLrs.isEmpty() || esdSteps.isEmpty() || uceLambdas.isEmpty() || sldPresets.isEmpty())
                throw new ClifException("every sweep grid needs at least one value");
            for (double v : esdLrs) if (!(v > 0) || !Double.isFinite(v)) throw new ClifException("ESD learning rates must be positive, got " + v);
            for (int v : esdSteps) if (v < 1) throw new ClifException("ESD steps must be at least 1, got " + v);
            for (double v : uceLambdas) if (!(v >= 0) || !Double.isFinite(v)) throw new ClifException("UCE λ must be a finite number >= 0, got " + v);
            for (String p : sldPresets) SafeLatentDiffusion.preset(p);
            if (tuningImages < 1) throw new ClifException("--tuning-images must be at least 1");
        }

        public static Grid defaults(long tuningSeed, int tuningImages) {
            return new Grid(List.of(3e-3, 1e-2, 3e-2), List.of(200, 400), List.of(0.01, 0.1, 1.0, 10.0),
                    List.copyOf(SafeLatentDiffusion.PRESETS.keySet()), tuningSeed, tuningImages);
        }

        public ObjectNode json() {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("tuning_seed", tuningSeed);
            o.put("tuning_images_per_prompt", tuningImages);
            o.putPOJO("esd_lrs", esdLrs);
            o.putPOJO("esd_steps", esdSteps);
            o.putPOJO("uce_lambdas", uceLambdas);
            o.putPOJO("sld_presets", sldPresets);
            o.put("rule", "lowest purged-concept rate among settings with control accuracy >= unpurged - " + CONTROL_SLACK
                    + " on the tuning seed (ties: higher control accuracy, then the earlier); none: the highest control accuracy (ties: lower rate)");
            return o;
        }
    }

    /** The settings a method is tried at; {@code clif} is CLIF's defaults (the bench's lr and steps). */
    public static List<Setting> candidates(Baseline m, Grid g, Setting clif) {
        List<Setting> out = new ArrayList<>();
        switch (m) {
            case CLIF -> out.add(clif);
            case ESD -> {
                for (double lr : g.esdLrs()) for (int steps : g.esdSteps()) out.add(new Setting(m, lr, steps, 0, null));
            }
            case UCE -> {
                for (double l : g.uceLambdas()) out.add(new Setting(m, 0, 0, l, null));
            }
            case SLD -> {
                for (String p : g.sldPresets()) out.add(new Setting(m, 0, 0, 0, p.toLowerCase(Locale.ROOT)));
            }
            case NEGATIVE -> out.add(new Setting(m, 0, 0, 0, null));
        }
        return out;
    }

    /** What one setting scored on the tuning seed. */
    public record Outcome(Setting setting, String model, double conceptRate, double controlAccuracy, double targetRate, Double purgeSeconds) {}

    /** A method's sweep and its choice. */
    public record Choice(Baseline method, List<Outcome> outcomes, Setting chosen, String why) {
        public ObjectNode json() {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.set("chosen", chosen.json());
            o.put("why", why);
            ArrayNode a = o.putArray("tried");
            for (Outcome r : outcomes) {
                ObjectNode t = r.setting().json();
                a.add(t);
                t.put("model", r.model());
                t.put("purged_concept_rate", r.conceptRate());
                t.put("control_accuracy", r.controlAccuracy());
                t.put("target_rate", r.targetRate());
                if (r.purgeSeconds() != null) t.put("purge_seconds", r.purgeSeconds());
            }
            return o;
        }
    }

    /** The rule of the class comment. */
    public static Choice choose(Baseline m, List<Outcome> outcomes, double baseControl) {
        if (outcomes.isEmpty()) throw new IllegalArgumentException("nothing tried for " + m);
        if (outcomes.size() == 1)
            return new Choice(m, outcomes, outcomes.get(0).setting(), "one setting: nothing to choose");
        Outcome best = null;
        for (Outcome o : outcomes) {
            if (o.controlAccuracy() < baseControl - CONTROL_SLACK - 1e-12) continue;
            if (best == null || o.conceptRate() < best.conceptRate()
                    || (o.conceptRate() == best.conceptRate() && o.controlAccuracy() > best.controlAccuracy())) best = o;
        }
        if (best != null)
            return new Choice(m, outcomes, best.setting(), String.format(Locale.ROOT,
                    "lowest purged-concept rate (%.1f%%) with control accuracy %.1f%% >= unpurged %.1f%% - %.0f points",
                    100 * best.conceptRate(), 100 * best.controlAccuracy(), 100 * baseControl, 100 * CONTROL_SLACK));
        for (Outcome o : outcomes)
            if (best == null || o.controlAccuracy() > best.controlAccuracy()
                    || (o.controlAccuracy() == best.controlAccuracy() && o.conceptRate() < best.conceptRate())) best = o;
        return new Choice(m, outcomes, best.setting(), String.format(Locale.ROOT,
                "no setting kept control accuracy within %.0f points of unpurged (%.1f%%): the highest control accuracy (%.1f%%)",
                100 * CONTROL_SLACK, 100 * baseControl, 100 * best.controlAccuracy()));
    }
}
