package dev.clif.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.eval.ModelAliases;
import dev.clif.text.ClipTokenizer;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Both APIs' bodies to one {@link ImageRequest}: defaults, mapping, limits, refusals naming the field. */
class RequestParserTest {
    static final RequestParser P = new RequestParser(new LinkedHashSet<>(List.of("base", "clif")),
            ClipTokenizer.load(ModelAliases.resolve(ModelAliases.SHAPES).resolve("tokenizer")), 32, 512, 20);

    static ImageRequest openAi(String json) {
        return P.openAi(RequestParser.parseObject(json.getBytes(StandardCharsets.UTF_8)));
    }

    static ImageRequest a1111(String json) {
        return P.a1111(RequestParser.parseObject(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void openAiDefaultsAndFields() {
        ImageRequest r = openAi("{\"prompt\":\"a red circle\"}");
        assertEquals("base", r.variant());
        assertEquals(1, r.n());
        assertEquals(32, r.width());
        assertEquals(32, r.height());
        assertEquals(20, r.steps());
        assertEquals(7.5, r.guidance());
        assertNull(r.scheduler());
        assertTrue(r.seed() >= 0 && r.seed() < (1L << 32));
        ImageRequest f = openAi("{\"model\":\"clif\",\"prompt\":\"p\",\"negative_prompt\":\"red\",\"n\":3,\"size\":\"64x48\",\"seed\":9,"
                + "\"steps\":5,\"guidance_scale\":3,\"scheduler\":\"DDIM\",\"quality\":\"hd\",\"user\":\"u\"}");
        assertEquals(new ImageRequest("clif", "p", "red", 3, 64, 48, 5, 3.0, "ddim", 9, List.of()), f);
        assertEquals(11, f.seedOf(2));
    }

    @Test
    void a1111FieldsAndSamplers() {
        ImageRequest r = a1111("{\"prompt\":\"p\",\"negative_prompt\":\"n\",\"steps\":7,\"cfg_scale\":6.5,\"width\":48,\"height\":40,\"seed\":-1,"
                + "\"batch_size\":2,\"n_iter\":3,\"sampler_name\":\"Euler\",\"restore_faces\":false,\"styles\":[],\"override_settings\":{\"sd_model_checkpoint\":\"clif\"}}");
        assertEquals("clif", r.variant());
        assertEquals(6, r.n());
        assertEquals(48, r.width());
        assertEquals(40, r.height());
        assertEquals(6.5, r.guidance());
        assertEquals("euler", r.scheduler());
        assertEquals(7.0, a1111("{\"prompt\":\"p\"}").guidance());
        assertEquals("pndm", a1111("{\"prompt\":\"p\",\"sampler_name\":\"PLMS\"}").scheduler());
        assertEquals("euler-a", a1111("{\"prompt\":\"p\",\"sampler_name\":\"Euler a\"}").scheduler());
        assertEquals("dpmpp-2m-karras", a1111("{\"prompt\":\"p\",\"sampler_name\":\"DPM++ 2M Karras\"}").scheduler());
        assertEquals(123, a1111("{\"prompt\":\"p\",\"seed\":123.0}").seed());
    }

    @Test
    void longTextsAreTruncatedAndNoted() {
        ImageRequest r = openAi("{\"prompt\":\"" + "red ".repeat(100) + "\",\"negative_prompt\":\"" + "blue ".repeat(90) + "\"}");
        assertEquals(2, r.notes().size());
        assertEquals("prompt has 100 tokens: truncated to the text encoder's 75 (77 with begin and end)", r.notes().get(0));
        assertTrue(r.notes().get(1).startsWith("negative_prompt has 90 tokens"), r.notes().get(1));
        assertTrue(openAi("{\"prompt\":\"" + "red ".repeat(75) + "\"}").notes().isEmpty(), "75 tokens fit");
    }

    @Test
    void aLongSingleWordIsBoundedInTime() {
        long t0 = System.nanoTime();
        ImageRequest r = openAi("{\"prompt\":\"" + "a".repeat(RequestParser.MAX_PROMPT_CHARS) + "\"}");
        assertFalse(r.notes().isEmpty());
        assertTrue((System.nanoTime() - t0) / 1e9 < 10, "tokenizing the longest accepted prompt");
    }

    @Test
    void refusalsNameTheField() {
        ApiException e = assertThrows(ApiException.class, () -> openAi("{\"prompt\":\"p\",\"size\":\"520x512\"}"));
        assertEquals(400, e.status());
        assertEquals("size", e.param());
        assertTrue(e.getMessage().contains("between 8 and 512"), e.getMessage());
        ApiException m = assertThrows(ApiException.class, () -> openAi("{\"prompt\":\"p\",\"model\":\"sd-xl\"}"));
        assertEquals(404, m.status());
        assertEquals("model_not_found", m.code());
        assertTrue(m.getMessage().endsWith("served: base, clif"), m.getMessage());
        ApiException big = assertThrows(ApiException.class, () -> RequestParser.parseObject(new byte[RequestParser.MAX_BODY_BYTES + 1]));
        assertEquals(413, big.status());
        ApiException dup = assertThrows(ApiException.class, () -> openAi("{\"prompt\":\"p\",\"n\":1,\"n\":2}"));
        assertEquals("n", dup.param());
    }
}
