package dev.clif.serve;

import dev.clif.text.ClipTokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a request body of either API into a validated {@link ImageRequest}, before anything is queued: every
 * refusal is an {@link ApiException} (400 naming the field, 404 for an unknown model, 413 for a body over
 * {@link #MAX_BODY_BYTES}). Limits: size a multiple of 8 within {@code maxSize}, steps 1–{@value #MAX_STEPS},
 * n 1–{@value #MAX_N}, prompt at most {@value #MAX_PROMPT_CHARS} characters; a prompt over the text encoder's 77
 * tokens is truncated as the pipeline does and reported in {@code notes}.
 */
public final class RequestParser {
    public static final int MAX_BODY_BYTES = 64 * 1024;
    public static final int MAX_STEPS = 150;
    public static final int MAX_N = 8;
    public static final int MAX_PROMPT_CHARS = 4000;

    /** JSON with bounded nesting and number sizes, duplicate keys refused, trailing tokens refused. */
    static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).maxNumberLength(64).maxStringLength(MAX_BODY_BYTES).build())
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Set<String> variants;
    private final ClipTokenizer tokenizer;
    private final int defaultSize;
    private final int maxSize;
    private final int defaultSteps;

    public RequestParser(Set<String> variants, ClipTokenizer tokenizer, int defaultSize, int maxSize, int defaultSteps) {
        this.variants = variants;
        this.tokenizer = tokenizer;
        this.defaultSize = defaultSize;
        this.maxSize = maxSize;
        this.defaultSteps = defaultSteps;
    }

    /** The body as a JSON object, or 400 saying where it is malformed. */
    public static ObjectNode parseObject(byte[] body) {
        if (body.length > MAX_BODY_BYTES)
            throw new ApiException(413, "invalid_request_error", null, "body_too_large", "the request body is over " + MAX_BODY_BYTES + " bytes", 0);
        if (body.length == 0) throw ApiException.invalid(null, "the request body is empty: send a JSON object");
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            String field = fieldOf(e);
            throw ApiException.invalid(field, "malformed JSON" + where + (field == null ? "" : " in field '" + field + "'") + ": " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiException.invalid(null, "unreadable body: " + e.getMessage());
        }
        if (node == null || !node.isObject()) throw ApiException.invalid(null, "the body must be a JSON object, got " + (node == null ? "nothing" : node.getNodeType().name().toLowerCase(Locale.ROOT)));
        return (ObjectNode) node;
    }

    private static String fieldOf(JsonProcessingException e) {
        try {
            var p = e.getProcessor();
            if (p instanceof com.fasterxml.jackson.core.JsonParser parser) return parser.getParsingContext().getCurrentName();
        } catch (RuntimeException ignored) {
            // no context to name
        }
        return null;
    }

    /** OpenAI's {@code POST /v1/images/generations} plus Clif's negative_prompt, seed, steps, guidance_scale, scheduler. */
    public ImageRequest openAi(ObjectNode o) {
        List<String> notes = new ArrayList<>();
        String model = optString(o, "model", Variants.BASE);
        String variant = variant(model, "model");
        String prompt = prompt(o, "prompt", notes);
        String negative = negative(o, notes);
        int n = optInt(o, "n", 1);
        if (n < 1 || n > MAX_N) throw ApiException.invalid("n", "n must be between 1 and " + MAX_N + ", got " + n);
        int[] wh = size(optString(o, "size", "auto"));
        String format = optString(o, "response_format", "b64_json");
        if (!format.equals("b64_json"))
            throw ApiException.invalid("response_format", "response_format '" + format + "' is not served: Clif returns images inline, use 'b64_json'");
        int steps = steps(optInt(o, "steps", defaultSteps), "steps");
        double guidance = guidance(optDouble(o, "guidance_scale", 7.5), "guidance_scale");
        String scheduler = scheduler(o, "scheduler");
        long seed = seed(o, "seed");
        return new ImageRequest(variant, prompt, negative, n, wh[0], wh[1], steps, guidance, scheduler, seed, notes);
    }

    /** AUTOMATIC1111's {@code POST /sdapi/v1/txt2img}; fields it has that Clif does not use are ignored. */
    public ImageRequest a1111(ObjectNode o) {
        List<String> notes = new ArrayList<>();
        String model = Variants.BASE;
        JsonNode ov = o.get("override_settings");
        if (ov != null && !ov.isNull()) {
            if (!ov.isObject()) throw ApiException.invalid("override_settings", "override_settings must be an object");
            JsonNode ck = ov.get("sd_model_checkpoint");
            if (ck != null && !ck.isNull()) {
                if (!ck.isTextual()) throw ApiException.invalid("override_settings.sd_model_checkpoint", "sd_model_checkpoint must be a string");
                model = ck.asText();
            }
        }
        String variant = variant(model, "override_settings.sd_model_checkpoint");
        String prompt = prompt(o, "prompt", notes);
        String negative = negative(o, notes);
        int batch = optInt(o, "batch_size", 1);
        int iter = optInt(o, "n_iter", 1);
        if (batch < 1 || batch > MAX_N) throw ApiException.invalid("batch_size", "batch_size must be between 1 and " + MAX_N + ", got " + batch);
        if (iter < 1 || iter > MAX_N) throw ApiException.invalid("n_iter", "n_iter must be between 1 and " + MAX_N + ", got " + iter);
        if (batch * iter > MAX_N) throw ApiException.invalid("n_iter", "batch_size × n_iter must be at most " + MAX_N + ", got " + batch * iter);
        int w = dimension(optInt(o, "width", defaultSize), "width");
        int h = dimension(optInt(o, "height", defaultSize), "height");
        int steps = steps(optInt(o, "steps", defaultSteps), "steps");
        double guidance = guidance(optDouble(o, "cfg_scale", 7.0), "cfg_scale");
        String scheduler = scheduler(o, "sampler_name");
        if (scheduler == null && o.hasNonNull("sampler_index")) scheduler = scheduler(o, "sampler_index");
        long seed = seed(o, "seed");
        return new ImageRequest(variant, prompt, negative, batch * iter, w, h, steps, guidance, scheduler, seed, notes);
    }

    private String variant(String model, String field) {
        if (!variants.contains(model))
            throw new ApiException(404, "invalid_request_error", field, "model_not_found",
                    "the model '" + clip(model) + "' does not exist; served: " + String.join(", ", variants), 0);
        return model;
    }

    private String prompt(ObjectNode o, String field, List<String> notes) {
        JsonNode p = o.get(field);
        if (p == null || p.isNull()) throw ApiException.invalid(field, field + " is required");
        if (!p.isTextual()) throw ApiException.invalid(field, field + " must be a string, got " + kind(p));
        String s = p.asText();
        checkLength(field, s);
        noteTruncation(field, s, notes);
        return s;
    }

    private String negative(ObjectNode o, List<String> notes) {
        String s = optString(o, "negative_prompt", "");
        checkLength("negative_prompt", s);
        noteTruncation("negative_prompt", s, notes);
        return s;
    }

    /** The pipeline keeps the first 75 tokens (77 with begin and end); a longer text is reported, not refused. */
    private void noteTruncation(String field, String s, List<String> notes) {
        int tokens = tokenizer.encode(s).length;
        if (tokens > tokenizer.maxLength())
            notes.add(field + " has " + (tokens - 2) + " tokens: truncated to the text encoder's " + (tokenizer.maxLength() - 2)
                    + " (" + tokenizer.maxLength() + " with begin and end)");
    }

    private static void checkLength(String field, String s) {
        if (s.length() > MAX_PROMPT_CHARS) throw ApiException.invalid(field, field + " is " + s.length() + " characters, at most " + MAX_PROMPT_CHARS + " are accepted");
    }

    private int[] size(String s) {
        if (s.equals("auto")) return new int[] {defaultSize, defaultSize};
        String[] parts = s.toLowerCase(Locale.ROOT).split("x", -1);
        if (parts.length != 2 || !parts[0].matches("[0-9]{1,5}") || !parts[1].matches("[0-9]{1,5}"))
            throw ApiException.invalid("size", "size must look like 512x512 (WIDTHxHEIGHT), got '" + clip(s) + "'");
        return new int[] {dimension(Integer.parseInt(parts[0]), "size"), dimension(Integer.parseInt(parts[1]), "size")};
    }

    private int dimension(int v, String field) {
        if (v < 8 || v > maxSize || v % 8 != 0)
            throw ApiException.invalid(field, field + " " + v + " must be a multiple of 8 between 8 and " + maxSize);
        return v;
    }

    private static int steps(int v, String field) {
        if (v < 1 || v > MAX_STEPS) throw ApiException.invalid(field, field + " must be between 1 and " + MAX_STEPS + ", got " + v);
        return v;
    }

    private static double guidance(double v, String field) {
        if (!(v >= 0 && v <= 50)) throw ApiException.invalid(field, field + " must be between 0 and 50, got " + v);
        return v;
    }

    private static String scheduler(ObjectNode o, String field) {
        String s = optString(o, field, null);
        if (s == null || s.isEmpty()) return null;
        try {
            return dev.clif.sampling.Scheduler.normalizeKind(s);
        } catch (dev.clif.ClifException e) {
            throw ApiException.invalid(field, field + " '" + clip(s) + "' is not served (known: DDIM, PNDM/PLMS, Euler, Euler a, DPM++ 2M, DPM++ 2M Karras)");
        }
    }

    private static long seed(ObjectNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return randomSeed();
        if (!n.isIntegralNumber() && !(n.isNumber() && n.asDouble() == Math.rint(n.asDouble())))
            throw ApiException.invalid(field, field + " must be an integer, got " + kind(n));
        if (n.isBigInteger() || n.isBigDecimal() && !n.canConvertToLong())
            throw ApiException.invalid(field, field + " must fit in 63 bits");
        long v = n.asLong();
        if (v == -1) return randomSeed(); // A1111: -1 = random
        if (v < 0) throw ApiException.invalid(field, field + " must be >= 0 (or -1 for a random seed), got " + v);
        if (v > Long.MAX_VALUE - MAX_N) throw ApiException.invalid(field, field + " is too large");
        return v;
    }

    private static long randomSeed() {
        return ThreadLocalRandom.current().nextLong(1L << 32);
    }

    static String optString(ObjectNode o, String field, String dflt) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw ApiException.invalid(field, field + " must be a string, got " + kind(n));
        return n.asText();
    }

    static int optInt(ObjectNode o, String field, int dflt) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber() || !(n.isIntegralNumber() || n.asDouble() == Math.rint(n.asDouble())))
            throw ApiException.invalid(field, field + " must be an integer, got " + kind(n));
        if (!n.canConvertToInt()) throw ApiException.invalid(field, field + " is out of range: " + clip(n.asText()));
        return n.asInt();
    }

    static double optDouble(ObjectNode o, String field, double dflt) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw ApiException.invalid(field, field + " must be a number, got " + kind(n));
        double v = n.asDouble();
        if (!Double.isFinite(v)) throw ApiException.invalid(field, field + " must be a finite number");
        return v;
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "the number " + clip(n.asText());
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    static String clip(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }
}
