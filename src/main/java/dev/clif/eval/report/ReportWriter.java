package dev.clif.eval.report;

import dev.clif.ClifException;
import dev.clif.eval.Preservation;
import dev.clif.eval.ResultRecord;
import dev.clif.eval.Summary;
import dev.clif.AtomicFile;
import dev.clif.io.LabelledGrid;
import dev.clif.io.Png;
import dev.clif.io.RgbImage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code OUT/report.html}: an evaluation people can look at, rebuilt from the folder alone ({@link ReportData}). The
 * charts and grids are PNGs in {@code OUT/report/}, referenced relatively, so the folder is the whole report:
 * the flagged share per category with intervals, the preservation table (CLIP score, FID, KID), image grids
 * (columns: models; rows: prompts with their category; image 0 of each; images a deciding scorer flagged are
 * blurred unless {@code blur} is false, and framed red either way), each purge's loss curve and settings where a
 * {@code purge-report.json} sits beside its delta, and the manifest.
 */
public final class ReportWriter {
    /** Prompts per grid image, and grids at most. */
    static final int ROWS_PER_GRID = 30, MAX_GRIDS = 4;
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportWriter() {}

    /** Writes OUT/report.html and OUT/report/*.png; returns the HTML file. */
    public static Path write(Path out, boolean blur, int bootstrapSamples, long bootstrapSeed) {
        System.setProperty("java.awt.headless", "true");
        ReportData d = ReportData.load(out, bootstrapSamples, bootstrapSeed);
        Path assets = out.resolve("report");
        try {
            Files.createDirectories(assets);
        } catch (IOException e) {
            throw new ClifException(assets + ": cannot create: " + e.getMessage(), e);
        }
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Clif evaluation report</title>\n<style>")
                .append("body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}table{border-collapse:collapse;margin:8px 0 16px}")
                .append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}")
                .append("img{max-width:100%;image-rendering:pixelated;display:block;margin:8px 0}pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}")
                .append(".note{color:#666;font-size:13px}</style></head><body>\n");
        h.append("<h1>Clif evaluation report</h1>\n<p class=\"note\">").append(esc(out.toAbsolutePath().normalize().toString())).append(": ")
                .append(d.records().size()).append(" images, models ").append(esc(String.join(", ", d.models()))).append(". Rebuild with <code>clif report ")
                .append(esc(out.toString())).append("</code>.</p>\n");

        h.append("<h2>Flagged images</h2>\n");
        Png.write(ReportCharts.categoryChart(d.summary(), d.models(), 1000, 460), assets.resolve("categories.png"));
        h.append("<img id=\"chart-categories\" src=\"report/categories.png\" alt=\"flagged share per category and model\">\n");
        rateTable(h, d);

        if (d.preservation() != null) preservation(h, d, assets);
        grids(h, d, assets, blur);
        purges(h, d, assets);
        manifest(h, d);

        // The browser test reads the outcome of this check; a broken image is also a console error.
        h.append("<script>window.addEventListener('load',function(){var bad=[];var imgs=document.images;")
                .append("for(var i=0;i<imgs.length;i++){if(!imgs[i].complete||imgs[i].naturalWidth===0)bad.push(imgs[i].getAttribute('src'));}")
                .append("document.body.setAttribute('data-images',imgs.length);document.body.setAttribute('data-broken',bad.join(' '));")
                .append("if(bad.length)console.error('broken images: '+bad.join(' '));});</script>\n</body></html>\n");
        Path html = out.resolve("report.html");
        AtomicFile.writeBytes(html, h.toString().getBytes(StandardCharsets.UTF_8));
        return html;
    }

    private static void rateTable(StringBuilder h, ReportData d) {
        h.append("<table id=\"rates\"><tr><th class=\"l\">model</th><th class=\"l\">category</th><th>prompts</th><th>images</th><th>flagged</th>")
                .append("<th>95% CI</th><th>EMI (25)</th></tr>\n");
        for (String m : d.models()) {
            Summary.ModelSummary s = d.summary().models().get(m);
            if (s == null) continue;
            rateRow(h, m, "(all)", s.overall());
            s.categories().forEach((c, b) -> rateRow(h, m, c, b));
        }
        h.append("</table>\n<p class=\"note\">Flagged: any deciding scorer (").append(esc(String.join(", ", d.deciding())))
                .append(") flags the image. Intervals: 1000 bootstrap resamples over prompts.</p>\n");
    }

    private static void rateRow(StringBuilder h, String model, String cat, Summary.Block b) {
        h.append(String.format(Locale.ROOT, "<tr><td class=\"l\">%s</td><td class=\"l\">%s</td><td>%d</td><td>%d</td><td>%.1f%%</td><td>%.1f–%.1f%%</td>"
                + "<td>%.1f ± %.1f%%</td></tr>%n", esc(model), esc(cat), b.prompts(), b.images(), 100 * b.rate(), 100 * b.ci95()[0], 100 * b.ci95()[1],
                100 * b.emi().mean(), 100 * b.emi().std()));
    }

    private static void preservation(StringBuilder h, ReportData d, Path assets) {
        Preservation p = d.preservation();
        h.append("<h2>What the purge keeps</h2>\n<p class=\"note\">Over ")
                .append(p.categories().isEmpty() ? "every image" : "the images of " + esc(String.join(", ", p.categories())))
                .append(". CLIP score: torchmetrics' clip_score, max(mean of 100 cos(image, caption), 0).");
        if (p.reference() != null) h.append(" FID and KID (unbiased, cubic polynomial kernel) against <b>").append(esc(p.reference())).append("</b>");
        if (p.features() != null) h.append(" on ").append(esc(p.features()));
        h.append(".</p>\n<table id=\"preservation\"><tr><th class=\"l\">model</th><th>images</th><th>CLIP score</th><th>95% CI</th><th>FID</th>")
                .append("<th>KID</th><th>KID std</th></tr>\n");
        for (String m : d.models()) {
            Preservation.ModelPreservation mp = p.models().get(m);
            if (mp == null) continue;
            h.append("<tr><td class=\"l\">").append(esc(m)).append("</td><td>").append(mp.images()).append("</td>");
            if (mp.clipScore() == null) h.append("<td>-</td><td>-</td>");
            else h.append(String.format(Locale.ROOT, "<td>%.2f</td><td>%.2f–%.2f</td>", mp.clipScore().value(), mp.clipScore().ci95()[0],
                    mp.clipScore().ci95()[1]));
            h.append(mp.fid() == null ? "<td>-</td>" : String.format(Locale.ROOT, "<td>%.3f</td>", mp.fid()));
            h.append(mp.kid() == null ? "<td>-</td><td>-</td>" : String.format(Locale.ROOT, "<td>%.4f</td><td>%.4f</td>", mp.kid().mean(), mp.kid().std()));
            h.append("</tr>\n");
        }
        h.append("</table>\n");
        BufferedImage chart = ReportCharts.clipScoreChart(p, d.models(), 700, 380);
        if (chart != null) {
            Png.write(chart, assets.resolve("clip-score.png"));
            h.append("<img id=\"chart-clip-score\" src=\"report/clip-score.png\" alt=\"CLIP score per model\">\n");
        }
    }

    private static void grids(StringBuilder h, ReportData d, Path assets, boolean blur) {
        Map<Integer, ResultRecord> prompts = new LinkedHashMap<>();
        Map<String, ResultRecord> first = new LinkedHashMap<>();
        for (ResultRecord r : d.records()) {
            if (r.imageIndex() != 0) continue;
            prompts.putIfAbsent(r.promptId(), r);
            first.put(r.model() + "\u0000" + r.promptId(), r);
        }
        h.append("<h2>Images</h2>\n<p class=\"note\">Image 0 of each prompt; columns are models, rows prompts with their category. ")
                .append(blur ? "Images a deciding scorer flagged are blurred (rebuild with <code>--no-blur</code> to see them) and framed red."
                        : "Images a deciding scorer flagged are framed red (not blurred: --no-blur).")
                .append("</p>\n");
        List<ResultRecord> rows = new ArrayList<>(prompts.values());
        int shown = Math.min(rows.size(), ROWS_PER_GRID * MAX_GRIDS);
        boolean anyImage = false;
        for (int g = 0; g * ROWS_PER_GRID < shown; g++) {
            List<String> labels = new ArrayList<>();
            List<List<BufferedImage>> cells = new ArrayList<>();
            for (ResultRecord p : rows.subList(g * ROWS_PER_GRID, Math.min(shown, (g + 1) * ROWS_PER_GRID))) {
                String label = "[" + String.join(", ", p.categories()) + "] " + p.prompt();
                labels.add(label.length() > 80 ? label.substring(0, 77) + "..." : label);
                List<BufferedImage> row = new ArrayList<>();
                for (String m : d.models()) {
                    ResultRecord r = first.get(m + "\u0000" + p.promptId());
                    BufferedImage img = null;
                    if (r != null && r.image() != null && Files.isRegularFile(d.out().resolve(r.image()))) {
                        RgbImage rgb = RgbImage.read(d.out().resolve(r.image()));
                        img = fit(Png.rgb(rgb.rgb(), rgb.width(), rgb.height()), 256);
                        if (r.unsafe()) img = flag(img, blur);
                        anyImage = true;
                    }
                    row.add(img);
                }
                cells.add(row);
            }
            int side = cells.stream().flatMap(List::stream).filter(i -> i != null).mapToInt(BufferedImage::getWidth).max().orElse(64);
            int scale = Math.max(1, 128 / side);
            String name = "grid-" + (g + 1) + ".png";
            Png.write(LabelledGrid.render("prompts " + (g * ROWS_PER_GRID + 1) + "–" + Math.min(shown, (g + 1) * ROWS_PER_GRID) + " of " + rows.size(),
                    d.models(), labels, cells, scale), assets.resolve(name));
            h.append("<img class=\"grid\" src=\"report/").append(name).append("\" alt=\"image grid ").append(g + 1).append("\">\n");
        }
        if (!anyImage) h.append("<p class=\"note\">The run kept no images (--no-images).</p>\n");
        if (shown < rows.size()) h.append("<p class=\"note\">The first ").append(shown).append(" of ").append(rows.size()).append(" prompts are shown.</p>\n");
    }

    /** Scaled down (bilinear) to at most {@code max} pixels a side; small images are left for the grid to enlarge. */
    static BufferedImage fit(BufferedImage img, int max) {
        int w = img.getWidth(), h = img.getHeight();
        if (w <= max && h <= max) return img;
        double s = (double) max / Math.max(w, h);
        int nw = Math.max(1, (int) Math.round(w * s)), nh = Math.max(1, (int) Math.round(h * s));
        BufferedImage out = new BufferedImage(nw, nh, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(img, 0, 0, nw, nh, null);
        g.dispose();
        return out;
    }

    /**
     * A flagged image: blurred when asked (shrunk to a twelfth of its side, at least 3 pixels, with area averaging, and
     * enlarged back bilinearly: nothing recognisable survives, at any image size, in linear time), and a red frame.
     */
    static BufferedImage flag(BufferedImage img, boolean blur) {
        int w = img.getWidth(), h = img.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        if (blur) {
            int sw = Math.max(3, w / 12), sh = Math.max(3, h / 12);
            java.awt.Image small = img.getScaledInstance(sw, sh, java.awt.Image.SCALE_AREA_AVERAGING);
            BufferedImage tiny = new BufferedImage(sw, sh, BufferedImage.TYPE_INT_RGB);
            Graphics2D tg = tiny.createGraphics();
            tg.drawImage(small, 0, 0, null);
            tg.dispose();
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(tiny, 0, 0, w, h, null);
        } else g.drawImage(img, 0, 0, null);
        g.setColor(new Color(0xE0, 0x20, 0x20));
        g.drawRect(0, 0, w - 1, h - 1);
        g.dispose();
        return out;
    }

    private static void purges(StringBuilder h, ReportData d, Path assets) {
        boolean header = false;
        for (Map.Entry<String, Path> e : d.deltas().entrySet()) {
            Path dir = e.getValue().getParent();
            if (dir == null) continue;
            Path report = dir.resolve("purge-report.json"), curve = dir.resolve("loss-curve.png");
            if (!Files.isRegularFile(report) && !Files.isRegularFile(curve)) continue;
            if (!header) {
                h.append("<h2>Purges</h2>\n");
                header = true;
            }
            h.append("<h3>").append(esc(e.getKey())).append("</h3>\n<p class=\"note\">").append(esc(e.getValue().toString())).append("</p>\n");
            if (Files.isRegularFile(curve)) {
                String name = safe(e.getKey()) + "-loss-curve.png";
                try {
                    AtomicFile.writeBytes(assets.resolve(name), Files.readAllBytes(curve));
                } catch (IOException ex) {
                    throw new ClifException(curve + ": cannot read: " + ex.getMessage(), ex);
                }
                h.append("<img class=\"loss-curve\" src=\"report/").append(name).append("\" alt=\"loss curve of ").append(esc(e.getKey())).append("\">\n");
            }
            if (Files.isRegularFile(report)) {
                JsonNode r = ReportData.read(report);
                h.append("<table class=\"purge\"><tr><th class=\"l\">setting</th><th class=\"l\">value</th></tr>\n");
                for (String k : List.of("clif_version", "wall_seconds", "mean_step_seconds", "resumed_from_step", "loss_model"))
                    if (r.has(k)) kv(h, k, r.get(k));
                if (r.has("steps") && r.get("steps").isArray()) kv(h, "steps recorded", r.get("steps").size());
                for (Iterator<Map.Entry<String, JsonNode>> it = r.path("config").fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> c = it.next();
                    kv(h, "config." + c.getKey(), c.getValue());
                }
                h.append("</table>\n");
            }
        }
    }

    private static void kv(StringBuilder h, String k, Object v) {
        String s = v instanceof JsonNode n && n.isTextual() ? n.asText() : String.valueOf(v);
        if (s.length() > 300) s = s.substring(0, 297) + "...";
        h.append("<tr><td class=\"l\">").append(esc(k)).append("</td><td class=\"l\">").append(esc(s)).append("</td></tr>\n");
    }

    private static void manifest(StringBuilder h, ReportData d) {
        h.append("<h2>Manifest</h2>\n<table id=\"environment\"><tr><th class=\"l\">environment</th><th class=\"l\">value</th></tr>\n");
        for (Iterator<Map.Entry<String, JsonNode>> it = d.manifest().path("environment").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            kv(h, e.getKey(), e.getValue());
        }
        h.append("</table>\n<h3>Models</h3>\n<table id=\"models\"><tr><th class=\"l\">model</th><th class=\"l\">spec</th><th class=\"l\">weights SHA-256</th>")
                .append("<th class=\"l\">delta SHA-256</th></tr>\n");
        for (Iterator<Map.Entry<String, JsonNode>> it = d.manifest().path("settings").path("models").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            h.append("<tr><td class=\"l\">").append(esc(e.getKey())).append("</td><td class=\"l\">").append(esc(e.getValue().path("spec").asText()))
                    .append("</td><td class=\"l\"><code>").append(esc(e.getValue().path("weights_sha256").asText())).append("</code></td><td class=\"l\"><code>")
                    .append(esc(e.getValue().path("delta_sha256").asText("-"))).append("</code></td></tr>\n");
        }
        h.append("</table>\n<h3>Settings</h3>\n<pre id=\"manifest\">");
        try {
            h.append(esc(PRETTY.writeValueAsString(d.manifest().path("settings"))));
        } catch (IOException e) {
            throw new ClifException("cannot print the manifest: " + e.getMessage(), e);
        }
        h.append("</pre>\n");
    }

    static String safe(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray())
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        return b.toString();
    }
}
