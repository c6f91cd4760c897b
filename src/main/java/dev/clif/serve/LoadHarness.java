package dev.clif.serve;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayInputStream;
import java.awt.image.BufferedImage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import javax.imageio.ImageIO;

/**
 * Drives a running server over loopback: {@code clients} virtual threads send {@code requests} OpenAI image requests
 * in all (request i's body from {@code body}), each client one at a time, and every reply is classified: a valid PNG
 * of the asked size, an intended 429 (with Retry-After), or anything else (a failure: listed). What the load test
 * asserts and {@code make serve-bench} prints.
 */
public final class LoadHarness {
    /** Outcome of a run. {@code latenciesMs} are of the 200 replies, sorted. */
    public record Report(int requests, int ok, int rejected429, Map<String, Integer> failures, double[] latenciesMs, double seconds, int images) {
        public double percentile(double p) {
            if (latenciesMs.length == 0) return Double.NaN;
            int i = (int) Math.ceil(p / 100.0 * latenciesMs.length) - 1;
            return latenciesMs[Math.max(0, Math.min(latenciesMs.length - 1, i))];
        }

        public double imagesPerSecond() {
            return images / seconds;
        }

        public int failed() {
            return failures.values().stream().mapToInt(Integer::intValue).sum();
        }

        public String line(String label) {
            return String.format(java.util.Locale.ROOT, "%-22s %6d req %6d ok %6d 429 %4d failed %8.2f img/s  p50 %7.0f ms  p95 %7.0f ms  p99 %7.0f ms  (%.1f s)",
                    label, requests, ok, rejected429, failed(), imagesPerSecond(), percentile(50), percentile(95), percentile(99), seconds);
        }
    }

    private LoadHarness() {}

    public static Report run(String baseUrl, int clients, int requests, int width, int height, IntFunction<String> body, Duration perRequest) {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        URI uri = URI.create(baseUrl + "/v1/images/generations");
        AtomicInteger next = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger images = new AtomicInteger();
        AtomicInteger r429 = new AtomicInteger();
        Map<String, Integer> failures = new ConcurrentHashMap<>();
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++) {
                pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < requests; i = next.getAndIncrement()) {
                        HttpRequest req = HttpRequest.newBuilder(uri).timeout(perRequest).header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body.apply(i))).build();
                        long s = System.nanoTime();
                        try {
                            HttpResponse<byte[]> resp = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
                            double ms = (System.nanoTime() - s) / 1e6;
                            if (resp.statusCode() == 200) {
                                int n = validPngs(resp.body(), width, height);
                                if (n > 0) {
                                    ok.incrementAndGet();
                                    images.addAndGet(n);
                                    latencies.add(ms);
                                } else {
                                    failures.merge("200 without valid PNGs", 1, Integer::sum);
                                }
                            } else if (resp.statusCode() == 429 && resp.headers().firstValue("Retry-After").isPresent()
                                    && errorJson(resp.body())) {
                                r429.incrementAndGet();
                            } else {
                                failures.merge("HTTP " + resp.statusCode() + ": " + new String(resp.body(), 0, Math.min(200, resp.body().length)), 1, Integer::sum);
                            }
                        } catch (Exception e) {
                            failures.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1, Integer::sum);
                        }
                    }
                    return null;
                });
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double[] lat = latencies.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(lat);
        return new Report(requests, ok.get(), r429.get(), new TreeMap<>(failures), lat, seconds, images.get());
    }

    /** The number of images in an OpenAI reply if every one is a PNG of the asked size, else 0. */
    static int validPngs(byte[] body, int width, int height) {
        try {
            JsonNode data = Http.JSON.readTree(body).get("data");
            if (data == null || !data.isArray() || data.isEmpty()) return 0;
            for (JsonNode d : data) {
                byte[] png = Base64.getDecoder().decode(d.get("b64_json").asText());
                if (png.length < 8 || (png[0] & 0xFF) != 0x89 || png[1] != 'P' || png[2] != 'N' || png[3] != 'G') return 0;
                BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
                if (img == null || img.getWidth() != width || img.getHeight() != height) return 0;
            }
            return data.size();
        } catch (Exception e) {
            return 0;
        }
    }

    private static boolean errorJson(byte[] body) {
        try {
            JsonNode e = Http.JSON.readTree(body).get("error");
            return e != null && e.hasNonNull("message") && "queue_full".equals(e.path("code").asText());
        } catch (Exception e) {
            return false;
        }
    }
}
