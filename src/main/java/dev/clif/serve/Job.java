package dev.clif.serve;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One queued request: its {@code n} images are handed to batches in order ({@link #take}), and the future completes
 * when the last one is made, or exceptionally with an {@link ApiException} (deadline, shutdown, a failed batch).
 * A cancelled job (the client went away, its deadline passed) is dropped by the scheduler before any more of its
 * images start.
 */
final class Job {
    /** What a finished job gives back: PNG bytes per image, each image's seed, and whether the safety scorer flagged it. */
    record Result(List<byte[]> pngs, long[] seeds, boolean[] nsfw) {}

    final ImageRequest request;
    final long enqueuedNanos;
    final long deadlineNanos;
    final CompletableFuture<Result> future = new CompletableFuture<>();
    private final byte[][] pngs;
    private final boolean[] nsfw;
    private int assigned;
    private int finished;
    private volatile boolean cancelled;

    Job(ImageRequest request, long enqueuedNanos, long deadlineNanos) {
        this.request = request;
        this.enqueuedNanos = enqueuedNanos;
        this.deadlineNanos = deadlineNanos;
        this.pngs = new byte[request.n()][];
        this.nsfw = new boolean[request.n()];
    }

    /** Images not yet handed to a batch. */
    synchronized int remaining() {
        return request.n() - assigned;
    }

    synchronized boolean started() {
        return assigned > 0;
    }

    /** Hands out the next image's index. */
    synchronized int take() {
        return assigned++;
    }

    /** Records image {@code index}; completes the job with the last one. */
    void finish(int index, byte[] png, boolean flagged) {
        boolean done;
        synchronized (this) {
            pngs[index] = png;
            nsfw[index] = flagged;
            done = ++finished == request.n();
        }
        if (done) {
            long[] seeds = new long[request.n()];
            for (int i = 0; i < seeds.length; i++) seeds[i] = request.seedOf(i);
            future.complete(new Result(List.of(pngs), seeds, nsfw.clone()));
        }
    }

    void fail(ApiException e) {
        future.completeExceptionally(e);
    }

    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled || future.isDone();
    }
}
