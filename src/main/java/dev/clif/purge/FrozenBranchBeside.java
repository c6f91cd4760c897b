package dev.clif.purge;

import dev.clif.model.Conditioning;
import dev.clif.tensor.Autocast;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A CLIF step with the frozen branch (θ0's UNet, the VAE decode and the loss CLIP, all without autograd) computed on
 * a second thread while the trainable branch's forward runs on the caller's, each on half of libtorch's threads;
 * backward then runs on all of them. On a CPU with 2 or more threads this is faster than one branch after the
 * other on all threads: the step's matrix products are small (a 16×16 latent, 257 CLIP tokens), so two one-thread
 * streams keep the cores busier than one two-thread stream that meets at every operator (measured at SD-1.5 scale,
 * 128×128, 2 threads: the two forwards took 3.1 s beside each other and 4.2 s one after the other).
 *
 * <p>The numbers equal the sequential step's up to the last bits, since the forwards run at another thread count
 * (whose kernel routes and reduction orders are its own); a run with the same threads gives the same bits every
 * time. {@code -Dclif.purge.frozenBeside=false} (or {@code CLIF_PURGE_FROZEN_BESIDE=0}) turns it off.
 *
 * <p>libtorch's thread count is per OS thread (OpenMP's), so the branch has a platform thread of its own and the
 * caller must be a platform thread too. {@link Device#setThreads} also sets the count new threads start with;
 * it is restored before the step returns.
 */
final class FrozenBranchBeside {
    /** One long-lived platform thread: its libtorch thread count and thread-local state persist between steps. */
    private static final ExecutorService WORKER =
            Executors.newSingleThreadExecutor(Thread.ofPlatform().name("clif-frozen-branch").daemon(true).factory());

    private FrozenBranchBeside() {}

    /** Whether a step on {@code device}, from this thread, runs its frozen branch beside the trainable one. */
    static boolean applies(Device device) {
        return device.isCpu() && enabled() && !Thread.currentThread().isVirtual() && Device.threads() >= 2;
    }

    static boolean enabled() {
        String p = System.getProperty("clif.purge.frozenBeside");
        if (p != null) return !p.equalsIgnoreCase("false");
        String e = System.getenv("CLIF_PURGE_FROZEN_BESIDE");
        return e == null || !(e.equals("0") || e.equalsIgnoreCase("false"));
    }

    static PurgeStep.Output run(PurgeStep.Models m, Tensor xt, Tensor timestep, double alphaProd, Conditioning context,
                                Conditioning uncond, double guidance, float[] deltaT, double sizeWeight, double gap) {
        int threads = Device.threads();
        int frozenThreads = threads / 2;
        CompletableFuture<float[][]> frozen = new CompletableFuture<>();
        // The inputs are only read on the other thread; the caller owns them throughout, because it waits for it.
        WORKER.execute(() -> {
            try {
                Device.setThreads(frozenThreads);
                try (TensorScope scope = TensorScope.open()) {
                    Tensor embeds;
                    try (Autocast region = m.region(xt.device())) {
                        Tensor eps = PurgeStep.predictEps(m.frozen(), xt, timestep, context, uncond, guidance, false);
                        embeds = PurgeStep.imageEmbeds(m, PurgeStep.x0(xt, eps, alphaProd), false);
                    }
                    frozen.complete(PurgeStep.rows(embeds));
                }
            } catch (Throwable t) {
                frozen.completeExceptionally(t);
            }
        });
        try (TensorScope scope = TensorScope.open()) {
            Tensor embedsTrain;
            Device.setThreads(threads - frozenThreads);
            try {
                try (Autocast region = m.region(xt.device())) {
                    Tensor eps = PurgeStep.predictEps(m.trainable(), xt, timestep, context, uncond, guidance, true);
                    embedsTrain = PurgeStep.imageEmbeds(m, PurgeStep.x0(xt, eps, alphaProd), true);
                }
            } finally {
                awaitQuietly(frozen); // never return (and let the caller free the inputs) while the branch still reads them
                Device.setThreads(threads);
            }
            return PurgeStep.lossAndBackward(m, embedsTrain, result(frozen), deltaT, sizeWeight, gap);
        }
    }

    private static void awaitQuietly(Future<?> f) {
        boolean interrupted = false;
        while (true) {
            try {
                f.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException | CancellationException e) {
                break;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static float[][] result(Future<float[][]> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the frozen branch", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException("the frozen branch failed: " + e.getCause(), e.getCause());
        }
    }
}
