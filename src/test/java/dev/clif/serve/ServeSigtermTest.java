package dev.clif.serve;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code clif serve} in a process of its own gets SIGTERM while a batch runs: the batch finishes and its client gets
 * its image, a request queued behind it gets 503, new connections are refused, and the process exits 0.
 */
class ServeSigtermTest {
    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void sigtermFinishesTheBatchInFlightAndExitsZero() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "dev.clif.cli.Main", "serve", "--model", "shapes", "--port", "0", "--max-batch", "1")
                .redirectErrorStream(true);
        Process p = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            String url = null;
            Matcher m = null;
            while ((line = out.readLine()) != null) {
                m = Pattern.compile("listening on (http://127\\.0\\.0\\.1:\\d+)").matcher(line);
                if (m.find()) {
                    url = m.group(1);
                    break;
                }
            }
            assertNotNull(url, "the server printed its address");
            StringBuilder rest = new StringBuilder();
            Thread drain = Thread.ofVirtual().start(() -> {
                try {
                    for (String l; (l = out.readLine()) != null; ) rest.append(l).append('\n');
                } catch (java.io.IOException closed) {
                    // the process ended
                }
            });
            ServeClient c = new ServeClient(url);
            // 96² at 150 steps (about 19 s here) is still running when the SIGTERM comes; 32² took about 1 s on a fast runner
            CompletableFuture<ServeClient.Reply> inFlight = CompletableFuture.supplyAsync(
                    () -> c.post("/v1/images/generations", "{\"prompt\":\"a red circle\",\"seed\":1,\"steps\":150,\"size\":\"96x96\"}"));
            long until = System.currentTimeMillis() + 60_000;
            while (!c.get("/metrics").raw().contains("clif_serve_batch_in_flight 1.0")) {
                assertTrue(System.currentTimeMillis() < until, "the batch started");
                Thread.sleep(20);
            }
            CompletableFuture<ServeClient.Reply> queued = CompletableFuture.supplyAsync(
                    () -> c.post("/v1/images/generations", "{\"prompt\":\"a blue square\",\"seed\":2,\"steps\":150}"));
            Thread.sleep(300);
            p.destroy(); // SIGTERM
            ServeClient.Reply done = inFlight.get(2, TimeUnit.MINUTES);
            assertEquals(200, done.status(), done.raw());
            assertEquals(1, done.pngs().size());
            ServeClient.Reply refused = queued.get(2, TimeUnit.MINUTES);
            assertEquals(503, refused.status(), refused.raw());
            assertEquals("shutting_down", refused.json().at("/error/code").asText());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exited");
            drain.join(5000);
            assertEquals(0, p.exitValue(), "exit code 0 after SIGTERM; output: " + rest);
        } finally {
            p.destroyForcibly();
        }
    }
}
