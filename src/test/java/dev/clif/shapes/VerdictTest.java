package dev.clif.shapes;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class VerdictTest {
    @Test
    void aPictureIsDrawnAsAskedOnlyWithExactlyItsColoursAndNoWrongShape() {
        List<Part> asked = Part.parse("a green circle");
        Map<Colour, Double> cov = Map.of(Colour.GREEN, 0.1);
        assertTrue(new Verdict(Set.of(Colour.GREEN), Map.of(), cov).drawsExactly(asked), "green, shape unnamed");
        assertTrue(new Verdict(Set.of(Colour.GREEN), Map.of(Colour.GREEN, ShapeKind.CIRCLE), cov).drawsExactly(asked));
        assertFalse(new Verdict(Set.of(Colour.GREEN), Map.of(Colour.GREEN, ShapeKind.SQUARE), cov).drawsExactly(asked),
                "a confidently named wrong shape");
        assertFalse(new Verdict(Set.of(Colour.GREEN, Colour.BLUE, Colour.YELLOW), Map.of(), cov).drawsExactly(asked),
                "a many-coloured blob contains green but is not a green circle");
        assertFalse(new Verdict(Set.of(), Map.of(), Map.of()).drawsExactly(asked), "nothing drawn");
        List<Part> two = Part.parse("a red square and a blue circle");
        assertTrue(new Verdict(Set.of(Colour.RED, Colour.BLUE), Map.of(Colour.RED, ShapeKind.SQUARE), Map.of()).drawsExactly(two));
        assertFalse(new Verdict(Set.of(Colour.RED), Map.of(), Map.of()).drawsExactly(two), "one of two shapes missing");
    }
}
