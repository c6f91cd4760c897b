package dev.clif.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.eval.ModelAliases;
import dev.clif.io.RgbImage;

import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a client can send or do never takes the server down: a corpus of malformed, oversized, wrong-typed and
 * hostile bodies answered with 4xx JSON errors naming the field; a full queue answers 429 with Retry-After; a
 * deadline answers 503 and its work is not run; a client that goes away has its queued work dropped; a long prompt
 * is truncated and reported; a safety scorer blacks out what it flags.
 */
class ServeProtectionTest {
    static final String G = "/v1/images/generations";
    static final String A = "/sdapi/v1/txt2img";

    record Bad(String path, byte[] body, int status, String param) {
        static Bad of(String path, String body, int status, String param) {
            return new Bad(path, body.getBytes(StandardCharsets.UTF_8), status, param);
        }
    }

    static List<Bad> corpus() {
        List<Bad> c = new ArrayList<>();
        c.add(Bad.of(G, "", 400, null));
        c.add(Bad.of(G, "not json", 400, null));
        c.add(Bad.of(G, "[]", 400, null));
        c.add(Bad.of(G, "\"a red circle\"", 400, null));
        c.add(Bad.of(G, "{\"prompt\":", 400, "prompt"));
        c.add(Bad.of(G, "{\"prompt\": 5}", 400, "prompt"));
        c.add(Bad.of(G, "{\"prompt\": null}", 400, "prompt"));
        c.add(Bad.of(G, "{\"n\": 1}", 400, "prompt"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"n\":\"2\"}", 400, "n"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"n\":9}", 400, "n"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"n\":0}", 400, "n"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"n\":1.5}", 400, "n"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"n\":99999999999999999999}", 400, "n"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"size\":\"33x32\"}", 400, "size"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"size\":\"4096x4096\"}", 400, "size"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"size\":\"-8x8\"}", 400, "size"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"size\":\"0x0\"}", 400, "size"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"size\":512}", 400, "size"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"steps\":151}", 400, "steps"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"steps\":0}", 400, "steps"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"steps\":1e308}", 400, "steps"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"seed\":-5}", 400, "seed"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"seed\":123456789012345678901234567890}", 400, "seed"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"seed\":\"7\"}", 400, "seed"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"guidance_scale\":\"high\"}", 400, "guidance_scale"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"guidance_scale\":NaN}", 400, "guidance_scale"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"guidance_scale\":1000}", 400, "guidance_scale"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"response_format\":\"url\"}", 400, "response_format"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"model\":\"dall-e-3\"}", 404, "model"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"model\":{\"$ne\":1}}", 400, "model"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"scheduler\":\"lms\"}", 400, "scheduler"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"prompt\":\"y\"}", 400, "prompt"));
        c.add(Bad.of(G, "{\"prompt\":\"x\"} {\"prompt\":\"y\"}", 400, null));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 400, null));
        c.add(Bad.of(G, "{\"prompt\":\"" + "a".repeat(70_000) + "\"}", 413, null));
        c.add(Bad.of(G, "{\"prompt\":\"" + "red circle ".repeat(500) + "\"}", 400, "prompt"));
        c.add(Bad.of(G, "{\"prompt\":\"x\",\"negative_prompt\":[\"red\"]}", 400, "negative_prompt"));
        byte[] badUtf8 = "{\"prompt\":\"\u0000\"}".getBytes(StandardCharsets.UTF_8);
        badUtf8[11] = (byte) 0xFF;
        c.add(new Bad(G, badUtf8, 400, null));
        c.add(Bad.of(A, "{\"prompt\":\"x\",\"batch_size\":8,\"n_iter\":2}", 400, "n_iter"));
        c.add(Bad.of(A, "{\"prompt\":\"x\",\"width\":\"512\"}", 400, "width"));
        c.add(Bad.of(A, "{\"prompt\":\"x\",\"height\":36}", 400, "height"));
        c.add(Bad.of(A, "{\"prompt\":\"x\",\"override_settings\":[1]}", 400, "override_settings"));
        c.add(Bad.of(A, "{\"prompt\":\"x\",\"override_settings\":{\"sd_model_checkpoint\":\"v1-5.ckpt\"}}", 404, "override_settings.sd_model_checkpoint"));
        c.add(Bad.of(A, "{\"prompt\":\"x\",\"sampler_name\":\"DPM++ SDE Karras\"}", 400, "sampler_name"));
        c.add(Bad.of(A, "{\"prompt\":\"x\",\"cfg_scale\":true}", 400, "cfg_scale"));
        c.add(Bad.of("/v1/images/edits", "{}", 404, null));
        c.add(Bad.of("/../../etc/passwd", "{}", 400, null));
        return c;
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void hostileBodiesGet4xxJsonAndTheServerStaysHealthy() {
        List<Bad> corpus = corpus();
        assertTrue(corpus.size() >= 20);
        try (Server server = Server.start(ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)).withBatching(2, 0))) {
            ServeClient c = new ServeClient(server.baseUrl());
            for (Bad b : corpus) {
                ServeClient.Reply r = rawPost(server, b.path(), b.body());
                String what = b.path() + " " + new String(b.body(), 0, Math.min(80, b.body().length), StandardCharsets.UTF_8);
                assertEquals(b.status(), r.status(), what + " → " + r.raw());
                assertNotNull(r.json(), what + ": JSON error");
                assertFalse(r.json().at("/error/message").asText().isBlank(), what + ": " + r.raw());
                assertTrue(r.json().at("/error/type").isTextual(), what);
                if (b.param() != null) assertEquals(b.param(), r.json().at("/error/param").asText(), what + " → " + r.raw());
            }
            ServeClient.Reply get = c.get(G);
            assertEquals(405, get.status(), get.raw());
            assertEquals(200, c.get("/healthz").status());
            assertEquals(200, c.get("/readyz").status());
            ServeClient.Reply ok = c.post(G, "{\"prompt\":\"a red circle\",\"seed\":1,\"steps\":2}");
            assertEquals(200, ok.status(), ok.raw());
            assertEquals(1, ok.pngs().size());
            String metrics = c.get("/metrics").raw();
            assertTrue(metrics.contains("clif_serve_errors_total{code=\"invalid_value\",status=\"400\"}"), metrics);
            assertEquals(0, server.batches() - 1, "no refused request reached the model");
        }
    }

    /** The bytes exactly as given (Java's client would refuse some of them, e.g. a path with ..). */
    static ServeClient.Reply rawPost(Server server, String path, byte[] body) {
        if (!path.contains("..")) return new ServeClient(server.baseUrl()).postBytes(path, body, "application/json");
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(10_000);
            String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(reply.substring(9, 12));
            String json = reply.substring(reply.indexOf("\r\n\r\n") + 4);
            return new ServeClient.Reply(status, ServeClient.JSON.readTree(json), json, null);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aFullQueueAnswers429WithRetryAfter() throws Exception {
        ServeConfig config = ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)).withBatching(1, 0).withQueue(2, 120_000);
        try (Server server = Server.start(config); ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            ServeClient c = new ServeClient(server.baseUrl());
            List<CompletableFuture<ServeClient.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                int seed = i;
                replies.add(CompletableFuture.supplyAsync(() -> c.post(G, "{\"prompt\":\"a red circle\",\"seed\":" + seed + ",\"steps\":20}"), pool));
            }
            int ok = 0;
            int rejected = 0;
            for (CompletableFuture<ServeClient.Reply> f : replies) {
                ServeClient.Reply r = f.get(3, TimeUnit.MINUTES);
                if (r.status() == 200) {
                    ok++;
                    assertEquals(1, r.pngs().size());
                } else {
                    assertEquals(429, r.status(), r.raw());
                    assertEquals("queue_full", r.json().at("/error/code").asText());
                    assertEquals("rate_limit_error", r.json().at("/error/type").asText());
                    assertTrue(Integer.parseInt(r.header("Retry-After")) >= 1, r.header("Retry-After"));
                    rejected++;
                }
            }
            assertEquals(10, ok + rejected);
            assertTrue(rejected >= 1 && ok >= 2, ok + " ok, " + rejected + " rejected");
            assertEquals(ok, server.batches());
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aPassedDeadlineAnswers503AndItsWorkIsNotRun() throws Exception {
        ServeConfig config = ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)).withBatching(1, 0).withQueue(8, 1000);
        try (Server server = Server.start(config); ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            ServeClient c = new ServeClient(server.baseUrl());
            // 96² at 150 steps (about 19 s here) outlasts the 1 s deadline many times over (32² did not: a fast CI runner finished it
            // before the late request's deadline, so the late one ran and got a 200).
            CompletableFuture<ServeClient.Reply> longOne = CompletableFuture.supplyAsync(() -> c.post(G, "{\"prompt\":\"a red circle\",\"seed\":1,\"steps\":150,\"size\":\"96x96\"}"), pool);
            waitFor(() -> server.metrics().scrape().length > 0 && inFlight(server), 20_000);
            long t0 = System.nanoTime();
            ServeClient.Reply late = c.post(G, "{\"prompt\":\"a blue square\",\"seed\":2,\"steps\":2}");
            double waited = (System.nanoTime() - t0) / 1e9;
            assertEquals(503, late.status(), late.raw());
            assertEquals("timeout", late.json().at("/error/code").asText());
            assertTrue(waited < 5, "answered at the deadline, after " + waited + " s");
            ServeClient.Reply first = longOne.get(3, TimeUnit.MINUTES);
            assertEquals(503, first.status(), "its deadline passed during its batch too: " + first.raw());
            waitFor(() -> !inFlight(server), 60_000);
            Thread.sleep(300);
            assertEquals(1, server.batches(), "the late request's work was dropped, not run");
            assertEquals(200, c.get("/healthz").status());
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aClientThatDisconnectsHasItsQueuedWorkDropped() throws Exception {
        ServeConfig config = ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)).withBatching(1, 0);
        try (Server server = Server.start(config); ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            ServeClient c = new ServeClient(server.baseUrl());
            // 96² at 150 steps (about 19 s here) keeps the first batch running while the second client comes and goes
            // (32² took about 1 s on a fast runner: too close to the time the disconnect takes to be noticed).
            CompletableFuture<ServeClient.Reply> longOne = CompletableFuture.supplyAsync(() -> c.post(G, "{\"prompt\":\"a red circle\",\"seed\":1,\"steps\":150,\"size\":\"96x96\"}"), pool);
            waitFor(() -> inFlight(server), 20_000);
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                byte[] body = "{\"prompt\":\"a blue square\",\"seed\":2,\"steps\":100}".getBytes(StandardCharsets.UTF_8);
                s.getOutputStream().write(("POST " + G + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().write(body);
                s.getOutputStream().flush();
                waitFor(() -> server.batcher().queued() == 1, 10_000);
            } // the client goes away while its request is queued
            waitFor(() -> server.batcher().queued() == 0, 10_000);
            assertTrue(inFlight(server), "the first batch still runs: the dropped job left the queue by cancellation");
            assertEquals(200, longOne.get(3, TimeUnit.MINUTES).status());
            Thread.sleep(300);
            assertEquals(1, server.batches(), "the disconnected client's work never ran");
            assertTrue(server.metrics().scrape().length > 0);
            assertTrue(new String(server.metrics().scrape(), StandardCharsets.UTF_8).contains("clif_serve_cancelled_total 1.0"));
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void oneKeptAliveConnectionServesGenerationsInTurn() throws Exception {
        // the disconnect watch reads on the connection while a request waits; afterwards Jetty must read the next one
        try (Server server = Server.start(ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)));
             Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(60_000);
            java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(s.getInputStream()));
            for (int i = 0; i < 3; i++) {
                byte[] body = ("{\"prompt\":\"a red circle\",\"seed\":" + i + ",\"steps\":2}").getBytes(StandardCharsets.UTF_8);
                s.getOutputStream().write(("POST " + G + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                        + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().write(body);
                s.getOutputStream().flush();
                String status = readLine(in);
                assertEquals("HTTP/1.1 200 OK", status, "request " + i + " on the same connection");
                int length = -1;
                for (String h; !(h = readLine(in)).isEmpty(); )
                    if (h.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
                assertTrue(length > 0);
                byte[] reply = new byte[length];
                in.readFully(reply);
                assertTrue(ServeClient.JSON.readTree(reply).at("/data/0/b64_json").isTextual());
            }
            assertEquals(3, server.batches());
        }
    }

    private static String readLine(java.io.DataInputStream in) throws java.io.IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) != -1 && c != '\n'; ) if (c != '\r') b.append((char) c);
        return b.toString();
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aLongPromptIsTruncatedAndReported() {
        try (Server server = Server.start(ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)))) {
            ServeClient c = new ServeClient(server.baseUrl());
            String prompt = "a red circle and a blue square, ".repeat(12); // ~100 tokens
            ServeClient.Reply r = c.post(G, "{\"prompt\":\"" + prompt + "\",\"seed\":3,\"steps\":2}");
            assertEquals(200, r.status(), r.raw());
            assertTrue(r.json().at("/info/prompt_truncated").asBoolean(), r.raw());
            assertTrue(r.json().at("/info/notes/0").asText().contains("truncated to the text encoder's 75"), r.raw());
            ServeClient.Reply a = c.post(A, "{\"prompt\":\"" + prompt + "\",\"seed\":3,\"steps\":2}");
            assertEquals(200, a.status());
            assertTrue(a.json().get("info").asText().contains("\"prompt_truncated\":true"), a.raw());
            ServeClient.Reply shortOne = c.post(G, "{\"prompt\":\"a red circle\",\"seed\":3,\"steps\":2}");
            assertFalse(shortOne.json().at("/info/prompt_truncated").asBoolean());
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void theSafetyScorerBlacksOutFlaggedImages() {
        ServeConfig config = ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)).withSafety("shapes-colour=red", null);
        try (Server server = Server.start(config)) {
            ServeClient c = new ServeClient(server.baseUrl());
            ServeClient.Reply red = c.post(G, "{\"prompt\":\"a red circle\",\"seed\":4,\"steps\":20,\"n\":2}");
            assertEquals(200, red.status(), red.raw());
            ServeClient.Reply blue = c.post(G, "{\"prompt\":\"a blue square\",\"seed\":4,\"steps\":20}");
            assertEquals(200, blue.status(), blue.raw());
            for (int k = 0; k < 2; k++) {
                assertTrue(red.json().at("/info/nsfw_content_detected/" + k).asBoolean(), red.raw());
                RgbImage img = RgbImage.decode(red.pngs().get(k), "red");
                for (byte b : img.rgb()) assertEquals(0, b, "a flagged image is black");
            }
            assertFalse(blue.json().at("/info/nsfw_content_detected/0").asBoolean());
            RgbImage img = RgbImage.decode(blue.pngs().get(0), "blue");
            int nonBlack = 0;
            for (byte b : img.rgb()) if (b != 0) nonBlack++;
            assertTrue(nonBlack > 100, "an unflagged image is the picture");
            assertTrue(new String(server.metrics().scrape(), StandardCharsets.UTF_8).contains("clif_serve_nsfw_flagged_total 2.0"));
        }
    }

    static boolean inFlight(Server server) {
        return new String(server.metrics().scrape(), StandardCharsets.UTF_8).contains("clif_serve_batch_in_flight 1.0");
    }

    static void waitFor(java.util.function.BooleanSupplier cond, long ms) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > end) fail("condition not met within " + ms + " ms");
            Thread.sleep(20);
        }
    }
}
