package dev.clif.serve;

import dev.clif.eval.ModelAliases;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * {@code make serve-bench}: the load harness against the shipped shapes model on loopback, with dynamic batching
 * and with {@code --max-batch 1}, side by side in one run. Prints a table and writes {@code target/serve-bench.json}.
 * Arguments: {@code [clients] [requests] [steps] [max-batch] [max-wait-ms]} (default 200 1000 4 8 20).
 */
public final class ServeBench {
    private ServeBench() {}

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int requests = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int maxBatch = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        long maxWait = args.length > 4 ? Long.parseLong(args[4]) : 20;
        Path model = ModelAliases.resolve(ModelAliases.SHAPES);
        System.out.printf(Locale.ROOT, "clif serve bench: shapes model, %d clients, %d requests, %d steps, 127.0.0.1, %d cores%n",
                clients, requests, steps, Runtime.getRuntime().availableProcessors());
        ObjectNode out = Http.JSON.createObjectNode();
        out.put("clients", clients).put("requests", requests).put("steps", steps).put("cores", Runtime.getRuntime().availableProcessors());
        LoadHarness.Report batched = run(model, clients, requests, steps, maxBatch, maxWait, out, "batched");
        LoadHarness.Report single = run(model, clients, requests, steps, 1, 0, out, "max_batch_1");
        System.out.println(batched.line("--max-batch " + maxBatch));
        System.out.println(single.line("--max-batch 1"));
        double ratio = batched.imagesPerSecond() / single.imagesPerSecond();
        System.out.printf(Locale.ROOT, "dynamic batching: %.2fx the images/s of --max-batch 1%n", ratio);
        out.put("batching_ratio", ratio);
        Files.createDirectories(Path.of("target"));
        Http.JSON.writerWithDefaultPrettyPrinter().writeValue(Path.of("target/serve-bench.json").toFile(), out);
        System.out.println("wrote target/serve-bench.json");
    }

    private static LoadHarness.Report run(Path model, int clients, int requests, int steps, int maxBatch, long maxWait, ObjectNode out, String key) {
        ServeConfig config = ServeConfig.defaults(model).withBatching(maxBatch, maxWait).withQueue(Math.max(clients, 1), 600_000);
        try (Server server = Server.start(config)) {
            // warm-up: one batch's worth, not counted
            LoadHarness.run(server.baseUrl(), maxBatch, maxBatch, 32, 32, i -> body(i, steps), Duration.ofMinutes(5));
            long batches0 = server.batches();
            LoadHarness.Report r = LoadHarness.run(server.baseUrl(), clients, requests, 32, 32, i -> body(i, steps), Duration.ofMinutes(10));
            long batches = server.batches() - batches0;
            ObjectNode o = out.putObject(key);
            o.put("max_batch", maxBatch).put("max_wait_ms", maxWait).put("ok", r.ok()).put("rejected_429", r.rejected429()).put("failed", r.failed())
                    .put("images_per_second", r.imagesPerSecond()).put("p50_ms", r.percentile(50)).put("p95_ms", r.percentile(95))
                    .put("p99_ms", r.percentile(99)).put("seconds", r.seconds()).put("batches", batches)
                    .put("mean_batch", batches == 0 ? 0 : (double) r.images() / batches);
            return r;
        }
    }

    static String body(int i, int steps) {
        String[] colours = {"red", "blue", "green", "yellow"};
        String[] shapes = {"circle", "square", "triangle"};
        return "{\"prompt\":\"a " + colours[i % 4] + " " + shapes[i % 3] + "\",\"seed\":" + i + ",\"steps\":" + steps + ",\"size\":\"32x32\"}";
    }
}
