package dev.clif.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptionSetReaderTest {
    @Test
    void cocoStyleCsvKeepsCaseNumbersAndSeeds(@TempDir Path tmp) throws Exception {
        Path f = Files.writeString(tmp.resolve("coco_30k.csv"), """
                case_number,prompt,evaluation_seed,coco_id
                0,"A man, with a red hat, rides a bike.",2219,397133
                1,Two dogs on a beach,4406.0,37777

                7,A bowl of fruit,12,252219
                """);
        PromptSet s = CaptionSetReader.read(f, null, 0);
        assertEquals(PromptSet.Format.CAPTIONS_CSV, s.format());
        assertEquals(List.of(0, 1, 7), s.prompts().stream().map(EvalPrompt::id).toList());
        assertEquals("A man, with a red hat, rides a bike.", s.prompts().get(0).prompt());
        assertEquals(List.of(2219L, 4406L, 12L), s.prompts().stream().map(EvalPrompt::seed).toList());
        assertEquals(List.of(CaptionSetReader.CATEGORY), s.prompts().get(2).categories());
        assertEquals(5, s.prompts().get(2).line());
    }

    @Test
    void cocoJsonIsSampledWithASeedAndKeptInFileOrder(@TempDir Path tmp) throws Exception {
        StringBuilder sb = new StringBuilder("{\"info\":{},\"images\":[],\"annotations\":[");
        for (int i = 0; i < 50; i++) sb.append(i == 0 ? "" : ",").append("{\"image_id\":").append(1000 + i).append(",\"id\":").append(7 * i + 3)
                .append(",\"caption\":\" caption ").append(i).append(" \"}");
        Path f = Files.writeString(tmp.resolve("captions_val2014.json"), sb.append("]}").toString());
        PromptSet all = CaptionSetReader.read(f, null, 0);
        assertEquals(50, all.prompts().size());
        assertEquals("caption 3", all.prompts().get(3).prompt());
        assertEquals(24, all.prompts().get(3).id());
        assertEquals(24L, all.prompts().get(3).seed(), "a caption without a seed uses its id");
        PromptSet a = CaptionSetReader.read(f, 10, 5), b = CaptionSetReader.read(f, 10, 5), c = CaptionSetReader.read(f, 10, 6);
        assertEquals(10, a.prompts().size());
        assertEquals(a.prompts(), b.prompts(), "seeded");
        assertNotEquals(a.prompts(), c.prompts());
        List<Integer> ids = a.prompts().stream().map(EvalPrompt::id).toList();
        assertEquals(ids.stream().sorted().toList(), ids, "file order");
        assertEquals(10, ids.stream().distinct().count());
    }

    @Test
    void aPlainListHasOneCaptionALine(@TempDir Path tmp) throws Exception {
        Path f = Files.writeString(tmp.resolve("captions.txt"), "a red circle\n\n  a blue square  \r\na green triangle\n");
        PromptSet s = CaptionSetReader.read(f, null, 0);
        assertEquals(PromptSet.Format.CAPTION_LIST, s.format());
        assertEquals(List.of("a red circle", "a blue square", "a green triangle"), s.prompts().stream().map(EvalPrompt::prompt).toList());
        assertEquals(List.of(0, 1, 2), s.prompts().stream().map(EvalPrompt::id).toList());
        assertEquals(List.of(1, 3, 4), s.prompts().stream().map(EvalPrompt::line).toList());
    }

    @Test
    void badInputIsOneClearErrorNamingFileLineAndField(@TempDir Path tmp) throws Exception {
        Path noPrompt = Files.writeString(tmp.resolve("a.csv"), "case_number,caption\n0,x\n");
        assertTrue(msg(noPrompt).contains("a.csv:1: the header has no 'prompt' column"), msg(noPrompt));
        Path badSeed = Files.writeString(tmp.resolve("b.csv"), "case_number,prompt,evaluation_seed\n0,x,1\n1,y,abc\n");
        assertTrue(msg(badSeed).contains("b.csv:3: field 'evaluation_seed' is not a whole number: 'abc'"), msg(badSeed));
        Path empty = Files.writeString(tmp.resolve("c.csv"), "case_number,prompt\n0,\"  \"\n");
        assertTrue(msg(empty).contains("c.csv:2: field 'prompt' is empty"), msg(empty));
        Path twice = Files.writeString(tmp.resolve("d.csv"), "case_number,prompt\n4,x\n4,y\n");
        assertTrue(msg(twice).contains("d.csv:3: caption id 4 is given twice"), msg(twice));
        Path json = Files.writeString(tmp.resolve("e.json"), "{\"annotations\":[{\"id\":1,\"caption\":\"ok\"},{\"id\":2}]}");
        assertTrue(msg(json).contains("e.json: annotations[1]: field 'caption' is missing or empty"), msg(json));
        Path notCoco = Files.writeString(tmp.resolve("f.json"), "{\"images\":[]}");
        assertTrue(msg(notCoco).contains("no 'annotations' array"), msg(notCoco));
        Path blank = Files.writeString(tmp.resolve("g.txt"), "\n\n");
        assertTrue(msg(blank).contains("no captions"), msg(blank));
        assertTrue(assertThrows(ClifException.class, () -> CaptionSetReader.read(blank, 0, 0)).getMessage().contains("at least 1"));
    }

    private static String msg(Path f) {
        return assertThrows(ClifException.class, () -> CaptionSetReader.read(f, null, 0)).getMessage();
    }
}
