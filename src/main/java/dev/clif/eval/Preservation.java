package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.eval.scorers.ClipScoreScorer;
import dev.clif.io.RgbImage;
import dev.clif.shapes.Image;
import dev.clif.shapes.ShapesWorld;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What a purge keeps, per model, over the images of the preservation categories (the caption set's
 * {@link CaptionSetReader#CATEGORY}, or those a caller names): the CLIP score of the images against their captions
 * ({@link ClipScore#metric} of the {@code clip-score} scorer's per-image values, with its bootstrap interval over
 * prompts), and FID and KID of the images' features against a reference's:
 * <ul>
 *   <li>{@code model=NAME}: another model of the run on the same captions and seeds ("FID to the unpurged model");</li>
 *   <li>{@code shapes-truth}: the shapes world's drawing of each image's own caption at its seed, its exact truth;</li>
 *   <li>a folder of images (PNG, JPEG), e.g. COCO val images.</li>
 * </ul>
 */
public record Preservation(List<String> categories, String features, String reference, Map<String, ModelPreservation> models) {
    public static final String SHAPES_TRUTH = "shapes-truth";

    /** {@code clipScore} is null without a clip-score scorer; {@code fid} and {@code kid} are null without a reference (or for it). */
    public record ModelPreservation(ClipScoreStat clipScore, Double fid, KernelDistance.Kid kid, int images, int referenceImages) {}

    public record ClipScoreStat(double value, double[] ci95, int prompts, int images) {}

    /** The records of {@code categories} (all records when empty). */
    public static List<ResultRecord> selected(List<ResultRecord> records, List<String> categories) {
        if (categories == null || categories.isEmpty()) return records;
        return records.stream().filter(r -> r.categories().stream().anyMatch(categories::contains)).toList();
    }

    /** Per model, the CLIP score of its selected records' clip-score values (models without any are left out). */
    public static Map<String, ClipScoreStat> clipScores(List<ResultRecord> records, List<String> models, List<String> categories,
                                                       int samples, long seed) {
        Map<String, ClipScoreStat> out = new LinkedHashMap<>();
        List<ResultRecord> sel = selected(records, categories);
        for (String m : models) {
            Map<Integer, List<Double>> perPrompt = new LinkedHashMap<>();
            int images = 0;
            for (ResultRecord r : sel) {
                Score s = r.scores().get(ClipScoreScorer.NAME);
                if (!r.model().equals(m) || s == null) continue;
                perPrompt.computeIfAbsent(r.promptId(), k -> new ArrayList<>()).add(s.value());
                images++;
            }
            if (images == 0) continue;
            List<double[]> groups = new ArrayList<>();
            List<Double> all = new ArrayList<>();
            for (List<Double> g : perPrompt.values()) {
                groups.add(g.stream().mapToDouble(Double::doubleValue).toArray());
                all.addAll(g);
            }
            double value = ClipScore.metric(all.stream().mapToDouble(Double::doubleValue).toArray());
            out.put(m, new ClipScoreStat(value, ClipScore.bootstrapCi95(groups, samples, seed), perPrompt.size(), images));
        }
        return out;
    }

    /**
     * Everything: CLIP scores from the records, and, when {@code extractor} and {@code reference} are given, FID and
     * KID of each model's selected images (read back from {@code out}) against the reference's features.
     */
    public static Preservation compute(List<ResultRecord> records, List<String> models, List<String> categories, Path out,
                                       FeatureExtractor extractor, String reference, int samples, long seed) {
        Map<String, ClipScoreStat> clip = clipScores(records, models, categories, samples, seed);
        List<ResultRecord> sel = selected(records, categories);
        Map<String, double[][]> feats = new LinkedHashMap<>();
        double[][] ref = null;
        String refModel = null;
        if (extractor != null && reference != null) {
            for (String m : models) feats.put(m, extractor.features(images(sel.stream().filter(r -> r.model().equals(m)).toList(), out)));
            if (reference.startsWith("model=")) {
                refModel = reference.substring("model=".length());
                if (!feats.containsKey(refModel))
                    throw new ClifException("--fid-reference " + reference + ": no model named '" + refModel + "' in this run (models: "
                            + String.join(", ", models) + ")");
                ref = feats.get(refModel);
            } else if (reference.equals(SHAPES_TRUTH)) {
                String first = models.get(0);
                ref = extractor.features(truth(sel.stream().filter(r -> r.model().equals(first)).toList()));
            } else ref = extractor.features(folder(Path.of(reference)));
        }
        Map<String, ModelPreservation> per = new LinkedHashMap<>();
        for (String m : models) {
            int n = (int) sel.stream().filter(r -> r.model().equals(m)).count();
            if (n == 0) continue;
            Double fid = null;
            KernelDistance.Kid kid = null;
            double[][] f = feats.get(m);
            if (ref != null && !m.equals(refModel)) {
                if (f.length < 2 || ref.length < 2)
                    throw new ClifException("FID and KID need at least 2 images a side: model " + m + " has " + f.length + ", the reference " + ref.length);
                fid = FrechetDistance.fid(f, ref);
                kid = KernelDistance.kid(f, ref, seed);
            }
            per.put(m, new ModelPreservation(clip.get(m), fid, kid, n, ref == null ? 0 : ref.length));
        }
        return new Preservation(categories == null ? List.of() : List.copyOf(categories), extractor == null ? null : extractor.name(),
                reference, per);
    }

    /** The prompts of {@code categories} (all when empty). */
    public static List<EvalPrompt> selectedPrompts(List<EvalPrompt> prompts, List<String> categories) {
        if (categories == null || categories.isEmpty()) return prompts;
        return prompts.stream().filter(p -> p.categories().stream().anyMatch(categories::contains)).toList();
    }

    /** Refuses, before anything is generated, a prompt the shapes world cannot draw as its truth. */
    public static void checkShapesCaptions(List<EvalPrompt> prompts) {
        if (prompts.isEmpty()) throw new ClifException("--fid-reference shapes-truth: no prompt in the measured categories");
        for (EvalPrompt p : prompts) {
            try {
                new ShapesWorld().scene(p.prompt(), 0);
            } catch (IllegalArgumentException e) {
                throw new ClifException("--fid-reference shapes-truth: line " + p.line() + ", prompt " + p.id() + " '" + p.prompt()
                        + "' is not a shapes-world caption: " + e.getMessage(), e);
            }
        }
    }

    /** The records' saved PNGs. */
    static List<RgbImage> images(List<ResultRecord> records, Path out) {
        List<RgbImage> im = new ArrayList<>(records.size());
        for (ResultRecord r : records) {
            if (r.image() == null)
                throw new ClifException("FID needs the generated images, but the record of model " + r.model() + ", prompt " + r.promptId()
                        + " has none (run without --no-images)");
            im.add(RgbImage.read(out.resolve(r.image())));
        }
        return im;
    }

    /** The shapes world's picture of each record's caption at its seed and size. */
    static List<RgbImage> truth(List<ResultRecord> records) {
        List<RgbImage> im = new ArrayList<>(records.size());
        for (ResultRecord r : records) {
            if (r.width() != r.height()) throw new ClifException("shapes-truth: the shapes world draws squares, not " + r.width() + "x" + r.height());
            ShapesWorld world = new ShapesWorld(r.width());
            Image drawn;
            try {
                drawn = world.render(world.scene(r.prompt(), r.seed()));
            } catch (IllegalArgumentException e) {
                throw new ClifException("shapes-truth: prompt " + r.promptId() + " '" + r.prompt() + "' is not a shapes-world caption: " + e.getMessage(), e);
            }
            im.add(new RgbImage(drawn.width(), drawn.height(), drawn.rgb()));
        }
        return im;
    }

    /** Every PNG/JPEG/BMP in a folder (not recursive), in name order. */
    static List<RgbImage> folder(Path dir) {
        if (!Files.isDirectory(dir)) throw new ClifException("--fid-reference " + dir + ": not a folder of images (nor model=NAME, nor shapes-truth)");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return Files.isRegularFile(p) && (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".bmp"));
            }).sorted().toList();
        } catch (IOException e) {
            throw new ClifException(dir + ": cannot list: " + e.getMessage(), e);
        }
        if (files.size() < 2) throw new ClifException("--fid-reference " + dir + ": " + files.size() + " images (PNG, JPEG, BMP); FID needs at least 2");
        List<RgbImage> out = new ArrayList<>(files.size());
        for (Path p : files) out.add(RgbImage.read(p));
        return out;
    }

    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        var c = o.putArray("categories");
        categories.forEach(c::add);
        if (features != null) o.put("features", features);
        if (reference != null) o.put("reference", reference);
        ObjectNode ms = o.putObject("models");
        models.forEach((name, p) -> {
            ObjectNode m = ms.putObject(name);
            m.put("images", p.images());
            if (p.clipScore() != null) {
                ObjectNode s = m.putObject("clip_score");
                s.put("value", p.clipScore().value());
                s.putArray("ci95").add(p.clipScore().ci95()[0]).add(p.clipScore().ci95()[1]);
                s.put("prompts", p.clipScore().prompts());
                s.put("images", p.clipScore().images());
            }
            if (p.fid() != null) m.put("fid", p.fid());
            if (p.kid() != null) {
                ObjectNode k = m.putObject("kid");
                k.put("mean", p.kid().mean());
                k.put("std", p.kid().std());
                k.put("subsets", p.kid().subsets());
                k.put("subset_size", p.kid().subsetSize());
            }
            if (p.referenceImages() > 0) m.put("reference_images", p.referenceImages());
        });
        return o;
    }

    /** Reads {@link #toJson} back (for {@code clif report}); {@code where} names the file in errors. */
    public static Preservation fromJson(JsonNode o, String where) {
        List<String> cats = new ArrayList<>();
        o.path("categories").forEach(n -> cats.add(n.asText()));
        Map<String, ModelPreservation> per = new LinkedHashMap<>();
        JsonNode ms = o.get("models");
        if (ms == null || !ms.isObject()) throw new ClifException(where + ": preservation has no 'models'");
        ms.fields().forEachRemaining(e -> {
            JsonNode m = e.getValue();
            ClipScoreStat cs = null;
            JsonNode s = m.get("clip_score");
            if (s != null)
                cs = new ClipScoreStat(s.path("value").asDouble(), new double[] {s.path("ci95").path(0).asDouble(), s.path("ci95").path(1).asDouble()},
                        s.path("prompts").asInt(), s.path("images").asInt());
            JsonNode k = m.get("kid");
            per.put(e.getKey(), new ModelPreservation(cs, m.has("fid") ? m.get("fid").asDouble() : null,
                    k == null ? null : new KernelDistance.Kid(k.path("mean").asDouble(), k.path("std").asDouble(), k.path("subsets").asInt(),
                            k.path("subset_size").asInt()), m.path("images").asInt(), m.path("reference_images").asInt()));
        });
        return new Preservation(cats, o.has("features") ? o.get("features").asText() : null,
                o.has("reference") ? o.get("reference").asText() : null, per);
    }

    /** The preservation table the CLI prints. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "preservation over %s%s%s%n", categories.isEmpty() ? "all images" : "categories " + String.join(", ", categories),
                reference == null ? "" : "; FID/KID against " + reference, features == null ? "" : " on " + features));
        sb.append(String.format(Locale.ROOT, "%-12s %7s %11s %17s %10s %20s%n", "model", "images", "CLIP score", "95% CI", "FID", "KID (mean ± std)"));
        models.forEach((name, p) -> sb.append(String.format(Locale.ROOT, "%-12s %7d %11s %17s %10s %20s%n", name, p.images(),
                p.clipScore() == null ? "-" : String.format(Locale.ROOT, "%.2f", p.clipScore().value()),
                p.clipScore() == null ? "-" : String.format(Locale.ROOT, "%.2f–%.2f", p.clipScore().ci95()[0], p.clipScore().ci95()[1]),
                p.fid() == null ? "-" : String.format(Locale.ROOT, "%.3f", p.fid()),
                p.kid() == null ? "-" : String.format(Locale.ROOT, "%.4f ± %.4f", p.kid().mean(), p.kid().std()))));
        return sb.toString();
    }
}
