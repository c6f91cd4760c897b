package dev.clif.shapes;

import static org.junit.jupiter.api.Assertions.*;

import java.util.EnumSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

class JudgeTest {
    private static final int SCENES = 2000;
    private final Judge judge = Judge.standard();

    /** Colour-set accuracy, shape claims (of all shapes) and shape accuracy (of claims). */
    private record Score(double colours, double claimed, double shapes) {}

    private Score score(String name, ShapesWorld world, int scenes, long seed, UnaryOperator<Image> degrade) {
        int coloursRight = 0, shapes = 0, claims = 0, shapesRight = 0;
        SplittableRandom seeds = new SplittableRandom(seed);
        for (int i = 0; i < scenes; i++) {
            Scene s = world.sample(seeds.nextLong());
            Verdict v = judge.judge(degrade.apply(world.render(s)));
            Set<Colour> truth = EnumSet.noneOf(Colour.class);
            s.shapes().forEach(sp -> truth.add(sp.colour()));
            if (v.colours().equals(truth)) coloursRight++;
            for (ShapeSpec sp : s.shapes()) {
                shapes++;
                if (v.shapeReliable(sp.colour())) {
                    claims++;
                    if (v.shapes().get(sp.colour()) == sp.kind()) shapesRight++;
                }
            }
        }
        Score sc = new Score((double) coloursRight / scenes, (double) claims / shapes, (double) shapesRight / claims);
        System.out.printf("judge, %s %dx%d: %s%n", name, world.size(), world.size(), sc);
        return sc;
    }

    private void check(Score s, double minClaimed) {
        assertTrue(s.colours() >= 0.99, "colour sets right: " + s);
        assertTrue(s.shapes() >= 0.99, "named shapes right: " + s);
        assertTrue(s.claimed() >= minClaimed, "shapes named: " + s);
    }

    @Test
    void drawnScenes() {
        Score s = score("drawn", new ShapesWorld(), SCENES, 1, im -> im);
        check(s, 0.99);
        assertEquals(1.0, s.colours());
    }

    @Test
    void noisyScenes() {
        SplittableRandom noise = new SplittableRandom(2);
        check(score("noisy", new ShapesWorld(), SCENES, 2, im -> Degrade.noise(im, 20, noise)), 0.98);
    }

    @Test
    void blurredScenes() {
        check(score("blurred", new ShapesWorld(), SCENES, 3, Degrade::blur3), 0.98);
    }

    @Test
    void blurredNoisyScenes() {
        SplittableRandom noise = new SplittableRandom(4);
        check(score("blurred+noisy", new ShapesWorld(), SCENES, 4, im -> Degrade.noise(Degrade.blur3(im), 20, noise)), 0.95);
    }

    @Test
    void largerPictures() {
        ShapesWorld w64 = new ShapesWorld(64);
        SplittableRandom noise = new SplittableRandom(5);
        check(score("drawn", w64, 300, 5, im -> im), 0.99);
        check(score("blurred+noisy", w64, 300, 6, im -> Degrade.noise(Degrade.blur3(im), 20, noise)), 0.98);
    }

    @Test
    void emptyAndFormlessPicturesShowNothing() {
        assertEquals(Set.of(), judge.judge(Image.blank(32, 32)).colours());
        Image grey = Image.blank(32, 32);
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) grey.setPixel(x, y, 0x808080);
        Verdict v = judge.judge(grey);
        assertEquals(Set.of(), v.colours());
        assertEquals(0.0, v.coverage(Colour.WHITE));
        assertEquals(Set.of(), judge.judge(Degrade.noise(Image.blank(32, 32), 30, new SplittableRandom(1))).colours());
    }

    @Test
    void speckleAndThinLinesAreNotShapes() {
        SplittableRandom rnd = new SplittableRandom(8);
        Image im = Image.blank(32, 32);
        for (int i = 0; i < 60; i++) im.setPixel(rnd.nextInt(32), rnd.nextInt(32), Colour.RED.rgb()); // 6% scattered
        for (int x = 0; x < 32; x++) im.setPixel(x, 20, Colour.GREEN.rgb()); // a one-pixel line
        Verdict v = judge.judge(im);
        assertFalse(v.shows(Colour.RED), v.toString());
        assertFalse(v.shows(Colour.GREEN), v.toString());
    }

    @Test
    void smallBlobsAreBelowTheThreshold() {
        Image im = Image.blank(32, 32);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++) im.setPixel(10 + x, 10 + y, Colour.BLUE.rgb()); // 9 px < 12
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 3; x++) im.setPixel(20 + x, 20 + y, Colour.CYAN.rgb()); // 12 px
        Verdict v = judge.judge(im);
        assertEquals(Set.of(Colour.CYAN), v.colours());
        assertEquals(12 / 1024.0, v.coverage(Colour.CYAN), 1e-12);
        assertEquals(9 / 1024.0, v.coverage(Colour.BLUE), 1e-12);
        assertFalse(v.shapeReliable(Colour.CYAN), "too small to name: " + v);
        assertEquals(12, judge.minPixels(32 * 32));
        assertEquals(48, judge.minPixels(64 * 64));
    }

    @Test
    void offColoursAndHelpers() {
        ShapesWorld world = new ShapesWorld();
        Scene s = world.scene("a red square and a blue circle", 1);
        Image im = world.render(s);
        // A dull red (as a model might paint it) is still red.
        for (int i = 0; i < im.rgb().length; i += 3)
            if ((im.rgb()[i] & 0xFF) == 255) {
                im.rgb()[i] = (byte) 190;
                im.rgb()[i + 1] = (byte) 40;
                im.rgb()[i + 2] = (byte) 30;
            }
        assertTrue(judge.shows(im, Colour.RED));
        assertTrue(judge.shows(im, Colour.BLUE));
        assertFalse(judge.shows(im, Colour.GREEN));
        Verdict v = judge.judge(im);
        assertTrue(v.shows(Colour.RED, ShapeKind.SQUARE), v.toString());
        assertTrue(v.shows(Colour.BLUE, ShapeKind.CIRCLE), v.toString());
        assertEquals(ShapeKind.SQUARE, v.shape(Colour.RED).orElseThrow());
        assertTrue(v.shape(Colour.GREEN).isEmpty());
        assertThrows(UnsupportedOperationException.class, () -> v.colours().add(Colour.GREEN));
        assertThrows(IllegalArgumentException.class, () -> new Judge(130, 0.01));
        assertThrows(IllegalArgumentException.class,
                () -> new Verdict(Set.of(), java.util.Map.of(Colour.RED, ShapeKind.SQUARE), java.util.Map.of()));
    }
}
