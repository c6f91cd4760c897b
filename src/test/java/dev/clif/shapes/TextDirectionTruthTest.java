package dev.clif.shapes;

import dev.clif.model.ClipModel;
import dev.clif.purge.DirectionalClipLoss;
import dev.clif.purge.PurgeConfig;
import dev.clif.purge.PurgeStep;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Does CLIF's text direction point where the images should go? The world draws the truth: for every concept prompt of
 * a pair, its drawing and the same scene with the source word replaced by the target word, embedded by the shipped
 * shapes CLIP, give ΔI_truth; its cosine with ΔT (CLIP's photo templates, as a purge uses them) must be high on every
 * colour pair of the bench. Measured when written: 0.83 (cyan=>white) to 0.92 (yellow=>magenta) over 8 scene seeds;
 * a ΔT towards the wrong colour (cyan, or green for cyan=>white) gives 0.35 to 0.51.
 * So where a purge leaves a colour behind, the loss's optimum was right and the optimisation fell short
 * (docs/baselines-shapes.md).
 */
class TextDirectionTruthTest {
    private static ClipModel clip;
    private static ClipTokenizer tokenizer;

    @BeforeAll
    static void load() {
        Path dir = ShippedModels.folder().resolve("clip");
        clip = ClipModel.load(dir, Device.CPU, DType.F32);
        tokenizer = ClipTokenizer.load(dir);
    }

    @AfterAll
    static void close() {
        clip.close();
    }

    @ParameterizedTest
    @CsvSource({"red,blue", "green,yellow", "blue,red", "yellow,magenta", "magenta,cyan", "cyan,white", "white,red"})
    void theTextDirectionPointsAlongTheDrawnColourChange(String source, String target) {
        float[] deltaT = DirectionalClipLoss.textDirection(text(source), text(target));
        ShapesWorld world = new ShapesWorld();
        double sum = 0;
        int n = 0;
        for (String caption : Prompts.containing(Colour.valueOf(source.toUpperCase(java.util.Locale.ROOT)))) {
            String swapped = caption.replaceAll("\\b" + source + "\\b", target);
            for (long seed = 0; seed < 4; seed++) {
                Scene after;
                try {
                    after = world.scene(swapped, seed);
                } catch (IllegalArgumentException sameColourTwice) {
                    break; // "a blue triangle and a red square" under red=>blue: the world draws no two shapes of one colour
                }
                double[] e0 = unit(embed(world.render(world.scene(caption, seed)))), e1 = unit(embed(world.render(after)));
                double[] d = new double[e0.length];
                for (int i = 0; i < d.length; i++) d[i] = e1[i] - e0[i];
                sum += cosine(d, deltaT);
                n++;
            }
        }
        double mean = sum / n;
        assertTrue(n >= 28, "scenes compared: " + n);
        assertTrue(mean > 0.75, source + "=>" + target + ": mean cos(ΔI_truth, ΔT) " + mean);
    }

    private static float[][] text(String word) {
        List<String> texts = new ArrayList<>();
        for (String t : PurgeConfig.DEFAULT_TEMPLATES) texts.add(t.replace("{}", word));
        try (TensorScope s = TensorScope.open()) {
            return PurgeStep.rows(clip.textFeatures(tokenizer, texts, Device.CPU));
        }
    }

    /** The image tower's features; the shipped CLIP normalises with mean and std 0.5, so its input is the image in [-1, 1]. */
    private static float[] embed(Image im) {
        try (TensorScope s = TensorScope.open()) {
            return PurgeStep.rows(clip.imageFeatures(Tensor.of(im.toCHW(), 1, 3, im.height(), im.width()), false))[0];
        }
    }

    private static double[] unit(float[] e) {
        double n = 0;
        for (float v : e) n += v * v;
        n = Math.sqrt(n);
        double[] o = new double[e.length];
        for (int i = 0; i < e.length; i++) o[i] = e[i] / n;
        return o;
    }

    private static double cosine(double[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
