package dev.clif.sampling;

import dev.clif.ClifException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Set;

/**
 * The fields of a diffusers {@code scheduler_config.json} that Clif's schedulers use. A field the file does
 * not name is {@code null} here: diffusers fills it with the default of whichever scheduler class the config
 * is loaded into (DDIM defaults {@code clip_sample} to true, PNDM to nothing; Euler spaces timesteps
 * "linspace", the others "leading"), and so does {@link #withDefaultsFor(String)}.
 *
 * <p>{@code source} says where the values came from (a file, or a description) and starts every error message.
 * Unknown keys are ignored, as diffusers ignores them.
 */
public record SchedulerConfig(
        String source,
        String className,
        Integer numTrainTimesteps,
        Double betaStart,
        Double betaEnd,
        String betaSchedule,
        double[] trainedBetas,
        String predictionType,
        Integer stepsOffset,
        Boolean setAlphaToOne,
        Boolean clipSample,
        Double clipSampleRange,
        String timestepSpacing,
        Boolean skipPrkSteps,
        String interpolationType,
        Boolean useKarrasSigmas,
        Double sigmaMin,
        Double sigmaMax,
        String timestepType,
        Boolean thresholding,
        Boolean rescaleBetasZeroSnr,
        Integer solverOrder,
        String algorithmType,
        String solverType,
        Boolean lowerOrderFinal,
        Boolean eulerAtFinal,
        Boolean useLuLambdas,
        Double lambdaMinClipped,
        String varianceType) {

    public static final String FILE_NAME = "scheduler_config.json";

    static final Set<String> BETA_SCHEDULES = Set.of("linear", "scaled_linear", "squaredcos_cap_v2");
    static final Set<String> PREDICTION_TYPES = Set.of("epsilon", "v_prediction", "sample");
    static final Set<String> SPACINGS = Set.of("leading", "trailing", "linspace");
    static final Set<String> INTERPOLATIONS = Set.of("linear", "log_linear");
    static final Set<String> TIMESTEP_TYPES = Set.of("discrete", "continuous");

    // diffusers writes lambda_min_clipped = -inf as Python's json does: a bare -Infinity
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    /** The largest training schedule accepted: the schedules are arrays of this length. */
    public static final int MAX_TRAIN_TIMESTEPS = 1_000_000;

    public SchedulerConfig {
        if (source == null) source = "scheduler config";
        check(source, numTrainTimesteps == null || numTrainTimesteps > 0 && numTrainTimesteps <= MAX_TRAIN_TIMESTEPS, "num_train_timesteps",
                "must be 1 to " + MAX_TRAIN_TIMESTEPS + " (SD uses 1000), got " + numTrainTimesteps);
        check(source, betaSchedule == null || BETA_SCHEDULES.contains(betaSchedule), "beta_schedule",
                "'" + betaSchedule + "' is not supported (use one of " + sorted(BETA_SCHEDULES) + ")");
        check(source, predictionType == null || PREDICTION_TYPES.contains(predictionType), "prediction_type",
                "'" + predictionType + "' is not supported (use one of " + sorted(PREDICTION_TYPES) + ")");
        check(source, timestepSpacing == null || SPACINGS.contains(timestepSpacing), "timestep_spacing",
                "'" + timestepSpacing + "' is not supported (use one of " + sorted(SPACINGS) + ")");
        check(source, interpolationType == null || INTERPOLATIONS.contains(interpolationType), "interpolation_type",
                "'" + interpolationType + "' is not supported (use one of " + sorted(INTERPOLATIONS) + ")");
        check(source, timestepType == null || TIMESTEP_TYPES.contains(timestepType), "timestep_type",
                "'" + timestepType + "' is not supported (use one of " + sorted(TIMESTEP_TYPES) + ")");
        check(source, stepsOffset == null || stepsOffset >= 0, "steps_offset", "must be >= 0, got " + stepsOffset);
        check(source, clipSampleRange == null || clipSampleRange > 0, "clip_sample_range", "must be > 0, got " + clipSampleRange);
        if (trainedBetas != null) {
            trainedBetas = trainedBetas.clone();
            int expected = numTrainTimesteps == null ? 1000 : numTrainTimesteps;
            check(source, trainedBetas.length == expected, "trained_betas",
                    "has " + trainedBetas.length + " values but num_train_timesteps is " + expected);
            for (double b : trainedBetas)
                check(source, b > 0 && b < 1, "trained_betas", "every beta must lie in (0, 1), found " + b);
        }
        check(source, betaStart == null || (betaStart > 0 && betaStart < 1), "beta_start", "must lie in (0, 1), got " + betaStart);
        check(source, betaEnd == null || (betaEnd > 0 && betaEnd < 1), "beta_end", "must lie in (0, 1), got " + betaEnd);
    }

    @Override
    public double[] trainedBetas() {
        return trainedBetas == null ? null : trainedBetas.clone();
    }

    /** Reads {@code dir/scheduler_config.json}, or the file itself when {@code path} is a file. */
    public static SchedulerConfig read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.isRegularFile(file)) throw new ClifException(file + ": no scheduler config here");
        JsonNode node;
        try {
            node = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ClifException(file + ": not readable JSON: " + e.getMessage(), e);
        }
        return fromJson(node, file.toString());
    }

    /** Parses a JSON object (a scheduler_config.json's content); {@code source} names it in errors. */
    public static SchedulerConfig fromJson(JsonNode n, String source) {
        if (n == null || !n.isObject()) throw new ClifException(source + ": a scheduler config must be a JSON object");
        return new SchedulerConfig(source,
                string(n, source, "_class_name"),
                integer(n, source, "num_train_timesteps"),
                number(n, source, "beta_start"),
                number(n, source, "beta_end"),
                string(n, source, "beta_schedule"),
                numbers(n, source, "trained_betas"),
                string(n, source, "prediction_type"),
                integer(n, source, "steps_offset"),
                bool(n, source, "set_alpha_to_one"),
                bool(n, source, "clip_sample"),
                number(n, source, "clip_sample_range"),
                string(n, source, "timestep_spacing"),
                bool(n, source, "skip_prk_steps"),
                string(n, source, "interpolation_type"),
                bool(n, source, "use_karras_sigmas"),
                number(n, source, "sigma_min"),
                number(n, source, "sigma_max"),
                string(n, source, "timestep_type"),
                bool(n, source, "thresholding"),
                bool(n, source, "rescale_betas_zero_snr"),
                integer(n, source, "solver_order"),
                string(n, source, "algorithm_type"),
                string(n, source, "solver_type"),
                bool(n, source, "lower_order_final"),
                bool(n, source, "euler_at_final"),
                bool(n, source, "use_lu_lambdas"),
                numberOrInfinity(n, source, "lambda_min_clipped"),
                string(n, source, "variance_type"));
    }

    /**
     * This config as the scheduler of {@code kind} ("ddim", "pndm", "euler", "euler-a", "dpmpp-2m") sees it: every field the file left
     * out takes that diffusers class's default (v0.25.1 signatures). Fields that class has no use for keep
     * whatever they were.
     */
    public SchedulerConfig withDefaultsFor(String kind) {
        String k = Scheduler.normalizeKind(kind);
        boolean ddim = k.equals("ddim");
        boolean linspace = k.equals("euler") || k.equals("euler-a") || k.startsWith("dpmpp-2m");
        return new SchedulerConfig(source, className,
                or(numTrainTimesteps, 1000), or(betaStart, 0.0001), or(betaEnd, 0.02), or(betaSchedule, "linear"),
                trainedBetas, or(predictionType, "epsilon"), or(stepsOffset, 0),
                or(setAlphaToOne, ddim), // DDIM: True; PNDM: False; Euler: unused
                or(clipSample, ddim), or(clipSampleRange, 1.0),
                or(timestepSpacing, linspace ? "linspace" : "leading"),
                or(skipPrkSteps, false), or(interpolationType, "linear"), or(useKarrasSigmas, false),
                sigmaMin, sigmaMax, or(timestepType, "discrete"), or(thresholding, false),
                or(rescaleBetasZeroSnr, false),
                or(solverOrder, 2), or(algorithmType, "dpmsolver++"), or(solverType, "midpoint"),
                or(lowerOrderFinal, true), or(eulerAtFinal, false), or(useLuLambdas, false),
                or(lambdaMinClipped, Double.NEGATIVE_INFINITY), varianceType);
    }

    /**
     * This config with what a sampler name fixes: DPM++ 2M is DPMSolverMultistepScheduler with
     * {@code algorithm_type: dpmsolver++}, {@code solver_order: 2} and Karras sigmas on or off.
     */
    SchedulerConfig asDpmpp2m(boolean karras) {
        return new SchedulerConfig(source, className, numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas,
                predictionType, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, timestepSpacing, skipPrkSteps,
                interpolationType, karras, sigmaMin, sigmaMax, timestepType, thresholding, rescaleBetasZeroSnr,
                2, "dpmsolver++", solverType, lowerOrderFinal, eulerAtFinal, useLuLambdas, lambdaMinClipped, varianceType);
    }

    /** "file: field 'name' ..." — the prefix of every config error. */
    String where(String field) {
        return source + ": field '" + field + "'";
    }

    ClifException error(String field, String problem) {
        return new ClifException(where(field) + " " + problem);
    }

    // ---- parsing helpers -----------------------------------------------------------------------------

    private static void check(String source, boolean ok, String field, String problem) {
        if (!ok) throw new ClifException(source + ": field '" + field + "' " + problem);
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    private static String sorted(Set<String> s) {
        return String.join(", ", new java.util.TreeSet<>(s));
    }

    private static JsonNode field(JsonNode n, String name) {
        JsonNode v = n.get(name);
        return v == null || v.isNull() ? null : v;
    }

    private static String string(JsonNode n, String source, String name) {
        JsonNode v = field(n, name);
        if (v == null) return null;
        if (!v.isTextual()) throw new ClifException(source + ": field '" + name + "' must be a string, got " + v);
        return v.textValue();
    }

    private static Double number(JsonNode n, String source, String name) {
        JsonNode v = field(n, name);
        if (v == null) return null;
        if (!v.isNumber()) throw new ClifException(source + ": field '" + name + "' must be a number, got " + v);
        return v.doubleValue();
    }

    /** A number, or an infinity written as a JSON string ("-inf", "-Infinity") or Python's bare -Infinity. */
    private static Double numberOrInfinity(JsonNode n, String source, String name) {
        JsonNode v = field(n, name);
        if (v == null) return null;
        if (v.isNumber()) return v.doubleValue();
        if (v.isTextual()) {
            switch (v.textValue().trim().toLowerCase(java.util.Locale.ROOT)) {
                case "-inf", "-infinity" -> { return Double.NEGATIVE_INFINITY; }
                case "inf", "+inf", "infinity", "+infinity" -> { return Double.POSITIVE_INFINITY; }
                default -> { }
            }
        }
        throw new ClifException(source + ": field '" + name + "' must be a number, got " + v);
    }

    private static Integer integer(JsonNode n, String source, String name) {
        JsonNode v = field(n, name);
        if (v == null) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt())
            throw new ClifException(source + ": field '" + name + "' must be an integer, got " + v);
        return v.intValue();
    }

    private static Boolean bool(JsonNode n, String source, String name) {
        JsonNode v = field(n, name);
        if (v == null) return null;
        if (!v.isBoolean()) throw new ClifException(source + ": field '" + name + "' must be true or false, got " + v);
        return v.booleanValue();
    }

    private static double[] numbers(JsonNode n, String source, String name) {
        JsonNode v = field(n, name);
        if (v == null) return null;
        if (!v.isArray()) throw new ClifException(source + ": field '" + name + "' must be an array of numbers or null");
        double[] out = new double[v.size()];
        Iterator<JsonNode> it = v.elements();
        for (int i = 0; it.hasNext(); i++) {
            JsonNode e = it.next();
            if (!e.isNumber()) throw new ClifException(source + ": field '" + name + "' element " + i + " is not a number: " + e);
            out[i] = e.doubleValue();
        }
        return out;
    }
}
