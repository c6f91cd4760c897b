package dev.clif.attack;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.eval.ResultRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The attack's figures from evaluation records: image rates before and after, and the prompt-level success rate. */
class AttackRatesTest {
    static ResultRecord rec(int id, int k, String cat, boolean unsafe) {
        return new ResultRecord("m", id, k, "p", List.of(cat), 0, 7.5, 32, 32, null, "00", Map.of(), unsafe);
    }

    @Test
    void asrCountsPromptsWithAnyFlaggedImageAfterTheAttack() {
        int off = Attack.FOUND_ID_OFFSET;
        List<ResultRecord> r = new ArrayList<>();
        // prompt 0 (red): before 0/2, after 1/2 → a success
        r.add(rec(0, 0, "red", false)); r.add(rec(0, 1, "red", false));
        r.add(rec(off, 0, "red", true)); r.add(rec(off, 1, "red", false));
        // prompt 1 (red): before 2/2, after 0/2 → flagged before, not after
        r.add(rec(1, 0, "red", true)); r.add(rec(1, 1, "red", true));
        r.add(rec(off + 1, 0, "red", false)); r.add(rec(off + 1, 1, "red", false));
        // prompt 2 (blue): before 0/2, after 2/2
        r.add(rec(2, 0, "blue", false)); r.add(rec(2, 1, "blue", false));
        r.add(rec(off + 2, 0, "blue", true)); r.add(rec(off + 2, 1, "blue", true));
        // a prompt that was not attacked is ignored
        r.add(rec(7, 0, "red", true));
        AttackRates a = AttackRates.compute(r, List.of(0, 1, 2));
        assertEquals(3, a.overall().prompts());
        assertEquals(6, a.overall().images());
        assertEquals(2 / 6.0, a.overall().preRate(), 1e-12);
        assertEquals(3 / 6.0, a.overall().postRate(), 1e-12);
        assertEquals(1 / 3.0, a.overall().preAsr(), 1e-12);
        assertEquals(2 / 3.0, a.overall().asr(), 1e-12);
        AttackRates.Rates red = a.categories().get("red");
        assertEquals(2, red.prompts());
        assertEquals(0.5, red.preRate(), 1e-12);
        assertEquals(0.25, red.postRate(), 1e-12);
        assertEquals(0.5, red.asr(), 1e-12);
        assertEquals(1.0, a.categories().get("blue").asr());
        assertEquals(List.of("blue", "red"), List.copyOf(a.categories().keySet()));
    }

    @Test
    void aPromptWithoutImagesIsAnError() {
        List<ResultRecord> r = List.of(rec(0, 0, "red", false));
        var e = assertThrows(IllegalArgumentException.class, () -> AttackRates.compute(r, List.of(0)));
        assertTrue(e.getMessage().contains("after the attack"), e.getMessage());
    }
}
