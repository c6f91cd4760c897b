package dev.clif.shapes.bench;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The sweep's grids, its choice rule and the bench's method list. */
class SweepTest {
    static Sweep.Outcome o(Sweep.Setting s, double rate, double control) {
        return new Sweep.Outcome(s, "m", rate, control, 0, null);
    }

    @Test
    void theChoiceIsTheLowestRateAmongSettingsThatKeepTheControls() {
        Sweep.Setting a = new Sweep.Setting(Baseline.ESD, 1e-2, 200, 0, null);
        Sweep.Setting b = new Sweep.Setting(Baseline.ESD, 3e-2, 200, 0, null);
        Sweep.Setting c = new Sweep.Setting(Baseline.ESD, 3e-2, 400, 0, null);
        // c purges most but loses 10 points of controls; b is within 2 points of 0.99
        Sweep.Choice ch = Sweep.choose(Baseline.ESD, List.of(o(a, 0.5, 1.0), o(b, 0.2, 0.97), o(c, 0.0, 0.89)), 0.99);
        assertEquals(b, ch.chosen());
        assertTrue(ch.why().startsWith("lowest purged-concept rate (20.0%)"), ch.why());
        // ties on the rate: the higher control accuracy
        assertEquals(a, Sweep.choose(Baseline.ESD, List.of(o(b, 0.2, 0.98), o(a, 0.2, 1.0)), 1.0).chosen());
        // nobody keeps the controls: the highest control accuracy
        Sweep.Choice none = Sweep.choose(Baseline.ESD, List.of(o(a, 0.1, 0.5), o(b, 0.0, 0.7)), 1.0);
        assertEquals(b, none.chosen());
        assertTrue(none.why().startsWith("no setting kept"), none.why());
        // and among equal control accuracies the lower rate
        assertEquals(a, Sweep.choose(Baseline.ESD, List.of(o(b, 0.3, 0.6), o(a, 0.1, 0.6)), 1.0).chosen());
        assertEquals(3, ch.json().get("tried").size());
        assertEquals("lr 0.03, 200 steps", ch.json().get("chosen").get("label").asText());
    }

    @Test
    void gridsAndCandidates() {
        Sweep.Grid g = Sweep.Grid.defaults(100, 4);
        Sweep.Setting clif = new Sweep.Setting(Baseline.CLIF, 3e-3, 400, 0, null);
        assertEquals(6, Sweep.candidates(Baseline.ESD, g, null).size(), "3 learning rates x 2 step counts");
        assertEquals(List.of(0.01, 0.1, 1.0, 10.0), Sweep.candidates(Baseline.UCE, g, null).stream().map(Sweep.Setting::uceLambda).toList());
        assertEquals(List.of("weak", "medium", "strong", "max"), Sweep.candidates(Baseline.SLD, g, null).stream().map(Sweep.Setting::sldPreset).toList());
        assertEquals(List.of(clif), Sweep.candidates(Baseline.CLIF, g, clif), "CLIF runs its defaults");
        assertEquals(1, Sweep.candidates(Baseline.NEGATIVE, g, null).size());
        ClifException e = assertThrows(ClifException.class, () -> new Sweep.Grid(List.of(1e-2), List.of(0), List.of(0.1), List.of("max"), 1, 1));
        assertTrue(e.getMessage().contains("ESD steps"), e.getMessage());
        assertThrows(ClifException.class, () -> new Sweep.Grid(List.of(1e-2), List.of(1), List.of(0.1), List.of("extreme"), 1, 1));
    }

    @Test
    void theTuningSeedIsNotTheJudgedSeed() {
        java.nio.file.Path p = java.nio.file.Path.of("x");
        ClifException e = assertThrows(ClifException.class, () -> new ShapesBench.Config(p, p, dev.clif.shapes.Colour.RED,
                dev.clif.shapes.Colour.BLUE, List.of(Baseline.ESD), 1, 4, 5, 3, 1, 3e-3, 0, 0.15, null, 7, p, Sweep.Grid.defaults(7, 1)));
        assertTrue(e.getMessage().contains("tuning seed must differ"), e.getMessage());
        ShapesBench.Config ok = new ShapesBench.Config(p, p, dev.clif.shapes.Colour.RED, dev.clif.shapes.Colour.BLUE,
                List.of(Baseline.UCE, Baseline.SLD), 1, 4, 5, 3, 1, 3e-3, 0, 0.15, null, 7, p);
        assertEquals(0.1, ok.defaultSetting(Baseline.UCE).uceLambda());
        assertEquals("strong", ok.defaultSetting(Baseline.SLD).sldPreset());
    }

    @Test
    void methodLists() {
        assertEquals(List.of(Baseline.values()), Baseline.parseList("all"));
        assertEquals(List.of(Baseline.CLIF, Baseline.ESD), Baseline.parseList("both"));
        assertEquals(List.of(Baseline.UCE, Baseline.NEGATIVE), Baseline.parseList("uce, negative,uce"));
        ClifException e = assertThrows(ClifException.class, () -> Baseline.parseList("clif,rece"));
        assertTrue(e.getMessage().contains("clif, esd, uce, sld, negative"), e.getMessage());
    }
}
