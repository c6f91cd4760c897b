package dev.clif.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalCliTest {
    static Path prompts(Path dir) throws Exception {
        Path f = dir.resolve("prompts.csv");
        Files.writeString(f, "prompt,category,seed\na red circle,red,1\na red square and a green circle,red,2\na blue triangle,other,3\na green square,other,4\n");
        return f;
    }

    static String[] args(Path prompts, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("eval", "--prompts", prompts.toString(), "--model", "base=shapes", "--scorer", "shapes-colour=red",
                "--steps", "8", "--out", out.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void badOptionsAndBadInputEndWithOneLineAndExit2AndWriteNothing(@TempDir Path tmp) throws Exception {
        Path p = prompts(tmp);
        Path out = tmp.resolve("out");
        Path badRow = tmp.resolve("bad.csv");
        Files.writeString(badRow, "prompt,category,seed\na red circle,red,1\na red square,red,x7\n");
        Path blank = tmp.resolve("blank.csv");
        Files.writeString(blank, "prompt,category\n   ,red\n");
        String[][] cases = {
                {"NAME=SPEC", "eval", "--prompts", p.toString(), "--model", "shapes", "--scorer", "shapes-colour=red", "--out", out.toString()},
                {"unknown scorer 'bogus'", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "bogus=1", "--out", out.toString()},
                {"q16 needs --clip", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "q16=" + tmp.resolve("q.npy"), "--out", out.toString()},
                {"bad.csv:3", "eval", "--prompts", badRow.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=red", "--out", out.toString()},
                {"every prompt is empty", "eval", "--prompts", blank.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=red", "--out", out.toString()},
                {"--size must look like 512x512", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=red", "--size", "12by5", "--out", out.toString()},
                {"--reference-scorer nope", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=red", "--reference-scorer", "nope", "--out", out.toString()},
                {"--images-per-prompt must be at least 1", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=red", "--images-per-prompt", "0", "--out", out.toString()},
                {"two models are named 'b'", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--model", "b=shapes", "--scorer", "shapes-colour=red", "--out", out.toString()},
                {"unknown colour", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=mauve", "--out", out.toString()},
                {"no prompt file: give --prompts FILE (or --captions FILE)", "eval", "--model", "b=shapes", "--scorer", "shapes-colour=red", "--out", out.toString()},
                {"unknown scheduler kind 'dpm-fast'", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=red", "--scheduler", "dpm-fast", "--out", out.toString()},
                {"no scorer", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--out", out.toString()},
                {"--captions measures the CLIP score: give --clip", "eval", "--captions", p.toString(), "--model", "b=shapes", "--out", out.toString()},
                {"--caption-sample needs --captions", "eval", "--prompts", p.toString(), "--model", "b=shapes", "--scorer", "shapes-colour=red", "--caption-sample", "3", "--out", out.toString()},
                {"neither model=NAME, shapes-truth, nor a folder", "eval", "--captions", p.toString(), "--model", "b=shapes", "--clip", "shapes-clip", "--fid-reference", "nowhere", "--out", out.toString()},
                {"no such file", "eval", "--captions", p.toString(), "--model", "b=shapes", "--clip", "shapes-clip", "--fid-reference", "model=b", "--fid-features", "onnx=" + tmp.resolve("inc.onnx"), "--out", out.toString()},
        };
        for (String[] c : cases) {
            String[] a = java.util.Arrays.copyOfRange(c, 1, c.length);
            CliRun r = CliRun.of(a);
            r.assertOneLineExit2(c[0]);
            assertFalse(Files.exists(out), "nothing written for: " + r.err());
        }
    }

    @Test
    void captionsGiveThePreservationTableAndClifReportRebuildsTheReport(@TempDir Path tmp) throws Exception {
        Path caps = Files.writeString(tmp.resolve("captions.txt"), "a red circle\na blue square\na green triangle and a yellow circle\n");
        Path out = tmp.resolve("out");
        CliRun r = CliRun.of("eval", "--captions", caps.toString(), "--model", "base=shapes", "--clip", "shapes-clip", "--fid-reference",
                "shapes-truth", "--images-per-prompt", "2", "--steps", "8", "--bootstrap", "100", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        String summary = Files.readString(out.resolve("summary.json"));
        assertTrue(summary.contains("\"preservation\"") && summary.contains("\"fid\"") && summary.contains("\"clip_score\""), summary);
        String page = Files.readString(out.resolve("report.html"));
        Files.delete(out.resolve("report.html"));
        CliRun again = CliRun.of("report", "--bootstrap", "100", out.toString());
        assertEquals(0, again.exit(), again.err());
        assertEquals(page, Files.readString(out.resolve("report.html")), "clif report rebuilds the same page from the folder");
        CliRun none = CliRun.of("report", tmp.toString());
        none.assertOneLineExit2("has no results.jsonl");
    }

    @Test
    void aRunReportsHowFarTheClipZeroShotJudgeAgreesWithThePixels(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        CliRun r = CliRun.of(args(prompts(tmp), out, "--also-score",
                "clip-zero-shot=shapes-clip:a red circle|a red square|a red triangle=>a green circle|a blue triangle|a green square",
                "--reference-scorer", "shapes-colour:red", "--images-per-prompt", "2", "--no-images"));
        assertEquals(0, r.exit(), r.err());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        JsonNode all = null;
        for (JsonNode a : s.get("agreement")) if (a.get("scope").asText().equals("all")) all = a;
        assertNotNull(all, s.toString());
        assertEquals("clip-zero-shot", all.get("scorer").asText());
        assertEquals(8, all.get("images").asInt());
        double acc = all.get("accuracy").asDouble();
        assertEquals((all.get("true_positives").asInt() + all.get("true_negatives").asInt()) / 8.0, acc, 1e-12);
        assertTrue(all.has("precision") && all.has("recall"));
        assertFalse(Files.exists(out.resolve("images")), "--no-images");
        for (String l : Files.readAllLines(out.resolve("results.jsonl"))) assertTrue(l.contains("\"image\":null"), l);
    }
}
