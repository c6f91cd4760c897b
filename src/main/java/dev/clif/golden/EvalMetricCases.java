package dev.clif.golden;

import dev.clif.eval.ClipScore;
import dev.clif.eval.FrechetDistance;
import dev.clif.eval.scorers.ClipScoreScorer;
import dev.clif.io.RgbImage;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The evaluation metrics' cases: "clip_score" (torchmetrics' clip_score with a CLIP folder: preprocessing, padded
 * tokens and mask, features, per-pair scores, the clamped mean) and "fid" (means, unbiased covariances and the
 * Fréchet distance on given feature sets, one of them with a singular covariance).
 */
public final class EvalMetricCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("clip_score", "fid");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        return switch (c.name()) {
            case "clip_score" -> clipScore(c, device);
            case "fid" -> fid(c);
            default -> throw new IllegalArgumentException("EvalMetricCases cannot run case '" + c.name() + "'");
        };
    }

    private static List<Comparison> clipScore(GoldenCase c, Device device) {
        List<Comparison> out = new ArrayList<>();
        Tolerance features = c.tolerance("features"), scores = c.tolerance("scores_and_metric"), pre = c.tolerance("preprocess");
        if (!device.isCpu()) {
            features = features.times(10);
            scores = scores.times(10);
        }
        List<String> captions = new ArrayList<>();
        for (JsonNode n : c.sidecar().path("captions")) captions.add(n.asText());
        List<RgbImage> images = new ArrayList<>();
        for (int i = 0; c.tensors().contains("image_" + i + "_uint8_hwc"); i++) {
            String name = "image_" + i + "_uint8_hwc";
            long[] s = c.tensors().info(name).shape();
            try (Tensor t = c.tensor(name)) {
                images.add(new RgbImage((int) s[1], (int) s[0], t.toByteArray()));
            }
        }
        if (images.size() != captions.size())
            return List.of(new Comparison("*", false, Double.NaN, Tolerance.EXACT, images.size() + " images for " + captions.size() + " captions"));
        try (ClipScoreScorer clip = ClipScoreScorer.open("clip-score", c.model(), c.folder("tokenizer"), device)) {
            List<dev.clif.model.ClipImageProcessor.Image> raw = new ArrayList<>();
            for (RgbImage im : images) raw.add(new dev.clif.model.ClipImageProcessor.Image(im.height(), im.width(), im.rgb()));
            try (Tensor px = clip.processor().preprocess(raw)) {
                out.add(Comparison.of("pixel_values", px, c.tensor("pixel_values"), pre));
            }
            long[][] tok = clip.tokenize(captions);
            long[] idShape = c.tensors().info("input_ids").shape();
            String shape = "[" + tok[2][0] + ", " + tok[2][1] + "] vs [" + idShape[0] + ", " + idShape[1] + "]";
            try (Tensor ids = c.tensor("input_ids"); Tensor mask = c.tensor("attention_mask")) {
                out.add(withDetail(Comparison.exact("input_ids", tok[0], ids.toLongArray()), shape));
                out.add(withDetail(Comparison.exact("attention_mask", tok[1], mask.toLongArray()), shape));
            }
            double[][] img = clip.imageFeatures(images);
            double[][] txt = clip.textFeatures(captions);
            out.add(Comparison.of("image_features", flat(img), expected(c, "image_features"), features));
            out.add(Comparison.of("text_features", flat(txt), expected(c, "text_features"), features));
            double[] pairs = new double[img.length];
            for (int i = 0; i < pairs.length; i++) pairs[i] = ClipScore.pair(img[i], txt[i]);
            out.add(Comparison.of("scores", pairs, expected(c, "scores"), scores));
            out.add(Comparison.of("clip_score", new double[] {ClipScore.metric(pairs)}, expected(c, "clip_score"), scores));
            // The scorer the engine calls gives the same per-pair values.
            double[] engine = clip.score(images, captions).stream().mapToDouble(dev.clif.eval.Score::value).toArray();
            out.add(Comparison.of("scores (scorer)", engine, expected(c, "scores"), scores));
        }
        return out;
    }

    private static Comparison withDetail(Comparison cmp, String detail) {
        return cmp.pass() ? cmp : new Comparison(cmp.tensor(), false, cmp.maxAbsError(), cmp.tolerance(), detail + " " + cmp.detail());
    }

    private static List<Comparison> fid(GoldenCase c) {
        Tolerance musig = c.tolerance("mu_sigma"), tol = c.tolerance("fid");
        List<Comparison> out = new ArrayList<>();
        FrechetDistance.Gaussian[] g = new FrechetDistance.Gaussian[3];
        String[] sets = {"a", "b", "c"};
        for (int i = 0; i < 3; i++) {
            g[i] = FrechetDistance.fit(rows(c, "features_" + sets[i]));
            out.add(Comparison.of("mu_" + sets[i], g[i].mean(), expected(c, "mu_" + sets[i]), musig));
            out.add(Comparison.of("sigma_" + sets[i], g[i].covariance(), expected(c, "sigma_" + sets[i]), musig));
        }
        out.add(Comparison.of("fid_ab", new double[] {FrechetDistance.distance(g[0], g[1])}, expected(c, "fid_ab"), tol));
        out.add(Comparison.of("fid_ac", new double[] {FrechetDistance.distance(g[0], g[2])}, expected(c, "fid_ac"), tol));
        out.add(Comparison.of("fid_aa", new double[] {FrechetDistance.distance(g[0], g[0])}, expected(c, "fid_aa"), tol));
        return out;
    }

    private static double[][] rows(GoldenCase c, String name) {
        long[] s = c.tensors().info(name).shape();
        double[] flat = expected(c, name);
        int n = (int) s[0], d = (int) s[1];
        double[][] out = new double[n][d];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * d, out[i], 0, d);
        return out;
    }

    private static double[] expected(GoldenCase c, String name) {
        try (Tensor t = c.tensor(name); Tensor d = t.to(Device.CPU, DType.F64)) {
            return d.toDoubleArray();
        }
    }

    private static double[] flat(double[][] m) {
        int d = m.length == 0 ? 0 : m[0].length;
        double[] out = new double[m.length * d];
        for (int i = 0; i < m.length; i++) System.arraycopy(m[i], 0, out, i * d, d);
        return out;
    }
}
