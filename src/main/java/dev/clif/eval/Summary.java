package dev.clif.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What an evaluation found, computed from its records alone (so a distributed run, a resumed run and an
 * uninterrupted one summarise with the same code): per model, overall and per category, the flagged share of images
 * with its bootstrap interval, the expected maximum inappropriateness, the share each scorer flagged and the labels
 * detectors counted; and how far each scorer agrees with a reference scorer.
 */
public record Summary(Map<String, ModelSummary> models, List<AgreementRow> agreement) {
    /** How many prompts the expected maximum inappropriateness draws (I2P's 25). */
    public static final int EMI_DRAW = 25;

    public record ModelSummary(Block overall, Map<String, Block> categories) {}

    /** One group of prompts. {@code rate} and {@code ci95} are fractions in [0, 1]. */
    public record Block(int prompts, int images, double rate, double[] ci95, Metrics.MeanStd emi, Map<String, Double> scorerRates,
                        Map<String, Map<String, Integer>> labels) {}

    /** {@code scope} is a model's name, or "all" for every model's images together. */
    public record AgreementRow(String scorer, String reference, String scope, Metrics.Agreement agreement) {}

    /**
     * @param models model names in report order (models without records are left out)
     * @param reference the scorer others are compared with, or null for no comparison
     */
    public static Summary compute(List<ResultRecord> records, List<String> models, String reference, int bootstrapSamples, long seed) {
        Map<String, ModelSummary> out = new LinkedHashMap<>();
        Set<String> scorers = new LinkedHashSet<>();
        for (ResultRecord r : records) scorers.addAll(r.scores().keySet());
        for (String m : models) {
            List<ResultRecord> mine = records.stream().filter(r -> r.model().equals(m)).toList();
            if (mine.isEmpty()) continue;
            Set<String> categories = new LinkedHashSet<>();
            for (ResultRecord r : mine) categories.addAll(r.categories());
            Map<String, Block> perCategory = new LinkedHashMap<>();
            for (String c : categories)
                perCategory.put(c, block(mine.stream().filter(r -> r.categories().contains(c)).toList(), scorers, bootstrapSamples, seed));
            out.put(m, new ModelSummary(block(mine, scorers, bootstrapSamples, seed), perCategory));
        }
        List<AgreementRow> agreement = new ArrayList<>();
        if (reference != null) {
            for (String s : scorers) {
                // clip-score measures, it never flags: an agreement with a judge would say nothing.
                if (s.equals(reference) || s.equals(dev.clif.eval.scorers.ClipScoreScorer.NAME)) continue;
                for (String m : out.keySet())
                    agreement.add(new AgreementRow(s, reference, m, agreement(records.stream().filter(r -> r.model().equals(m)).toList(), s, reference)));
                agreement.add(new AgreementRow(s, reference, "all", agreement(records, s, reference)));
            }
        }
        return new Summary(out, agreement);
    }

    private static Block block(List<ResultRecord> records, Set<String> scorers, int samples, long seed) {
        Map<Integer, int[]> perPrompt = new LinkedHashMap<>();
        Map<String, Integer> flaggedBy = new LinkedHashMap<>();
        Map<String, Map<String, Integer>> labels = new LinkedHashMap<>();
        for (String s : scorers) flaggedBy.put(s, 0);
        int scoredBy = 0;
        for (ResultRecord r : records) {
            int[] c = perPrompt.computeIfAbsent(r.promptId(), k -> new int[2]);
            c[1]++;
            if (r.unsafe()) c[0]++;
            for (Map.Entry<String, Score> e : r.scores().entrySet()) {
                if (e.getValue().unsafe()) flaggedBy.merge(e.getKey(), 1, Integer::sum);
                if (!e.getValue().labels().isEmpty()) {
                    Map<String, Integer> l = labels.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>());
                    e.getValue().labels().forEach((k, v) -> l.merge(k, v, Integer::sum));
                }
            }
            scoredBy++;
        }
        List<Metrics.PromptCount> counts = new ArrayList<>();
        for (int[] c : perPrompt.values()) counts.add(new Metrics.PromptCount(c[0], c[1]));
        Map<String, Double> rates = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : flaggedBy.entrySet()) rates.put(e.getKey(), scoredBy == 0 ? 0 : (double) e.getValue() / scoredBy);
        return new Block(counts.size(), records.size(), Metrics.rate(counts), Metrics.bootstrapCi95(counts, samples, seed),
                Metrics.expectedMaxInappropriateness(counts, EMI_DRAW, samples, seed), rates, labels);
    }

    private static Metrics.Agreement agreement(List<ResultRecord> records, String scorer, String reference) {
        List<ResultRecord> both = records.stream().filter(r -> r.scores().containsKey(scorer) && r.scores().containsKey(reference)).toList();
        boolean[] judged = new boolean[both.size()], truth = new boolean[both.size()];
        for (int i = 0; i < both.size(); i++) {
            judged[i] = both.get(i).scores().get(scorer).unsafe();
            truth[i] = both.get(i).scores().get(reference).unsafe();
        }
        return Metrics.agreement(judged, truth);
    }

    /** {@code summary.json}: {"models": {NAME: {"overall": B, "categories": {CAT: B}}}, "agreement": [...]}. */
    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode root = json.createObjectNode();
        ObjectNode ms = root.putObject("models");
        for (Map.Entry<String, ModelSummary> e : models.entrySet()) {
            ObjectNode m = ms.putObject(e.getKey());
            m.set("overall", blockJson(json, e.getValue().overall()));
            ObjectNode cats = m.putObject("categories");
            e.getValue().categories().forEach((c, b) -> cats.set(c, blockJson(json, b)));
        }
        var rows = root.putArray("agreement");
        for (AgreementRow a : agreement) {
            ObjectNode o = rows.addObject();
            o.put("scorer", a.scorer());
            o.put("reference", a.reference());
            o.put("scope", a.scope());
            Metrics.Agreement g = a.agreement();
            o.put("images", g.images());
            putNumber(o, "accuracy", g.accuracy());
            putNumber(o, "precision", g.precision());
            putNumber(o, "recall", g.recall());
            o.put("true_positives", g.truePositives());
            o.put("false_positives", g.falsePositives());
            o.put("false_negatives", g.falseNegatives());
            o.put("true_negatives", g.trueNegatives());
        }
        return root;
    }

    private static ObjectNode blockJson(ObjectMapper json, Block b) {
        ObjectNode o = json.createObjectNode();
        o.put("prompts", b.prompts());
        o.put("images", b.images());
        o.put("rate", b.rate());
        o.putArray("ci95").add(b.ci95()[0]).add(b.ci95()[1]);
        o.putObject("expected_max_inappropriateness").put("draw", EMI_DRAW).put("mean", b.emi().mean()).put("std", b.emi().std());
        ObjectNode s = o.putObject("scorer_rates");
        b.scorerRates().forEach(s::put);
        if (!b.labels().isEmpty()) {
            ObjectNode l = o.putObject("labels");
            b.labels().forEach((scorer, counts) -> {
                ObjectNode c = l.putObject(scorer);
                counts.forEach(c::put);
            });
        }
        return o;
    }

    /** JSON has no NaN: an undefined ratio (no positives) is written as null. */
    private static void putNumber(ObjectNode o, String field, double v) {
        if (Double.isNaN(v)) o.putNull(field);
        else o.put(field, v);
    }

    /** The table the CLI prints: one row per model and group, percentages. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-12s %-20s %7s %7s %8s %17s %13s%n", "model", "category", "prompts", "images", "unsafe", "95% CI", "EMI (25)"));
        for (Map.Entry<String, ModelSummary> e : models.entrySet()) {
            row(sb, e.getKey(), "(all)", e.getValue().overall());
            e.getValue().categories().forEach((c, b) -> row(sb, e.getKey(), c, b));
        }
        for (AgreementRow a : agreement)
            if (a.scope().equals("all"))
                sb.append(String.format(Locale.ROOT, "%s against %s over %d images: accuracy %s, precision %s, recall %s%n", a.scorer(),
                        a.reference(), a.agreement().images(), pct(a.agreement().accuracy()), pct(a.agreement().precision()), pct(a.agreement().recall())));
        return sb.toString();
    }

    private static void row(StringBuilder sb, String model, String group, Block b) {
        sb.append(String.format(Locale.ROOT, "%-12s %-20s %7d %7d %7.1f%% %7.1f–%5.1f%% %6.1f±%4.1f%%%n", model, group, b.prompts(), b.images(),
                100 * b.rate(), 100 * b.ci95()[0], 100 * b.ci95()[1], 100 * b.emi().mean(), 100 * b.emi().std()));
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
}
