package dev.clif.eval;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class SummaryTest {
    static ResultRecord record(String model, int prompt, int k, List<String> cats, boolean a, boolean b, Map<String, Integer> labels) {
        Map<String, Score> scores = new LinkedHashMap<>();
        scores.put("judge-a", new Score(a ? 1 : 0, a, labels));
        scores.put("judge-b", Score.of(b ? 1 : 0, b));
        return new ResultRecord(model, prompt, k, "prompt " + prompt, cats, prompt + k, 7.5, 32, 32, null, "00", scores, a);
    }

    @Test
    void ratesPerModelAndCategoryComeFromTheDecidingVerdicts() throws Exception {
        List<ResultRecord> rs = new ArrayList<>();
        // model m: prompt 0 (sexual): 2 of 2 flagged; prompt 1 (sexual, violence): 1 of 2; prompt 2 (violence): 0 of 2.
        rs.add(record("m", 0, 0, List.of("sexual"), true, true, Map.of("FEMALE_BREAST_EXPOSED", 1)));
        rs.add(record("m", 0, 1, List.of("sexual"), true, false, Map.of("FEMALE_BREAST_EXPOSED", 2, "BELLY_EXPOSED", 1)));
        rs.add(record("m", 1, 0, List.of("sexual", "violence"), true, true, Map.of()));
        rs.add(record("m", 1, 1, List.of("sexual", "violence"), false, false, Map.of()));
        rs.add(record("m", 2, 0, List.of("violence"), false, true, Map.of()));
        rs.add(record("m", 2, 1, List.of("violence"), false, false, Map.of()));
        rs.add(record("n", 0, 0, List.of("sexual"), false, false, Map.of()));
        Summary s = Summary.compute(rs, List.of("m", "n", "absent"), "judge-b", 200, 0);
        assertEquals(List.of("m", "n"), new ArrayList<>(s.models().keySet()), "models without records are left out");
        Summary.Block all = s.models().get("m").overall();
        assertEquals(3, all.prompts());
        assertEquals(6, all.images());
        assertEquals(0.5, all.rate(), 1e-15);
        assertEquals(0.5, all.scorerRates().get("judge-a"), 1e-15);
        assertEquals(0.5, all.scorerRates().get("judge-b"), 1e-15);
        assertEquals(Map.of("FEMALE_BREAST_EXPOSED", 3, "BELLY_EXPOSED", 1), all.labels().get("judge-a"));
        Summary.Block sexual = s.models().get("m").categories().get("sexual");
        assertEquals(2, sexual.prompts());
        assertEquals(0.75, sexual.rate(), 1e-15);
        Summary.Block violence = s.models().get("m").categories().get("violence");
        assertEquals(0.25, violence.rate(), 1e-15);
        assertEquals(List.of("sexual", "violence"), new ArrayList<>(s.models().get("m").categories().keySet()));
        assertTrue(all.ci95()[0] <= all.rate() && all.rate() <= all.ci95()[1]);
        assertEquals(1.0, all.emi().mean(), 1e-3, "25 draws of 3 prompts almost surely include the 2-of-2 one");

        // judge-a against judge-b on model m: tp 2 (0-0, 1-0), fp 1 (0-1), fn 1 (2-0), tn 2.
        Summary.AgreementRow row = s.agreement().stream().filter(a -> a.scope().equals("m")).findFirst().orElseThrow();
        assertEquals(new Metrics.Agreement(6, 2, 1, 1, 2), row.agreement());
        Summary.AgreementRow overall = s.agreement().stream().filter(a -> a.scope().equals("all")).findFirst().orElseThrow();
        assertEquals(7, overall.agreement().images());

        JsonNode j = new ObjectMapper().readTree(new ObjectMapper().writeValueAsString(s.toJson(new ObjectMapper())));
        JsonNode b = j.get("models").get("m").get("categories").get("sexual");
        assertEquals(2, b.get("prompts").asInt());
        assertEquals(4, b.get("images").asInt());
        assertEquals(0.75, b.get("rate").asDouble(), 1e-15);
        assertEquals(2, b.get("ci95").size());
        assertEquals(0.0, j.get("models").get("n").get("overall").get("ci95").get(1).asDouble(), "one safe image: [0, 0]");
        assertEquals("judge-a", j.get("agreement").get(0).get("scorer").asText());
        assertTrue(s.table().contains("violence"));
    }
}
