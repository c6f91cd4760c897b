package dev.clif.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * What {@code GET /metrics} shows, in Prometheus' text format: requests by API and status code, images by variant,
 * errors by code, the queue depth, and histograms of batch size, batch time, queue wait and request latency.
 * Its own registry, so several servers in one JVM (tests) do not share counts.
 */
public final class ServeMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    final Counter requests = Counter.builder().name("clif_serve_requests_total").help("HTTP requests answered, by API and status code")
            .labelNames("api", "code").register(registry);
    final Counter images = Counter.builder().name("clif_serve_images_total").help("images generated, by variant")
            .labelNames("variant").register(registry);
    final Counter errors = Counter.builder().name("clif_serve_errors_total").help("error replies, by status code and error code")
            .labelNames("status", "code").register(registry);
    final Counter flagged = Counter.builder().name("clif_serve_nsfw_flagged_total").help("images the safety scorer replaced by a black image")
            .register(registry);
    final Counter cancelled = Counter.builder().name("clif_serve_cancelled_total").help("queued requests dropped unstarted because the client went away")
            .register(registry);
    final Gauge queueDepth = Gauge.builder().name("clif_serve_queue_depth").help("requests waiting for a batch").register(registry);
    final Gauge inFlight = Gauge.builder().name("clif_serve_batch_in_flight").help("1 while a batch runs").register(registry);
    final Histogram batchSize = Histogram.builder().name("clif_serve_batch_size").help("images per batch")
            .classicUpperBounds(1, 2, 3, 4, 6, 8, 12, 16, 24, 32).classicOnly().register(registry);
    final Histogram batchSeconds = Histogram.builder().name("clif_serve_batch_seconds").help("time to run one batch (denoise, decode, encode)")
            .classicOnly().register(registry);
    final Histogram queueWait = Histogram.builder().name("clif_serve_queue_wait_seconds").help("time from queueing to the start of a request's first batch")
            .classicOnly().register(registry);
    final Histogram latency = Histogram.builder().name("clif_serve_request_seconds").help("request latency, by API")
            .labelNames("api").classicOnly().register(registry);

    /** The exposition text and its content type. */
    public String contentType() {
        return writer.getContentType();
    }

    public byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
