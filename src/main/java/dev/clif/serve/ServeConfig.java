package dev.clif.serve;

import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.nio.file.Path;
import java.util.Map;

/**
 * How {@code clif serve} runs. {@code model} is the base folder (already resolved from {@code shapes});
 * {@code variants} maps a served name to its delta; {@code timeoutMs} is the per-request deadline;
 * {@code safetyScorer} an eval scorer spec or null; {@code port} 0 picks a free port.
 */
public record ServeConfig(String host, int port, Path model, Map<String, Path> variants, int maxBatch, long maxWaitMs, int maxQueue,
                          long timeoutMs, int maxSize, int defaultSteps, Device device, DType dtype, String safetyScorer, Path clip) {
    public ServeConfig {
        variants = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(variants));
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be 0–65535");
        if (maxBatch < 1) throw new IllegalArgumentException("--max-batch must be at least 1");
        if (maxQueue < 1) throw new IllegalArgumentException("--max-queue must be at least 1");
        if (maxWaitMs < 0) throw new IllegalArgumentException("--max-wait-ms must be >= 0");
        if (timeoutMs < 1) throw new IllegalArgumentException("--timeout must be positive");
        if (maxSize < 8 || maxSize % 8 != 0) throw new IllegalArgumentException("--max-size must be a multiple of 8");
        if (defaultSteps < 1 || defaultSteps > RequestParser.MAX_STEPS) throw new IllegalArgumentException("--default-steps must be 1–" + RequestParser.MAX_STEPS);
    }

    /** Defaults for a model folder: 127.0.0.1, a free port, batches of 8 within 20 ms, 64 queued, 120 s deadline. */
    public static ServeConfig defaults(Path model) {
        return new ServeConfig("127.0.0.1", 0, model, Map.of(), 8, 20, 64, 120_000, 1024, 20, Device.CPU, DType.F32, null, null);
    }

    public ServeConfig withPort(int p) {
        return new ServeConfig(host, p, model, variants, maxBatch, maxWaitMs, maxQueue, timeoutMs, maxSize, defaultSteps, device, dtype, safetyScorer, clip);
    }

    public ServeConfig withVariants(Map<String, Path> v) {
        return new ServeConfig(host, port, model, v, maxBatch, maxWaitMs, maxQueue, timeoutMs, maxSize, defaultSteps, device, dtype, safetyScorer, clip);
    }

    public ServeConfig withBatching(int batch, long waitMs) {
        return new ServeConfig(host, port, model, variants, batch, waitMs, maxQueue, timeoutMs, maxSize, defaultSteps, device, dtype, safetyScorer, clip);
    }

    public ServeConfig withQueue(int queue, long timeout) {
        return new ServeConfig(host, port, model, variants, maxBatch, maxWaitMs, queue, timeout, maxSize, defaultSteps, device, dtype, safetyScorer, clip);
    }

    public ServeConfig withSafety(String spec, Path clipDir) {
        return new ServeConfig(host, port, model, variants, maxBatch, maxWaitMs, maxQueue, timeoutMs, maxSize, defaultSteps, device, dtype, spec, clipDir);
    }
}
