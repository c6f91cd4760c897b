package dev.clif.golden;

import dev.clif.tensor.Device;
import dev.clif.text.ClipTokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** The tokenizer case: exact ids for every string, unpadded and padded/truncated to the model length. */
public final class TokenizerCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("tokenizer");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        ClipTokenizer tokenizer = ClipTokenizer.load(c.model());
        List<Comparison> out = new ArrayList<>();
        for (JsonNode s : c.sidecar().path("strings")) {
            String text = s.path("text").asText();
            String name = "strings[" + s.path("index").asInt() + "]";
            int[] ids = tokenizer.encode(text);
            long[] unpadded = new long[ids.length];
            for (int i = 0; i < ids.length; i++) unpadded[i] = ids[i];
            out.add(Comparison.exact(name + ".ids", unpadded, longs(s.path("ids"))));
            out.add(Comparison.exact(name + ".ids_padded77", tokenizer.encodePadded(text), longs(s.path("ids_padded77"))));
        }
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] v = new long[array.size()];
        for (int i = 0; i < v.length; i++) v[i] = array.get(i).asLong();
        return v;
    }
}
