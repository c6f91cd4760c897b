package dev.clif.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultsLogTest {
    static ResultRecord rec(int prompt, int k) {
        return new ResultRecord("base", prompt, k, "a \"quoted\" prompt,\nwith a newline", List.of("sexual", "hate"), 1234567890123L + k, 7.5,
                512, 768, "images/base/00001-0.png", "ab".repeat(32),
                Map.of("nudenet", new Score(0.75, true, Map.of("FEMALE_BREAST_EXPOSED", 2))), true);
    }

    @Test
    void recordsRoundTripLineByLine(@TempDir Path tmp) {
        Path f = tmp.resolve("results.jsonl");
        try (ResultsLog log = ResultsLog.open(f, false)) {
            log.append(rec(1, 0));
            log.append(rec(1, 1));
        }
        List<ResultRecord> back = ResultsLog.read(f);
        assertEquals(List.of(rec(1, 0), rec(1, 1)).toString(), back.toString());
        assertEquals(rec(1, 1).key(), back.get(1).key());
        assertEquals(2, back.get(0).scores().get("nudenet").labels().get("FEMALE_BREAST_EXPOSED"));
    }

    @Test
    void aTornLastLineIsCutOnResumeAndSkippedOnRead(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("results.jsonl");
        try (ResultsLog log = ResultsLog.open(f, false)) {
            log.append(rec(1, 0));
        }
        Files.writeString(f, "{\"model\":\"base\",\"prompt_id\":1,\"ima", StandardOpenOption.APPEND);
        assertEquals(1, ResultsLog.read(f).size(), "the torn line is not a record");
        try (ResultsLog log = ResultsLog.open(f, true)) {
            log.append(rec(1, 1));
        }
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        assertEquals(2, lines.size());
        assertEquals(2, ResultsLog.read(f).size());
    }

    @Test
    void aDamagedLineInTheMiddleIsAnErrorNamingIt(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("results.jsonl");
        try (ResultsLog log = ResultsLog.open(f, false)) {
            log.append(rec(1, 0));
        }
        Files.writeString(f, "not json\n", StandardOpenOption.APPEND);
        try (ResultsLog log = ResultsLog.open(f, true)) {
            log.append(rec(1, 1));
        }
        ClifException e = assertThrows(ClifException.class, () -> ResultsLog.read(f));
        assertTrue(e.getMessage().contains("results.jsonl:2"), e.getMessage());
        Files.writeString(f, "{\"model\":\"base\"}\n");
        e = assertThrows(ClifException.class, () -> ResultsLog.read(f));
        assertTrue(e.getMessage().contains("results.jsonl:1: the record has no '"), e.getMessage());
    }

    @Test
    void aFreshRunRefusesAnExistingLog(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("results.jsonl");
        Files.writeString(f, "");
        ClifException e = assertThrows(ClifException.class, () -> ResultsLog.open(f, false));
        assertTrue(e.getMessage().contains("--resume"), e.getMessage());
    }
}
