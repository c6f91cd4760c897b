package dev.clif.eval.scorers;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.eval.Score;
import dev.clif.eval.ScorerContext;
import dev.clif.io.RgbImage;
import dev.clif.io.SafetensorsWriter;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Q16 on tiny-clip (projection 16) with embedding files built around a known image's CLIP direction, so the
 * expected verdicts and probabilities follow from host arithmetic on embeddings computed here, one image at a time.
 */
class Q16ScorerTest {
    static final int D = 16;
    static Path clip;
    /** 20 pictures: more than one scorer batch of 16. */
    static List<RgbImage> images;
    /** Each image's get_image_features, computed alone (batch of one), as doubles. */
    static double[][] features;

    static Path golden() {
        Path root = Path.of(TestData.golden());
        Assertions.assertTrue(Files.isDirectory(root.resolve("tiny-clip")), "no golden data at " + root);
        return root;
    }

    @BeforeAll
    static void embedImages() {
        clip = golden().resolve("tiny-clip");
        ShapesWorld world = new ShapesWorld(); // 32 x 32, tiny-clip's image size
        images = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            dev.clif.shapes.Image im = world.draw(100 + i);
            images.add(new RgbImage(im.width(), im.height(), im.rgb()));
        }
        ClipImageProcessor p = ClipImageProcessor.read(clip.resolve("preprocessor_config.json"));
        features = new double[images.size()][];
        try (ClipModel m = ClipModel.load(clip, Device.CPU, DType.F32)) {
            for (int i = 0; i < images.size(); i++)
                try (TensorScope scope = TensorScope.open()) {
                    RgbImage im = images.get(i);
                    Tensor pixels = p.preprocess(List.of(new ClipImageProcessor.Image(im.height(), im.width(), im.rgb())));
                    float[] f = m.imageFeatures(pixels, false).toFloatArray();
                    assertEquals(D, f.length);
                    features[i] = new double[D];
                    for (int k = 0; k < D; k++) features[i][k] = f[k];
                }
        }
    }

    static ScorerContext ctx() {
        return new ScorerContext(clip, Device.CPU);
    }

    static double[] unit(double[] v) {
        double n = Math.sqrt(dot(v, v));
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] / n;
        return out;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** The image least like image 0 (lowest cosine): it must land on the other side of the rows built below. */
    static int farthestFromImage0() {
        int best = 1;
        for (int i = 1; i < features.length; i++)
            if (dot(unit(features[i]), unit(features[0])) < dot(unit(features[best]), unit(features[0]))) best = i;
        return best;
    }

    /**
     * Row 1 along image 0's direction a, row 0 along image b's ({@link #farthestFromImage0}), both plus t times a
     * direction w orthogonal to a and b: image 0's cosines are then 1/s and c/s (s = sqrt(1 + t^2), c = cos(a, b)),
     * image b's the reverse, and t is chosen so that 100 (1 - c) / s = 0.7: Q16's softmax gives image 0 about 0.67
     * on row 1 and image b about 0.33, far from saturation. The rows are scaled by 3 and 0.5 to check that Q16
     * normalises them.
     */
    static float[][] rowsAroundImage0() {
        double[] a = unit(features[0]), b = unit(features[farthestFromImage0()]);
        double c = dot(a, b);
        double s = Math.max(1, 100 * (1 - c) / 0.7), t = Math.sqrt(s * s - 1);
        SplittableRandom rnd = new SplittableRandom(7);
        double[] w = new double[D];
        for (int k = 0; k < D; k++) w[k] = rnd.nextGaussian();
        double[] bPerp = unit(minus(b, a, c));
        w = unit(minus(minus(w, a, dot(w, a)), bPerp, dot(w, bPerp)));
        float[][] rows = new float[2][D];
        for (int k = 0; k < D; k++) {
            rows[1][k] = (float) (3 * (a[k] + t * w[k]));
            rows[0][k] = (float) (0.5 * (b[k] + t * w[k]));
        }
        return rows;
    }

    /** v - f * u */
    static double[] minus(double[] v, double[] u, double f) {
        double[] out = v.clone();
        for (int k = 0; k < v.length; k++) out[k] -= f * u[k];
        return out;
    }

    /** Q16 as its paper code computes it, on the float rows as stored: softmax(100 * [cos0, cos1])[1]. */
    static double expectedProbability(double[] feature, float[][] rows) {
        double[] e = unit(feature), r0 = unit(toDouble(rows[0])), r1 = unit(toDouble(rows[1]));
        double l0 = 100 * dot(e, r0), l1 = 100 * dot(e, r1);
        return Math.exp(l1) / (Math.exp(l0) + Math.exp(l1));
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** A .npy v1 file of little-endian float32, as numpy.save writes it. */
    static Path writeNpy(Path file, float[][] rows) throws IOException {
        return writeNpyBytes(file, "<f4", rows.length + ", " + rows[0].length, floatsLE(rows));
    }

    static byte[] floatsLE(float[][] rows) {
        ByteBuffer b = ByteBuffer.allocate(4 * rows.length * rows[0].length).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] r : rows) for (float x : r) b.putFloat(x);
        return b.array();
    }

    static Path writeNpyBytes(Path file, String descr, String shape, byte[] data) throws IOException {
        String h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        int len = (10 + h.length() + 1 + 63) / 64 * 64 - 10;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) len, (byte) (len >> 8)});
        out.writeBytes((h + " ".repeat(len - h.length() - 1) + "\n").getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        Files.write(file, out.toByteArray());
        return file;
    }

    static Path writeSafetensors(Path file, Map<String, float[][]> tensors) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (Map.Entry<String, float[][]> t : tensors.entrySet()) {
            float[][] r = t.getValue();
            float[] flat = new float[r.length * r[0].length];
            for (int i = 0; i < r.length; i++) System.arraycopy(r[i], 0, flat, i * r[0].length, r[0].length);
            entries.add(SafetensorsWriter.Entry.of(t.getKey(), flat, r.length, r[0].length));
        }
        SafetensorsWriter.write(file, entries, Map.of());
        return file;
    }

    static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    @Test
    void flagsTheImageWhoseDirectionIsRowOneWithQ16sProbability(@TempDir Path dir) throws Exception {
        float[][] rows = rowsAroundImage0();
        Path file = writeNpy(dir.resolve("q16.npy"), rows);
        List<Score> scores;
        try (Q16Scorer q = Q16Scorer.fromSpec(file.toString(), ctx())) {
            assertEquals("q16", q.name());
            scores = q.score(images);
        }
        assertEquals(images.size(), scores.size());
        double p0 = expectedProbability(features[0], rows);
        assertTrue(p0 > 0.6 && p0 < 0.75, "test setup: image 0's probability " + p0);
        assertTrue(scores.get(0).unsafe(), "image 0 points along row 1");
        assertEquals(p0, scores.get(0).value(), 1e-4);
        // Every image, across the batch boundary at 16, gets its own probability and the verdict that goes with it.
        int flagged = 0;
        for (int i = 0; i < images.size(); i++) {
            double p = expectedProbability(features[i], rows);
            assertEquals(p, scores.get(i).value(), 1e-4, "image " + i);
            if (Math.abs(p - 0.5) > 1e-3) assertEquals(p > 0.5, scores.get(i).unsafe(), "image " + i + " p=" + p);
            if (scores.get(i).unsafe()) flagged++;
            assertTrue(scores.get(i).labels().isEmpty());
        }
        int b = farthestFromImage0();
        double pb = expectedProbability(features[b], rows);
        assertTrue(pb > 0.25 && pb < 0.4, "test setup: image " + b + "'s probability " + pb);
        assertFalse(scores.get(b).unsafe(), "image " + b + " points along row 0");
        assertTrue(flagged > 0 && flagged < images.size(), "flagged " + flagged);

        // Rows swapped: the same image is now "non inappropriate", with the complementary probability.
        Path swapped = writeNpy(dir.resolve("swapped.npy"), new float[][] {rows[1], rows[0]});
        try (Q16Scorer q = Q16Scorer.fromSpec(swapped.toString(), ctx())) {
            List<Score> s = q.score(images.subList(0, 1));
            assertFalse(s.get(0).unsafe());
            assertEquals(1 - p0, s.get(0).value(), 1e-4);
        }
    }

    @Test
    void readsSafetensorsByTheDocumentedRuleAndFloat16Npy(@TempDir Path dir) throws Exception {
        float[][] rows = rowsAroundImage0();
        double p0 = expectedProbability(features[0], rows);
        Path single = writeSafetensors(dir.resolve("one.safetensors"), Map.of("whatever", rows));
        Path named = writeSafetensors(dir.resolve("named.safetensors"), Map.of("prompts", rows, "other", new float[][] {{1, 2}}));
        for (Path f : List.of(single, named))
            try (Q16Scorer q = Q16Scorer.fromSpec(f.toString(), ctx())) {
                Score s = q.score(images.subList(0, 1)).get(0);
                assertTrue(s.unsafe(), f.toString());
                assertEquals(p0, s.value(), 1e-4, f.toString());
                assertTrue(q.describe().get("embeddings").toString().contains(f == single ? "'whatever'" : "'prompts'"));
            }
        // float16, as Q16's published prompts are stored: the rows rounded to float16 give their own probability.
        float[][] half = new float[2][D];
        ByteBuffer b = ByteBuffer.allocate(2 * 2 * D).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < D; k++) {
                short h = Float.floatToFloat16(rows[r][k]);
                half[r][k] = Float.float16ToFloat(h);
                b.putShort(h);
            }
        Path f16 = writeNpyBytes(dir.resolve("half.npy"), "<f2", "2, " + D, b.array());
        try (Q16Scorer q = Q16Scorer.fromSpec(f16.toString(), ctx())) {
            assertEquals(expectedProbability(features[0], half), q.score(images.subList(0, 1)).get(0).value(), 1e-4);
        }

        ClifException e = assertThrows(ClifException.class, () -> Q16Scorer.fromSpec(
                writeSafetensors(dir.resolve("two.safetensors"), Map.of("a", rows, "b", rows)).toString(), ctx()));
        assertTrue(e.getMessage().contains("2 tensors") && e.getMessage().contains("'prompts' or 'embeddings'"), e.getMessage());
        e = assertThrows(ClifException.class, () -> Q16Scorer.fromSpec(
                writeSafetensors(dir.resolve("both.safetensors"), Map.of("prompts", rows, "embeddings", rows)).toString(), ctx()));
        assertTrue(e.getMessage().contains("more than one"), e.getMessage());
    }

    @Test
    void describesWhatMakesTheVerdictsReproducible(@TempDir Path dir) throws Exception {
        Path file = writeNpy(dir.resolve("q16.npy"), rowsAroundImage0());
        Q16Scorer q = Q16Scorer.fromSpec(file.toString(), ctx());
        Map<String, Object> d = q.describe();
        assertEquals("q16=" + file, d.get("spec"));
        assertEquals(file.toAbsolutePath().toString(), d.get("file"));
        assertEquals(sha256(file), d.get("file_sha256"));
        assertEquals(clip.toAbsolutePath().toString(), d.get("clip"));
        assertEquals(sha256(clip.resolve("model.safetensors")), d.get("clip_weights_sha256"));
        assertEquals(100.0, d.get("logit_scale"));
        assertTrue(d.get("rule").toString().contains("row 1"));
        assertTrue(d.get("embeddings").toString().contains("<f4 [2, 16]"), d.get("embeddings").toString());
        assertEquals(List.of(), q.score(List.of()));
        q.close();
        q.close(); // twice is fine
        assertThrows(IllegalStateException.class, () -> q.score(images.subList(0, 1)));
    }

    private static String refusal(String arg, ScorerContext ctx) {
        ClifException e = assertThrows(ClifException.class, () -> Q16Scorer.fromSpec(arg, ctx));
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void refusesBadEmbeddingFilesWithOneLineThatSaysWhy(@TempDir Path dir) throws Exception {
        float[][] rows = rowsAroundImage0();
        Path ok = writeNpy(dir.resolve("ok.npy"), rows);

        assertEquals("q16 needs --clip DIR (CLIP ViT-L/14)", refusal(ok.toString(), new ScorerContext(null, Device.CPU)));
        assertTrue(refusal("", ctx()).contains("q16=FILE"));
        assertTrue(refusal(ok + "", new ScorerContext(dir, Device.CPU)).contains("no config.json"));

        Path narrow = writeNpy(dir.resolve("narrow.npy"), new float[][] {new float[8], new float[8]});
        String m = refusal(narrow.toString(), ctx());
        assertTrue(m.contains(narrow.toString()) && m.contains("8 dimensions") && m.contains("projects to 16"), m);

        // Q16's prompts.p as published: a pickle (protocol 3) of a numpy array. Refused by its name and by its first byte.
        byte[] pickle = {(byte) 0x80, 3, 'c', 'n', 'u', 'm', 'p', 'y', '\n'};
        Path p = Files.write(dir.resolve("prompts.p"), pickle);
        m = refusal(p.toString(), ctx());
        assertTrue(m.contains("pickle") && m.contains("numpy.save('" + dir.resolve("prompts.npy") + "'")
                && m.contains("pickle.load(open('" + p + "','rb'))") && m.contains("dtype='float32'"), m);
        Path disguised = Files.write(dir.resolve("prompts.npy"), pickle);
        m = refusal(disguised.toString(), ctx());
        assertTrue(m.contains("pickle") && m.contains("numpy.save('" + dir.resolve("prompts-q16.npy") + "'"), m);
        m = refusal(Files.write(dir.resolve("x.pkl"), new byte[] {1, 2}).toString(), ctx());
        assertTrue(m.contains("pickle"), m);

        float[][] nan = {rows[0].clone(), rows[1].clone()};
        nan[1][3] = Float.NaN;
        m = refusal(writeNpy(dir.resolve("nan.npy"), nan).toString(), ctx());
        assertTrue(m.contains("non-finite") && m.contains("row 1, column 3"), m);
        float[][] inf = {rows[0].clone(), rows[1].clone()};
        inf[0][0] = Float.POSITIVE_INFINITY;
        assertTrue(refusal(writeNpy(dir.resolve("inf.npy"), inf).toString(), ctx()).contains("non-finite"));
        m = refusal(writeNpy(dir.resolve("zero.npy"), new float[][] {new float[D], rows[1]}).toString(), ctx());
        assertTrue(m.contains("row 0") && m.contains("all zeros"), m);
        m = refusal(writeNpy(dir.resolve("three.npy"), new float[][] {rows[0], rows[1], rows[0]}).toString(), ctx());
        assertTrue(m.contains("[2, D]") && m.contains("[3, 16]"), m);
        m = refusal(writeNpyBytes(dir.resolve("flat.npy"), "<f4", "32,", floatsLE(rows)).toString(), ctx());
        assertTrue(m.contains("[2, D]") && m.contains("[32]"), m);
        m = refusal(dir.resolve("absent.npy").toString(), ctx());
        assertTrue(m.contains("no such file"), m);
        m = refusal(Files.writeString(dir.resolve("rows.txt"), "1 2 3").toString(), ctx());
        assertTrue(m.contains("not a .npy or .safetensors"), m);
    }
}
