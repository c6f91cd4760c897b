package dev.clif.eval.report;

import dev.clif.ClifException;
import dev.clif.eval.Preservation;
import dev.clif.eval.ResultRecord;
import dev.clif.eval.ResultsLog;
import dev.clif.eval.Summary;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a report shows, read back from an evaluation's folder without generating anything: {@code manifest.json},
 * {@code results.jsonl} (the summary and the CLIP scores are recomputed from the records), and FID/KID from
 * {@code summary.json}'s {@code preservation} when the run measured them.
 */
public record ReportData(Path out, JsonNode manifest, List<ResultRecord> records, List<String> models, Summary summary,
                         Preservation preservation, Map<String, Path> deltas, Set<String> deciding) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static ReportData load(Path out, int bootstrapSamples, long bootstrapSeed) {
        Path manifestFile = out.resolve("manifest.json"), results = out.resolve("results.jsonl");
        if (!Files.isRegularFile(results)) throw new ClifException(out + " has no results.jsonl: not an evaluation folder (clif eval --out)");
        if (!Files.isRegularFile(manifestFile)) throw new ClifException(out + " has no manifest.json: not an evaluation folder (clif eval --out)");
        JsonNode manifest = read(manifestFile);
        JsonNode settings = manifest.path("settings");
        List<ResultRecord> records = ResultsLog.read(results);
        if (records.isEmpty()) throw new ClifException(results + ": no records yet: nothing to report");
        List<String> models = new ArrayList<>();
        Map<String, Path> deltas = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = settings.path("models").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            models.add(e.getKey());
            if (e.getValue().hasNonNull("delta")) deltas.put(e.getKey(), Path.of(e.getValue().get("delta").asText()));
        }
        Set<String> seen = new LinkedHashSet<>();
        for (ResultRecord r : records) seen.add(r.model());
        for (String m : seen) if (!models.contains(m)) models.add(m);
        Set<String> deciding = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = settings.path("scorers").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if ("decides".equals(e.getValue().path("role").asText())) deciding.add(e.getKey());
        }
        Summary summary = Summary.compute(records, models, null, bootstrapSamples, bootstrapSeed);
        Preservation preservation = preservation(out, settings, records, models, bootstrapSamples, bootstrapSeed);
        return new ReportData(out, manifest, records, models, summary, preservation, deltas, deciding);
    }

    /** CLIP scores from the records; FID/KID, features and reference from summary.json where the run wrote them. */
    private static Preservation preservation(Path out, JsonNode settings, List<ResultRecord> records, List<String> models, int samples, long seed) {
        Path summaryFile = out.resolve("summary.json");
        Preservation stored = null;
        if (Files.isRegularFile(summaryFile)) {
            JsonNode p = read(summaryFile).get("preservation");
            if (p != null) stored = Preservation.fromJson(p, summaryFile.toString());
        }
        List<String> categories = new ArrayList<>();
        if (stored != null) categories.addAll(stored.categories());
        else settings.path("preservation").path("categories").forEach(n -> categories.add(n.asText()));
        Map<String, Preservation.ClipScoreStat> clip = Preservation.clipScores(records, models, categories, samples, seed);
        if (clip.isEmpty() && stored == null) return null;
        Map<String, Preservation.ModelPreservation> per = new LinkedHashMap<>();
        List<ResultRecord> sel = Preservation.selected(records, categories);
        for (String m : models) {
            Preservation.ModelPreservation s = stored == null ? null : stored.models().get(m);
            int n = (int) sel.stream().filter(r -> r.model().equals(m)).count();
            if (n == 0) continue;
            per.put(m, new Preservation.ModelPreservation(clip.get(m), s == null ? null : s.fid(), s == null ? null : s.kid(), n,
                    s == null ? 0 : s.referenceImages()));
        }
        return new Preservation(categories, stored == null ? null : stored.features(), stored == null ? null : stored.reference(), per);
    }

    static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ClifException(file + ": not readable JSON: " + e.getMessage(), e);
        }
    }
}
