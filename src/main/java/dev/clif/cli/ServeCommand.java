package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.eval.ModelAliases;
import dev.clif.serve.ServeConfig;
import dev.clif.serve.Server;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `clif serve`: an HTTP image server (OpenAI's Images API and AUTOMATIC1111's) over one base model and its purged
 * variants, with dynamic batching. SIGTERM stops accepting, finishes the batch in flight and exits 0.
 */
@Command(name = "serve", description = "Serve a Stable Diffusion model and its purged variants over HTTP (OpenAI Images API, AUTOMATIC1111 API).")
public final class ServeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "the base diffusers Stable Diffusion folder, or 'shapes' (the shipped shapes-world model)")
    String model;

    @Option(names = "--variant", description = "NAME=DELTA.safetensors: a purge of the base served as NAME (repeatable; checked against the base at start-up)")
    List<String> variants = List.of();

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to bind (default ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "7860", description = "port (0: any free one; default ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--max-batch", defaultValue = "8", description = "images per CFG batch (default ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--max-wait-ms", defaultValue = "20", description = "how long the oldest request waits for others to fill a batch (default ${DEFAULT-VALUE})")
    long maxWaitMs;

    @Option(names = "--max-queue", defaultValue = "64", description = "requests waiting before 429 (default ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--timeout", defaultValue = "120", description = "per-request deadline in seconds: 503 past it, unstarted work dropped (default ${DEFAULT-VALUE})")
    double timeoutSeconds;

    @Option(names = "--max-size", defaultValue = "1024", description = "largest width or height (default ${DEFAULT-VALUE})")
    int maxSize;

    @Option(names = "--default-steps", defaultValue = "20", description = "steps when a request names none (default ${DEFAULT-VALUE})")
    int defaultSteps;

    @Option(names = "--safety-scorer", description = "an eval scorer spec (e.g. nudenet=320n.onnx, shapes-colour=red): flagged images are replaced by a black image")
    String safetyScorer;

    @Option(names = "--clip", description = "CLIP folder for scorers that need one (or 'shapes-clip')")
    String clip;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (half precision needs CUDA)")
    String dtype;

    @Override
    public Integer call() {
        Device d = Device.parse(device).check();
        DType t = DType.parse(dtype);
        if (t != DType.F32 && d.isCpu()) throw new ClifException("--dtype " + dtype + " needs a CUDA device (CPU runs fp32)");
        Path base = ModelAliases.resolve(model);
        if (!Files.isDirectory(base)) throw new ClifException("--model " + model + ": not a folder (a diffusers Stable Diffusion folder or 'shapes')");
        Map<String, Path> deltas = new LinkedHashMap<>();
        for (String v : variants) {
            int eq = v.indexOf('=');
            if (eq <= 0 || eq == v.length() - 1) throw new ClifException("--variant must look like NAME=DELTA.safetensors, got '" + v + "'");
            String name = v.substring(0, eq).trim();
            Path delta = Path.of(v.substring(eq + 1).trim());
            if (!Files.isRegularFile(delta)) throw new ClifException("--variant " + name + ": " + delta + ": no such delta file");
            if (deltas.put(name, delta) != null) throw new ClifException("--variant " + name + " is given twice");
        }
        if (!(timeoutSeconds > 0)) throw new ClifException("--timeout must be positive");
        ServeConfig config;
        try {
            config = new ServeConfig(host, port, base, deltas, maxBatch, maxWaitMs, maxQueue, Math.round(timeoutSeconds * 1000), maxSize,
                    defaultSteps, d, t, safetyScorer, clip == null ? null : ModelAliases.resolve(clip));
        } catch (IllegalArgumentException e) {
            throw new ClifException(e.getMessage(), e);
        }
        Server server = Server.start(config);
        // SIGTERM: drain in a thread of our own, so the JVM is not already exiting while the batch in flight finishes;
        // main then returns 0. The hook covers SIGINT and System.exit from elsewhere.
        Runtime.getRuntime().addShutdownHook(new Thread(server::stopGracefully, "clif-serve-shutdown"));
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> Thread.ofPlatform().name("clif-serve-sigterm").start(server::stopGracefully));
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // no SIGTERM handler on this platform: the shutdown hook drains instead
        }
        spec.commandLine().getOut().println("clif serve: listening on " + server.baseUrl() + " (models: "
                + String.join(", ", config.variants().isEmpty() ? List.of("base") : concat(config.variants().keySet())) + ")");
        spec.commandLine().getOut().flush();
        server.awaitStopped();
        spec.commandLine().getOut().println("clif serve: stopped");
        return 0;
    }

    private static List<String> concat(java.util.Set<String> names) {
        List<String> all = new java.util.ArrayList<>();
        all.add("base");
        all.addAll(names);
        return all;
    }
}
