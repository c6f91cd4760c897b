package dev.clif.eval.scorers;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.eval.ModelAliases;
import dev.clif.eval.Score;
import dev.clif.eval.ScorerContext;
import dev.clif.io.RgbImage;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** clip-zero-shot on the shipped shapes-world CLIP with drawn pictures, checked against CLIPModel.forward's logits. */
class ClipZeroShotScorerTest {
    static final ScorerContext CTX = new ScorerContext(null, Device.CPU);
    static final ShapesWorld WORLD = new ShapesWorld();

    static RgbImage picture(String caption, long seed) {
        dev.clif.shapes.Image im = WORLD.render(WORLD.scene(caption, seed));
        return new RgbImage(im.width(), im.height(), im.rgb());
    }

    static Path shapesClip() {
        return ModelAliases.resolve(ModelAliases.SHAPES_CLIP);
    }

    /**
     * The softmax over {@code texts} of CLIPModel.forward's logits_per_image for one image, each text run through
     * forward on its own (no padding, no mask), so it shares none of the scorer's batching of texts or images.
     */
    static double[] forwardProbabilities(RgbImage image, List<String> texts) {
        Path dir = shapesClip();
        ClipTokenizer tok = ClipTokenizer.load(dir);
        ClipImageProcessor proc = ClipImageProcessor.read(dir.resolve("preprocessor_config.json"));
        double[] logits = new double[texts.size()];
        try (ClipModel m = ClipModel.load(dir, Device.CPU, DType.F32); TensorScope scope = TensorScope.open()) {
            Tensor pixels = proc.preprocess(List.of(new ClipImageProcessor.Image(image.height(), image.width(), image.rgb())));
            for (int t = 0; t < texts.size(); t++) {
                int[] ids = tok.encode(texts.get(t));
                try (ClipModel.Output o = m.forward(pixels, Tensor.of(ids, 1, ids.length).to(DType.I64), null, false)) {
                    assertArrayEquals(new long[] {1, 1}, o.logitsPerImage().shape());
                    logits[t] = o.logitsPerImage().toFloatArray()[0];
                }
            }
        }
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double l : logits) max = Math.max(max, l);
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    @Test
    void theRightColourWinsAndTheValueIsCLIPModelsSoftmax() {
        // Texts of different token lengths, so the scorer's padding and attention mask are exercised.
        List<String> unsafe = List.of("a red circle"), safe = List.of("a blue circle", "a green square and a yellow triangle");
        List<RgbImage> pictures = List.of(picture("a red circle", 1), picture("a blue circle", 2), picture("a red circle", 3),
                picture("a blue circle", 4));
        List<Score> scores;
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec("shapes-clip:a red circle=>a blue circle|a green square and a yellow triangle", CTX)) {
            assertEquals("clip-zero-shot", z.name());
            assertEquals(unsafe, z.texts().unsafe());
            assertEquals(safe, z.texts().safe());
            scores = z.score(pictures);
        }
        assertEquals(4, scores.size());
        for (int i = 0; i < pictures.size(); i++) {
            boolean red = i % 2 == 0;
            assertEquals(red, scores.get(i).unsafe(), "picture " + i + (red ? " (red)" : " (blue)") + ": " + scores.get(i));
            List<String> all = new ArrayList<>(unsafe);
            all.addAll(safe);
            double[] p = forwardProbabilities(pictures.get(i), all);
            System.out.printf("clip-zero-shot picture %d (%s): value %.6f, CLIPModel.forward softmax %s%n", i, red ? "red" : "blue",
                    scores.get(i).value(), java.util.Arrays.toString(p));
            assertEquals(p[0], scores.get(i).value(), 1e-5, "picture " + i);
            // The shapes CLIP is sure of colours (p within 1e-6 of 0 or 1), so compare the log-odds too: they are not.
            double v = scores.get(i).value();
            assertEquals(Math.log(p[0] / (p[1] + p[2])), Math.log(v / (1 - v)), 1e-3, "log-odds, picture " + i);
            assertEquals(red, p[0] > Math.max(p[1], p[2]), "CLIPModel.forward agrees on picture " + i);
        }
    }

    @Test
    void theValueSumsTheUnsafeTextsAndTheVerdictIsTheBestText() {
        // Both captions of a two-shape picture fit it, in either order: the probabilities are far from 0 and 1.
        RgbImage two = picture("a red circle and a blue square", 1);
        List<String> all = List.of("a red circle and a blue square", "a red circle", "a blue square and a red circle", "a blue square");
        double[] p = forwardProbabilities(two, all);
        System.out.println("clip-zero-shot two-shape picture: CLIPModel.forward softmax " + java.util.Arrays.toString(p));
        double unsafeShare = p[0] + p[1];
        assertTrue(unsafeShare > 0.05 && unsafeShare < 0.95, "test setup: " + unsafeShare);
        boolean unsafeBest = Math.max(p[0], p[1]) > Math.max(p[2], p[3]);
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec("shapes-clip:" + all.get(0) + "|" + all.get(1) + "=>" + all.get(2) + "|" + all.get(3), CTX)) {
            Score s = z.score(List.of(two)).get(0);
            assertEquals(unsafeShare, s.value(), 1e-5);
            assertEquals(unsafeBest, s.unsafe());
        }
        // Sides swapped: the complementary value and the other verdict.
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec("shapes-clip:" + all.get(2) + "|" + all.get(3) + "=>" + all.get(0) + "|" + all.get(1), CTX)) {
            Score s = z.score(List.of(two)).get(0);
            assertEquals(p[2] + p[3], s.value(), 1e-5);
            assertEquals(!unsafeBest, s.unsafe());
        }
    }

    @Test
    void defaultTextsAndWhatItDescribes() throws Exception {
        Path dir = shapesClip();
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec("shapes-clip", CTX)) {
            assertSame(ClipZeroShotScorer.DEFAULT_TEXTS, z.texts());
            assertEquals(7, z.texts().unsafe().size());
            List<Score> s = z.score(List.of(picture("a red circle", 1), picture("a white square", 2)));
            for (Score x : s) assertTrue(x.value() >= 0 && x.value() <= 1, x.toString());
            Map<String, Object> d = z.describe();
            assertEquals("clip-zero-shot=shapes-clip", d.get("spec"));
            assertEquals(dir.toAbsolutePath().toString(), d.get("clip"));
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(dir.resolve("model.safetensors")))),
                    d.get("clip_weights_sha256"));
            assertEquals("default", d.get("texts_source"));
            assertEquals(ClipZeroShotScorer.DEFAULT_TEXTS.unsafe(), d.get("unsafe_texts"));
            assertEquals(ClipZeroShotScorer.DEFAULT_TEXTS.safe(), d.get("safe_texts"));
            // logit_scale is the checkpoint's, exponentiated, as CLIPModel.forward uses it.
            try (ClipModel m = ClipModel.load(dir, Device.CPU, DType.F32); Tensor ls = m.parameter("logit_scale")) {
                assertEquals(Math.exp(ls.item()), (double) d.get("logit_scale"), 1e-9);
            }
            assertEquals(List.of(), z.score(List.of()));
            z.close();
            assertThrows(IllegalStateException.class, () -> z.score(List.of(picture("a red circle", 1))));
        }
        // A folder path works like the alias, and the whole argument is taken as the folder when it is one.
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec(dir.toString(), CTX)) {
            assertEquals("default", z.describe().get("texts_source"));
        }
    }

    @Test
    void findsTheTokenizerInTheFolderOrItsTokenizerSubfolder(@TempDir Path tmp) throws IOException {
        Path src = shapesClip(), copy = tmp.resolve("clip");
        Files.createDirectories(copy.resolve("tokenizer"));
        List<String> tokenizerFiles = List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json");
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                Files.copy(f, (tokenizerFiles.contains(n) ? copy.resolve("tokenizer") : copy).resolve(n));
            }
        }
        RgbImage red = picture("a red circle", 9);
        double a, b;
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec("shapes-clip:a red circle=>a blue circle", CTX)) {
            a = z.score(List.of(red)).get(0).value();
        }
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec(copy + ":a red circle=>a blue circle", CTX)) {
            b = z.score(List.of(red)).get(0).value();
        }
        assertEquals(a, b, 0.0);
        for (String n : tokenizerFiles) Files.delete(copy.resolve("tokenizer").resolve(n));
        ClifException e = assertThrows(ClifException.class, () -> ClipZeroShotScorer.fromSpec(copy + ":a=>b", CTX));
        assertTrue(e.getMessage().contains("no CLIP tokenizer in " + copy), e.getMessage());
    }

    @Test
    void readsTextsFilesAndNamesTheLineOfEachMistake(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("texts.txt");
        Files.writeString(f, "\uFEFF# colours\n\nunsafe: a red circle\n  Safe:a blue circle  \nsafe: a green square # not a comment\n");
        ClipZeroShotScorer.Texts t = ClipZeroShotScorer.readTexts(f);
        assertEquals(List.of("a red circle"), t.unsafe());
        assertEquals(List.of("a blue circle", "a green square # not a comment"), t.safe());
        assertEquals(f.toString(), t.source());
        try (ClipZeroShotScorer z = ClipZeroShotScorer.fromSpec("shapes-clip:" + f, CTX)) {
            assertTrue(z.score(List.of(picture("a red circle", 1))).get(0).unsafe());
            assertEquals(f.toString(), z.describe().get("texts_source"));
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))),
                    z.describe().get("texts_sha256"));
        }

        String[][] bad = {
                {"unsafe: a\nmaybe: b\n", ":2: expected 'unsafe: TEXT' or 'safe: TEXT'"},
                {"unsafe: a\nsafe b\n", ":2: expected"},
                {"# x\nunsafe:   \nsafe: b\n", ":2: the unsafe text is empty"},
                {"unsafe: a\nsafe: b\nunsafe: a\n", ":3: 'a' is listed twice"},
                {"unsafe: a\nsafe: a\n", ":2: 'a' is listed twice"},
                {"unsafe: a\nunsafe: b\n", "needs at least one 'unsafe:' and one 'safe:' line (has 2 unsafe, 0 safe)"},
                {"# only comments\n", "(has 0 unsafe, 0 safe)"},
        };
        for (String[] c : bad) {
            Files.writeString(f, c[0]);
            ClifException e = assertThrows(ClifException.class, () -> ClipZeroShotScorer.readTexts(f), c[0]);
            assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(c[1]), e.getMessage());
        }
        ClifException e = assertThrows(ClifException.class, () -> ClipZeroShotScorer.readTexts(dir.resolve("absent.txt")));
        assertTrue(e.getMessage().contains("absent.txt"), e.getMessage());
    }

    @Test
    void parsesInlineTextsAndRefusesMalformedOnes() {
        ClipZeroShotScorer.Texts t = ClipZeroShotScorer.parseInline(" nudity | gore=>a clothed person|a landscape ");
        assertEquals(List.of("nudity", "gore"), t.unsafe());
        assertEquals(List.of("a clothed person", "a landscape"), t.safe());
        assertEquals("inline", t.source());
        assertEquals(List.of("nudity", "gore", "a clothed person", "a landscape"), t.all());

        String[][] bad = {
                {"a|b", "exactly one '=>'"},
                {"a=>b=>c", "exactly one '=>'"},
                {"=>b", "an empty unsafe text"},
                {"a=>", "an empty safe text"},
                {"a||b=>c", "an empty unsafe text"},
                {"a=>b| ", "an empty safe text"},
                {"a|b=>a", "'a' is listed twice"},
        };
        for (String[] c : bad) {
            ClifException e = assertThrows(ClifException.class, () -> ClipZeroShotScorer.parseInline(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
    }

    @Test
    void refusesBadSpecsBeforeLoadingAnything(@TempDir Path dir) {
        String[][] bad = {
                {"", "needs a CLIP folder"},
                {"shapes-clip:", "nothing after ':'"},
                {"shapes-clip:neither a file nor arrows", "is neither a texts file nor inline texts"},
                {dir.resolve("absent") + ":a=>b", "does not exist or is not a folder"},
                {dir + "", "no config.json"},
        };
        for (String[] c : bad) {
            ClifException e = assertThrows(ClifException.class, () -> ClipZeroShotScorer.fromSpec(c[0], CTX), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
    }
}
