package dev.clif.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.eval.ModelAliases;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 1000 requests from 200 concurrent clients over loopback against the shapes model at 2 steps: every reply is a
 * valid PNG of the asked size or an intended 429 (JSON error, Retry-After), none lost, and the server healthy after.
 */
class ServeLoadTest {
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void thousandRequestsFromTwoHundredClients() {
        ServeConfig config = ServeConfig.defaults(ModelAliases.resolve(ModelAliases.SHAPES)).withBatching(8, 20).withQueue(64, 300_000);
        try (Server server = Server.start(config)) {
            LoadHarness.Report r = LoadHarness.run(server.baseUrl(), 200, 1000, 32, 32,
                    i -> "{\"prompt\":\"a " + (i % 2 == 0 ? "red circle" : "blue square") + "\",\"seed\":" + i + ",\"steps\":2}", Duration.ofMinutes(5));
            long batches = server.batches();
            System.out.println(r.line("load test") + String.format(java.util.Locale.ROOT, "  %d batches, %.2f images/batch", batches,
                    batches == 0 ? 0.0 : (double) r.images() / batches));
            assertEquals(java.util.Map.of(), r.failures(), "every reply a PNG or an intended 429");
            assertEquals(1000, r.ok() + r.rejected429(), "none lost");
            assertEquals(r.ok(), r.images());
            assertTrue(r.ok() >= 64, r.ok() + " served");
            assertTrue(batches < r.ok(), "requests were batched: " + batches + " batches for " + r.ok() + " images");
            ServeClient c = new ServeClient(server.baseUrl());
            assertEquals(200, c.get("/healthz").status());
            assertEquals(200, c.get("/readyz").status());
            String metrics = c.get("/metrics").raw();
            assertTrue(metrics.contains("clif_serve_requests_total{api=\"openai\",code=\"200\"} " + r.ok() + ".0"), metrics);
            if (r.rejected429() > 0)
                assertTrue(metrics.contains("clif_serve_requests_total{api=\"openai\",code=\"429\"} " + r.rejected429() + ".0"), metrics);
        }
    }
}
