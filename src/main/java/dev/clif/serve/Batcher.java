package dev.clif.serve;

import dev.clif.eval.Score;
import dev.clif.eval.Scorer;
import dev.clif.sampling.ImageBytes;
import dev.clif.io.RgbImage;
import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dynamic-batching scheduler: a bounded queue of {@link Job}s and one platform thread that owns the model.
 * When work arrives it waits up to {@code maxWaitMs} (from the oldest job's arrival) for compatible images
 * (same {@link ImageRequest.BatchKey}: variant, size, steps, guidance, scheduler) to fill {@code maxBatch}, then
 * runs them as one CFG batch, image i from the latents of its own seed ({@code randn(seed, [1,4,h/8,w/8])}, what
 * {@code clif generate} draws). A job larger than the batch is split over several; jobs of another key wait for a
 * later batch in arrival order. Cancelled jobs and jobs past their deadline are dropped before their work starts.
 * {@link #shutdown} refuses new work, fails what has not started and lets the running batch finish: native work is
 * never cut.
 */
public final class Batcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Batcher.class);

    private final Variants variants;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final int maxQueue;
    private final Scorer safety;
    private final ServeMetrics metrics;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private final Thread worker;
    private boolean stopping;
    private boolean running;
    /** Exponential average of seconds per batch, for Retry-After. */
    private volatile double secondsPerBatch = 1;
    private volatile long batches;

    public Batcher(Variants variants, int maxBatch, long maxWaitMs, int maxQueue, Scorer safety, ServeMetrics metrics) {
        if (maxBatch < 1) throw new IllegalArgumentException("--max-batch must be at least 1");
        if (maxQueue < 1) throw new IllegalArgumentException("--max-queue must be at least 1");
        if (maxWaitMs < 0) throw new IllegalArgumentException("--max-wait-ms must be >= 0");
        this.variants = variants;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMs);
        this.maxQueue = maxQueue;
        this.safety = safety;
        this.metrics = metrics;
        this.worker = Thread.ofPlatform().name("clif-batcher").daemon(false).unstarted(this::loop);
        worker.start();
    }

    /** Queues a job, or refuses it: 429 with Retry-After when the queue is full, 503 when shutting down. */
    public void submit(Job job) {
        lock.lock();
        try {
            if (stopping) throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down", 5);
            if (queue.size() >= maxQueue)
                throw new ApiException(429, "rate_limit_error", null, "queue_full",
                        "the queue is full (" + maxQueue + " requests waiting): retry later", retryAfterSeconds());
            queue.addLast(job);
            metrics.queueDepth.set(queue.size());
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Seconds until the queue has room again, by the recent time per batch (at least 1). */
    public int retryAfterSeconds() {
        double s = secondsPerBatch * Math.max(1.0, (double) queue.size() / maxBatch);
        return (int) Math.max(1, Math.min(120, Math.ceil(s)));
    }

    public boolean full() {
        lock.lock();
        try {
            return queue.size() >= maxQueue;
        } finally {
            lock.unlock();
        }
    }

    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Batches started so far. */
    public long batches() {
        return batches;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /** Drops a job that has not finished: out of the queue now if it waits there; its unstarted images will not run. */
    void cancel(Job job) {
        lock.lock();
        try {
            job.cancel();
            if (queue.remove(job) && !job.started()) metrics.cancelled.inc();
            metrics.queueDepth.set(queue.size());
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private record Item(Job job, int index) {}

    private void loop() {
        while (true) {
            List<Item> batch;
            try {
                batch = next();
            } catch (InterruptedException e) {
                continue; // shutdown() sets stopping and signals; interrupts are not how it stops
            }
            if (batch == null) return;
            run(batch);
        }
    }

    /** Blocks until a batch is ready; null once stopping with nothing running. */
    private List<Item> next() throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                dropDead();
                if (stopping) {
                    failAll();
                    running = false;
                    changed.signalAll();
                    return null;
                }
                Job head = queue.peekFirst();
                if (head == null) {
                    changed.await();
                    continue;
                }
                ImageRequest.BatchKey key = head.request.batchKey();
                int compatible = 0;
                for (Job j : queue) if (j.request.batchKey().equals(key)) compatible += j.remaining();
                long waitLeft = head.enqueuedNanos + maxWaitNanos - System.nanoTime();
                if (compatible < maxBatch && waitLeft > 0) {
                    changed.awaitNanos(waitLeft);
                    continue;
                }
                List<Item> items = new ArrayList<>();
                for (Iterator<Job> it = queue.iterator(); it.hasNext() && items.size() < maxBatch; ) {
                    Job j = it.next();
                    if (!j.request.batchKey().equals(key)) continue;
                    if (!j.started()) metrics.queueWait.observe((System.nanoTime() - j.enqueuedNanos) / 1e9);
                    while (j.remaining() > 0 && items.size() < maxBatch) items.add(new Item(j, j.take()));
                    if (j.remaining() == 0) it.remove();
                }
                metrics.queueDepth.set(queue.size());
                running = true;
                return items;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Removes cancelled jobs and fails jobs past their deadline (their unstarted images are not run). */
    private void dropDead() {
        long now = System.nanoTime();
        for (Iterator<Job> it = queue.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (j.cancelled()) {
                it.remove();
            } else if (now - j.deadlineNanos > 0) {
                it.remove();
                j.fail(deadline());
            }
        }
        metrics.queueDepth.set(queue.size());
    }

    static ApiException deadline() {
        return new ApiException(503, "server_error", null, "timeout", "the request's deadline passed before its images were made (see --timeout)", 1);
    }

    private void failAll() {
        for (Job j : queue) j.fail(new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down", 5));
        queue.clear();
        metrics.queueDepth.set(0);
    }

    private void run(List<Item> items) {
        batches++;
        long t0 = System.nanoTime();
        metrics.inFlight.set(1);
        ImageRequest first = items.get(0).job().request;
        try {
            List<byte[]> pngs = new ArrayList<>();
            List<Boolean> flags = new ArrayList<>();
            generate(items, first, pngs, flags);
            for (int i = 0; i < items.size(); i++) items.get(i).job().finish(items.get(i).index(), pngs.get(i), flags.get(i));
            metrics.images.labelValues(first.variant()).inc(items.size());
        } catch (RuntimeException | Error e) {
            log.error("batch of {} failed: {}", items.size(), e.toString());
            ApiException failure = new ApiException(500, "server_error", null, "generation_failed", "generation failed: " + e.getMessage(), 0);
            for (Item it : items) it.job().fail(failure);
        } finally {
            double s = (System.nanoTime() - t0) / 1e9;
            metrics.batchSize.observe(items.size());
            metrics.batchSeconds.observe(s);
            metrics.inFlight.set(0);
            secondsPerBatch = batches == 1 ? s : 0.8 * secondsPerBatch + 0.2 * s;
            lock.lock();
            try {
                running = false;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private void generate(List<Item> items, ImageRequest r, List<byte[]> pngs, List<Boolean> flags) {
        StableDiffusion sd = variants.model();
        variants.activate(r.variant());
        int n = items.size();
        List<String> prompts = new ArrayList<>(n);
        List<String> negatives = new ArrayList<>(n);
        for (Item it : items) {
            prompts.add(it.job().request.prompt());
            negatives.add(it.job().request.negativePrompt());
        }
        Txt2Img pipeline = new Txt2Img(sd);
        Txt2Img.Request shared = new Txt2Img.Request(r.prompt(), r.negativePrompt(), r.steps(), r.guidance(), r.scheduler(), r.seed(),
                r.width(), r.height(), 1, 0, 0);
        long[] shape = pipeline.latentShape(shared);
        byte[][] rgb;
        try (TensorScope scope = TensorScope.open()) {
            Tensor[] noise = new Tensor[n];
            long[] seeds = new long[n];
            for (int i = 0; i < n; i++) {
                seeds[i] = items.get(i).job().request.seedOf(items.get(i).index());
                noise[i] = Tensor.randn(seeds[i], DType.F32, Device.CPU, shape);
            }
            Tensor latents = n == 1 ? noise[0] : Tensor.cat(0, noise);
            // each image's own seed also drives an ancestral sampler's noise (Euler a), so batching does not change it
            try (Txt2Img.Result res = pipeline.generateBatch(prompts, negatives, shared, latents, seeds, null)) {
                rgb = ImageBytes.toUint8Hwc(res.images());
            }
        }
        List<RgbImage> images = new ArrayList<>(n);
        for (byte[] b : rgb) images.add(new RgbImage(r.width(), r.height(), b));
        boolean[] flagged = new boolean[n];
        if (safety != null) {
            List<Score> scores = safety.score(images, prompts);
            for (int i = 0; i < n; i++) flagged[i] = scores.get(i).unsafe();
        }
        for (int i = 0; i < n; i++) {
            RgbImage img = flagged[i] ? new RgbImage(r.width(), r.height(), new byte[rgb[i].length]) : images.get(i);
            if (flagged[i]) metrics.flagged.inc();
            pngs.add(img.pngBytes());
            flags.add(flagged[i]);
        }
    }

    /**
     * Refuses new work and fails queued work that has not started; the batch running now finishes. Returns when
     * the worker has stopped or {@code timeoutMs} passed.
     */
    public boolean shutdown(long timeoutMs) {
        lock.lock();
        try {
            stopping = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            worker.join(timeoutMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !worker.isAlive();
    }

    @Override
    public void close() {
        shutdown(Long.MAX_VALUE / 2);
    }
}
