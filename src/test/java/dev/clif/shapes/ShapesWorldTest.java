package dev.clif.shapes;

import static org.junit.jupiter.api.Assertions.*;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ShapesWorldTest {
    private final ShapesWorld world = new ShapesWorld();

    @Test
    void sameSeedSameSceneAndBytes() {
        for (long seed = 0; seed < 50; seed++) {
            Scene a = world.sample(seed), b = new ShapesWorld(32).sample(new SplittableRandom(seed));
            assertEquals(a, b);
            assertArrayEquals(world.render(a).rgb(), world.render(b).rgb());
        }
        assertNotEquals(world.sample(1), world.sample(2));
        // Pinned: a change to how the world samples or draws shows here (it would invalidate trained models).
        assertEquals(new Scene(List.of(new ShapeSpec(ShapeKind.CIRCLE, Colour.CYAN, 7, 17, 11)), "a cyan circle"),
                world.sample(42));
        assertEquals(1276158049, java.util.Arrays.hashCode(world.draw(42).rgb()));
        assertEquals(world.render(world.sample(7)).hashCode(), world.draw(7).hashCode());
    }

    @Test
    void captionsFollowTheGrammar() {
        assertEquals("a red circle", ShapesWorld.caption(List.of(new ShapeSpec(ShapeKind.CIRCLE, Colour.RED, 10, 10, 8))));
        assertEquals("a green square and a yellow triangle", ShapesWorld.caption(List.of(
                new ShapeSpec(ShapeKind.SQUARE, Colour.GREEN, 8, 8, 8),
                new ShapeSpec(ShapeKind.TRIANGLE, Colour.YELLOW, 24, 24, 8))));
        assertEquals(List.of(new Part(Colour.GREEN, ShapeKind.SQUARE), new Part(Colour.YELLOW, ShapeKind.TRIANGLE)),
                Part.parse("  A Green square  and a yellow TRIANGLE "));
        assertThrows(IllegalArgumentException.class, () -> Part.parse("a red"));
        assertThrows(IllegalArgumentException.class, () -> Part.parse("a purple circle"));
        assertThrows(IllegalArgumentException.class, () -> Part.parse("the red circle"));
        assertThrows(IllegalArgumentException.class, () -> Part.parse("a red circle and"));

        Set<Colour> colours = EnumSet.noneOf(Colour.class);
        Set<ShapeKind> kinds = EnumSet.noneOf(ShapeKind.class);
        Set<Integer> counts = new HashSet<>();
        for (long seed = 0; seed < 500; seed++) {
            Scene s = world.sample(seed);
            assertTrue(s.caption().matches("a [a-z]+ (circle|square|triangle)( and a [a-z]+ (circle|square|triangle))?"), s.caption());
            assertEquals(s.parts(), Part.parse(s.caption()));
            counts.add(s.shapes().size());
            s.shapes().forEach(sp -> {
                colours.add(sp.colour());
                kinds.add(sp.kind());
            });
        }
        assertEquals(EnumSet.allOf(Colour.class), colours);
        assertEquals(EnumSet.allOf(ShapeKind.class), kinds);
        assertEquals(Set.of(1, 2), counts);
    }

    @Test
    void shapesAreInsideApartAndVisible() {
        for (int size : new int[] {32, 64, 16, 48}) {
            ShapesWorld w = new ShapesWorld(size);
            for (long seed = 0; seed < 400; seed++) {
                Scene s = w.sample(seed);
                Image im = w.render(s);
                assertEquals(size, im.width());
                assertEquals(size, im.height());
                List<ShapeSpec> sh = s.shapes();
                if (sh.size() == 2) {
                    assertNotEquals(sh.get(0).colour(), sh.get(1).colour());
                    assertTrue(ShapesWorld.apart(sh.get(0), sh.get(1), w.gap()), s.toString());
                }
                for (ShapeSpec sp : sh) {
                    assertTrue(sp.size() >= w.minShapeSize() && sp.size() <= w.maxShapeSize(sh.size()), s.toString());
                    assertTrue(sp.x0() >= 1 && sp.y0() >= 1 && sp.x0() + sp.size() <= size - 1
                            && sp.y0() + sp.size() <= size - 1, s.toString());
                    int count = 0;
                    for (int y = 0; y < size; y++)
                        for (int x = 0; x < size; x++)
                            if (im.pixel(x, y) == sp.colour().rgb()) count++;
                    double fill = (double) count / (sp.size() * sp.size());
                    double expected = switch (sp.kind()) {
                        case SQUARE -> 1.0;
                        case CIRCLE -> Math.PI / 4;
                        case TRIANGLE -> 0.5;
                    };
                    if (sp.size() >= 8) assertEquals(expected, fill, 0.1, sp.toString()); // tinier ones are blocky
                }
                // Only the background and the scene's colours.
                Set<Integer> allowed = new HashSet<>(List.of(Colour.BACKGROUND));
                sh.forEach(sp -> allowed.add(sp.colour().rgb()));
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++) assertTrue(allowed.contains(im.pixel(x, y)));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new ShapesWorld(8));
    }

    @Test
    void scenesOfPrompts() {
        Scene s = world.scene("a red circle and a blue square", 3);
        assertEquals("a red circle and a blue square", s.caption());
        assertEquals(List.of(new Part(Colour.RED, ShapeKind.CIRCLE), new Part(Colour.BLUE, ShapeKind.SQUARE)), s.parts());
        assertEquals(s, world.scene(s.parts(), 3));
        assertNotEquals(s, world.scene(s.parts(), 4));
        assertThrows(IllegalArgumentException.class, () -> world.scene("a red circle and a red square", 1));
        assertThrows(IllegalArgumentException.class,
                () -> world.scene("a red circle and a blue square and a green triangle", 1));
    }

    @Test
    void promptSets() {
        List<String> singles = Prompts.singles(Colour.RED);
        assertEquals(List.of("a red circle", "a red square", "a red triangle"), singles);
        List<String> pairs = Prompts.pairs(Colour.RED);
        assertEquals(2 * 6 * 3 * 3, pairs.size());
        assertEquals(pairs.size(), new HashSet<>(pairs).size());
        assertTrue(pairs.contains("a green square and a red triangle"));
        List<String> targets = Prompts.containing(Colour.RED);
        assertEquals(3 + 6, targets.size());
        for (String p : targets) {
            assertTrue(Prompts.mentions(p, Colour.RED), p);
            assertEquals(p, Part.caption(Part.parse(p)));
        }
        for (String p : pairs) assertTrue(Prompts.mentions(p, Colour.RED), p);
        List<String> controls = Prompts.controls(Colour.RED);
        assertEquals(6 * 3, controls.size());
        for (String p : controls) {
            assertFalse(Prompts.mentions(p, Colour.RED), p);
            Part.parse(p);
        }
        assertEquals(5 * 3, Prompts.controls(Colour.RED, Colour.BLUE).size());
        assertFalse(Prompts.mentions("a redder circle", Colour.RED));
    }
}
