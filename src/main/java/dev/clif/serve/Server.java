package dev.clif.serve;

import dev.clif.ClifException;
import dev.clif.eval.Scorer;
import dev.clif.eval.Scorers;
import dev.clif.eval.ScorerContext;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code clif serve}'s server: one base model and its purged variants ({@link Variants}), the dynamic-batching
 * scheduler ({@link Batcher}) and Jetty on virtual threads speaking OpenAI's Images API ({@link OpenAiApi}),
 * AUTOMATIC1111's ({@link A1111Api}) and the operational endpoints ({@link OpsApi}). Requests are validated before
 * they are queued ({@link RequestParser}); every failure a client can cause is a 4xx JSON error.
 *
 * <p>{@link #stopGracefully} (SIGTERM) stops accepting connections, lets the running batch finish and answer, fails
 * queued work with 503, then stops Jetty and frees the model: native work is never cut.
 */
public final class Server implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Server.class);

    private final ServeConfig config;
    private final Variants variants;
    private final Scorer safety;
    private final Batcher batcher;
    private final ServeMetrics metrics = new ServeMetrics();
    private final RequestParser parser;
    private final org.eclipse.jetty.server.Server jetty;
    private final ServerConnector connector;
    private final long startedSeconds = System.currentTimeMillis() / 1000;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);

    private Server(ServeConfig config) {
        this.config = config;
        this.variants = Variants.load(config.model(), config.variants(), config.device(), config.dtype());
        Scorer scorer = null;
        Batcher b = null;
        try {
            if (config.safetyScorer() != null) scorer = Scorers.create(config.safetyScorer(), new ScorerContext(config.clip(), config.device()));
            b = new Batcher(variants, config.maxBatch(), config.maxWaitMs(), config.maxQueue(), scorer, metrics);
            this.parser = new RequestParser(new java.util.LinkedHashSet<>(variants.names()), variants.model().tokenizer(),
                    variants.model().defaultImageSize(), config.maxSize(), config.defaultSteps());
            VirtualThreadPool threads = new VirtualThreadPool();
            threads.setName("clif-http");
            // Jetty's default of 200 concurrent tasks made a burst of 200 clients lose connections ("received no bytes"):
            // a waiting request holds its virtual thread, and the batcher's queue (--max-queue) is the bound that matters.
            threads.setMaxThreads(Math.max(1024, 4 * config.maxQueue() + 256));
            this.jetty = new org.eclipse.jetty.server.Server(threads);
            HttpConfiguration http = new HttpConfiguration();
            http.setSendServerVersion(false);
            http.setRequestHeaderSize(16 * 1024);
            this.connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
            connector.setHost(config.host());
            connector.setPort(config.port());
            // The accept backlog: Java's default of 50 overflowed under a burst of 200 new connections, and the kernel
            // then dropped connections the clients believed open (they read no bytes).
            connector.setAcceptQueueSize(Math.max(1024, 2 * config.maxQueue()));
            connector.setIdleTimeout(Math.max(30_000, config.timeoutMs() + 10_000));
            jetty.addConnector(connector);
            jetty.setHandler(new Router());
            jetty.setErrorHandler(new JsonErrors());
            // the batcher drains before Jetty stops; this bounds the wait for replies still being written and for
            // idle keep-alive connections, which Jetty's graceful stop would otherwise wait out
            jetty.setStopTimeout(3000);
        } catch (RuntimeException e) {
            if (b != null) b.close();
            if (scorer != null) scorer.close();
            variants.close();
            throw e;
        }
        this.safety = scorer;
        this.batcher = b;
    }

    /** Loads the model and variants, checks every delta, and starts listening. */
    public static Server start(ServeConfig config) {
        Server s = new Server(config);
        try {
            s.jetty.start();
        } catch (Exception e) {
            s.close();
            throw new ClifException("cannot listen on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        log.info("serving {} on http://{}:{}", s.variants.names(), config.host(), s.port());
        return s;
    }

    public int port() {
        return connector.getLocalPort();
    }

    public String baseUrl() {
        return "http://" + config.host() + ":" + port();
    }

    public ServeConfig config() {
        return config;
    }

    RequestParser parser() {
        return parser;
    }

    Variants variants() {
        return variants;
    }

    Batcher batcher() {
        return batcher;
    }

    ServeMetrics metrics() {
        return metrics;
    }

    long startedSeconds() {
        return startedSeconds;
    }

    boolean stopping() {
        return stopping.get();
    }

    /** Batches run so far (for tests and the harness). */
    public long batches() {
        return batcher.batches();
    }

    /** Queues {@code r} and waits for its images, its deadline, or the client going away. */
    Job.Result generate(ImageRequest r, Request request, Response response) {
        long now = System.nanoTime();
        Job job = new Job(r, now, now + TimeUnit.MILLISECONDS.toNanos(config.timeoutMs()));
        Runnable gone = () -> batcher.cancel(job);
        request.addFailureListener(failure -> gone.run());
        batcher.submit(job);
        DisconnectWatch watch = DisconnectWatch.start(request, gone);
        try {
            return job.future.get(config.timeoutMs(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            batcher.cancel(job);
            throw Batcher.deadline();
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "interrupted", "interrupted", 1);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ApiException a) throw a;
            throw new ApiException(500, "server_error", null, "generation_failed", String.valueOf(e.getCause()), 0);
        } finally {
            watch.close();
            if (watch.pipelined()) response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
    }

    /** What both APIs report besides the images: seeds, truncation and other notes, the safety verdicts. */
    ObjectNode info(ImageRequest r, Job.Result result) {
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("model", r.variant());
        o.put("prompt", r.prompt());
        o.put("negative_prompt", r.negativePrompt());
        o.put("seed", r.seed());
        ArrayNode seeds = o.putArray("all_seeds");
        for (long s : result.seeds()) seeds.add(s);
        o.put("steps", r.steps());
        o.put("guidance_scale", r.guidance());
        o.put("width", r.width());
        o.put("height", r.height());
        o.put("scheduler", r.scheduler() == null ? "default" : r.scheduler());
        ArrayNode notes = o.putArray("notes");
        r.notes().forEach(notes::add);
        o.put("prompt_truncated", r.notes().stream().anyMatch(n -> n.startsWith("prompt ")));
        ArrayNode nsfw = o.putArray("nsfw_content_detected");
        for (boolean b : result.nsfw()) nsfw.add(b);
        return o;
    }

    private final class Router extends Handler.Abstract {
        private final OpenAiApi openAi = new OpenAiApi(Server.this);
        private final A1111Api a1111 = new A1111Api(Server.this);
        private final OpsApi ops = new OpsApi(Server.this);

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            long t0 = System.nanoTime();
            String path = request.getHttpURI().getPath();
            String method = request.getMethod();
            String api = path.startsWith("/v1/") ? "openai" : path.startsWith("/sdapi/") ? "a1111" : "ops";
            int status;
            try {
                if (stopping.get() && (path.equals("/v1/images/generations") || path.equals("/sdapi/v1/txt2img"))) {
                    response.getHeaders().put(HttpHeader.CONNECTION, "close");
                    throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down", 5);
                }
                status = switch (method + " " + path) {
                    case "POST /v1/images/generations" -> openAi.generations(request, response, callback);
                    case "GET /v1/models" -> openAi.models(response, callback);
                    case "POST /sdapi/v1/txt2img" -> a1111.txt2img(request, response, callback);
                    case "GET /sdapi/v1/sd-models" -> a1111.sdModels(response, callback);
                    case "GET /healthz" -> ops.healthz(response, callback);
                    case "GET /readyz" -> ops.readyz(response, callback);
                    case "GET /metrics" -> ops.metrics(response, callback);
                    default -> throw known(path)
                            ? new ApiException(405, "invalid_request_error", null, "method_not_allowed", method + " is not allowed on " + path, 0)
                            : new ApiException(404, "invalid_request_error", null, "not_found", "no endpoint " + RequestParser.clip(path), 0);
                };
            } catch (ApiException e) {
                status = e.status();
                metrics.errors.labelValues(Integer.toString(status), String.valueOf(e.code())).inc();
                Http.error(response, callback, e);
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                status = 500;
                log.error("{} {} failed", method, path, e);
                ApiException a = new ApiException(500, "server_error", null, "internal_error", "internal error: " + e, 0);
                metrics.errors.labelValues("500", "internal_error").inc();
                if (!response.isCommitted()) Http.error(response, callback, a); else callback.failed(e);
            }
            metrics.requests.labelValues(api, Integer.toString(status)).inc();
            metrics.latency.labelValues(api).observe((System.nanoTime() - t0) / 1e9);
            return true;
        }

        private boolean known(String path) {
            return switch (path) {
                case "/v1/images/generations", "/v1/models", "/sdapi/v1/txt2img", "/sdapi/v1/sd-models", "/healthz", "/readyz", "/metrics" -> true;
                default -> false;
            };
        }
    }

    /** Jetty's own refusals (a malformed request line, headers too large) as JSON in OpenAI's shape. */
    private static final class JsonErrors extends ErrorHandler {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            Object st = request.getAttribute(ERROR_STATUS);
            Object msg = request.getAttribute(ERROR_MESSAGE);
            int status = st instanceof Integer i ? i : response.getStatus() > 0 ? response.getStatus() : 500;
            String type = status >= 500 ? "server_error" : "invalid_request_error";
            ApiException e = new ApiException(status, type, null, "http_" + status, msg == null ? "HTTP " + status : msg.toString(), 0);
            Http.json(response, callback, status, Http.errorBody(e));
            return true;
        }
    }

    /**
     * Stops accepting, lets the batch in flight finish and answer, fails queued requests with 503, then stops Jetty
     * and frees the model. Safe to call more than once and from a shutdown hook or signal handler.
     */
    public void stopGracefully() {
        if (!stopping.compareAndSet(false, true)) {
            awaitStopped();
            return;
        }
        log.info("stopping: no new connections; finishing the batch in flight");
        try {
            connector.close(); // no new connections
        } catch (RuntimeException e) {
            log.warn("closing the connector: {}", e.toString());
        }
        batcher.shutdown(Long.MAX_VALUE / 4); // waits for the running batch, fails unstarted work
        try {
            Thread.sleep(200); // the handlers of the last batch write their replies
            jetty.stop();
        } catch (Exception e) {
            log.info("Jetty stopped after its grace period ({}): idle connections were closed", e.toString());
        }
        freeResources();
        stopped.countDown();
        log.info("stopped");
    }

    /** Blocks until {@link #stopGracefully} has finished. */
    public void awaitStopped() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void freeResources() {
        if (!closed.compareAndSet(false, true)) return;
        if (safety != null) safety.close();
        variants.close();
    }

    @Override
    public void close() {
        stopGracefully();
    }
}
