package dev.clif.text;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.clif.ClifException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTokenizerTest {

    private static Path tokenizerDir;
    private static ClipTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizerDir = Path.of(TestData.golden(), "tiny-sd/tokenizer");
        assertTrue(Files.isRegularFile(tokenizerDir.resolve("vocab.json")), "no tokenizer at " + tokenizerDir);
        tokenizer = ClipTokenizer.load(tokenizerDir);
    }

    @Test
    void emptyTextIsBeginAndEnd() {
        assertArrayEquals(new int[] {49406, 49407}, tokenizer.encode(""));
        long[] padded = tokenizer.encodePadded("");
        assertEquals(77, padded.length);
        assertEquals(49406, padded[0]);
        for (int i = 1; i < 77; i++) {
            assertEquals(49407, padded[i]);
        }
        assertArrayEquals(new int[] {49406, 49407}, tokenizer.encode(" \n\t "));
    }

    @Test
    void longTextIsTruncatedKeepingTheEndTokenLast() {
        String text = String.join(" ", java.util.Collections.nCopies(100, "word"));
        int[] ids = tokenizer.encode(text);
        assertEquals(102, ids.length);
        long[] padded = tokenizer.encodePadded(text);
        assertEquals(77, padded.length);
        assertEquals(49406, padded[0]);
        assertEquals(49407, padded[76]);
        for (int i = 1; i < 76; i++) {
            assertEquals(ids[i], padded[i]);
        }
        // exactly 75 text tokens fit without truncation
        String fits = String.join(" ", java.util.Collections.nCopies(75, "word"));
        long[] row = tokenizer.encodePadded(fits);
        assertEquals(tokenizer.encode(fits).length, 77);
        assertEquals(49407, row[76]);
        assertEquals(ids[75], row[75]);
    }

    @Test
    void shortTextIsPaddedWithThePadId() {
        long[] row = tokenizer.encodePadded("a photo of an astronaut riding a horse");
        assertArrayEquals(new long[] {49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 49407},
                Arrays.copyOf(row, 10));
        for (int i = 10; i < 77; i++) {
            assertEquals(tokenizer.padId(), row[i]);
        }
    }

    @Test
    void specialTokensWrittenInTheTextAreKept() {
        assertArrayEquals(new int[] {49406, 49406, 320, 49407, 49407},
                tokenizer.encode("<|startoftext|>a<|endoftext|>"));
        // after cleaning (upper case, fullwidth brackets) the pre-tokeniser still finds them
        assertArrayEquals(new int[] {49406, 320, 49407, 49407}, tokenizer.encode("a <|ENDOFTEXT|>"));
        assertArrayEquals(new int[] {49406, 320, 49407, 49407}, tokenizer.encode("a \uff1c|endoftext|\uff1e"));
    }

    @Test
    void preTokeniserFollowsTheCaseInsensitiveRegexModule() {
        // U+0345 (case variants: iota) matches no alternative of the reference pattern and is dropped
        assertArrayEquals(tokenizer.encode("x y"), tokenizer.encode("x\u0345y"));
        // the contractions match case-insensitively, long s included
        assertArrayEquals(tokenizer.encode("it's"), tokenizer.encode("IT'S"));
        assertEquals(List.of("<|startoftext|>", "it</w>", "'", "\u00c5", "\u00bf</w>", "<|endoftext|>"),
                tokenizer.tokens("it'\u017f"));
    }

    @Test
    void encodingIsThreadSafe() throws Exception {
        List<String> texts = List.of("a photo of a cat", "caf\u00c3\u00a9 and \u00e2\u20ac\u0153quotes\u00e2\u20ac\u009d",
                "\u6771\u4eac\u30bf\u30ef\u30fc", "supercalifragilisticexpialidocious");
        List<int[]> expected = texts.stream().map(tokenizer::encode).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int r = 0; r < 50; r++) {
                        for (int i = 0; i < texts.size(); i++) {
                            if (!Arrays.equals(expected.get(i), tokenizer.encode(texts.get(i)))) {
                                return false;
                            }
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void bpeCacheIsBounded() {
        BytePairEncoder bpe = new BytePairEncoder(java.util.Map.of("a b</w>", 0, "a b", 1), java.util.Set.of(), 10);
        for (int i = 0; i < 100; i++) {
            bpe.encode("w" + i);
        }
        assertTrue(bpe.cacheEntries() <= 10);
        assertEquals(List.of("ab</w>"), bpe.encode("ab"));
        assertEquals(List.of("ab", "c</w>"), bpe.encode("abc"));
    }

    @Test
    void missingVocabIsAClearError(@TempDir Path dir) throws IOException {
        Files.copy(tokenizerDir.resolve("merges.txt"), dir.resolve("merges.txt"));
        ClifException e = assertThrows(ClifException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("vocab.json") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void missingMergesIsAClearError(@TempDir Path dir) throws IOException {
        Files.copy(tokenizerDir.resolve("vocab.json"), dir.resolve("vocab.json"));
        ClifException e = assertThrows(ClifException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void corruptFilesAreClearErrors(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 1,", StandardCharsets.UTF_8);
        Files.copy(tokenizerDir.resolve("merges.txt"), dir.resolve("merges.txt"));
        ClifException e = assertThrows(ClifException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("vocab.json") && e.getMessage().contains("not valid JSON"),
                e.getMessage());

        Files.copy(tokenizerDir.resolve("vocab.json"), dir.resolve("vocab.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(dir.resolve("tokenizer_config.json"), "[1, 2", StandardCharsets.UTF_8);
        e = assertThrows(ClifException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 77}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        e = assertThrows(ClifException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt") && e.getMessage().contains("no merges"), e.getMessage());
    }

    @Test
    void missingFolderIsAClearError(@TempDir Path dir) {
        ClifException e = assertThrows(ClifException.class, () -> ClipTokenizer.load(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    @Test
    void decodeUndoesEncodeAndSkipsSpecialTokens() {
        for (String text : new String[] {"a photo of an astronaut riding a horse", "naïve café, 3 dogs!", "über 🔥 fire"}) {
            int[] ids = tokenizer.encode(text);
            String back = tokenizer.decode(ids);
            assertArrayEquals(ids, tokenizer.encode(back), "decode then encode gives the ids back: '" + back + "'");
        }
        assertEquals("a red circle", tokenizer.decode(tokenizer.encode("A red   circle")), "lower-cased and cleaned as encoded, specials skipped");
        assertEquals("", tokenizer.decode(new int[] {tokenizer.bosId(), tokenizer.eosId(), tokenizer.padId()}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {1 << 20}));
    }
}
