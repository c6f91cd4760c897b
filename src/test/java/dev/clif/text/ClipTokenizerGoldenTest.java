package dev.clif.text;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every string of the golden tokenizer case (cases/tokenizer.json): exact ids, unpadded and padded/truncated to
 * 77, and the token strings, against transformers' CLIPTokenizer with ftfy 6.1.1.
 */
class ClipTokenizerGoldenTest {

    private static Path golden;
    private static ClipTokenizer tokenizer;
    private static JsonNode strings;

    @BeforeAll
    static void load() throws IOException {
        golden = Path.of(TestData.golden());
        Path sidecar = golden.resolve("cases/tokenizer.json");
        assertTrue(Files.isRegularFile(sidecar), "golden data not found at " + sidecar);
        JsonNode root = new ObjectMapper().readTree(sidecar.toFile());
        tokenizer = ClipTokenizer.load(golden.resolve(root.get("model").asText()));
        strings = root.get("strings");
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    @Test
    void configMatchesTheModel() {
        assertEquals(77, tokenizer.maxLength());
        assertEquals(49406, tokenizer.bosId());
        assertEquals(49407, tokenizer.eosId());
        assertEquals(49407, tokenizer.padId());
        assertEquals(49408, tokenizer.vocabSize());
    }

    @Test
    void everyStringGivesTheReferenceIds() {
        assertEquals(40, strings.size());
        List<String> failures = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (JsonNode s : strings) {
            String text = s.get("text").asText();
            texts.add(text);
            int index = s.get("index").asInt();
            int[] expected = ints(s.get("ids"));
            int[] actual = tokenizer.encode(text);
            if (!java.util.Arrays.equals(expected, actual)) {
                failures.add("#" + index + " ids " + java.util.Arrays.toString(actual) + " != "
                        + java.util.Arrays.toString(expected));
            }
            if (s.has("ids_padded77")) {
                long[] padded = longs(s.get("ids_padded77"));
                if (!java.util.Arrays.equals(padded, tokenizer.encodePadded(text))) {
                    failures.add("#" + index + " padded ids differ");
                }
            }
            if (s.has("tokens")) {
                List<String> tokens = new ArrayList<>();
                s.get("tokens").forEach(t -> tokens.add(t.asText()));
                if (!tokens.equals(tokenizer.tokens(text))) {
                    failures.add("#" + index + " tokens " + tokenizer.tokens(text) + " != " + tokens);
                }
            }
        }
        assertEquals(List.of(), failures);

        long[][] batch = tokenizer.encodeBatch(texts);
        for (int i = 0; i < batch.length; i++) {
            assertArrayEquals(longs(strings.get(i).get("ids_padded77")), batch[i], "batch row " + i);
        }
    }
}
