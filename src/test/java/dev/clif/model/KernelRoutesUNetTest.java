package dev.clif.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.golden.Comparison;
import dev.clif.golden.GoldenRunner;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.KernelRoutes;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** tiny-sd's UNet (dense layers, both attentions, 3x3 and 1x1 convolutions) under forced and calibrated kernel routes. */
class KernelRoutesUNetTest {
    private static final Path GOLDEN = Path.of(TestData.golden());
    private static final String ALL_ONEDNN_FUSED = "dense=onednn,attention=fused,conv=onednn,conv1x1=onednn";
    private static final String ALL_BLAS_MATMUL = "dense=blas,attention=matmul,conv=blas,conv1x1=blas";
    private static final String MIXED = "dense=blas,attention=fused,conv=blas,conv1x1=onednn";

    @BeforeEach
    void emptyTable() {
        KernelRoutes.setOverride("");
        KernelRoutes.clear();
    }

    @AfterEach
    void restore() {
        KernelRoutes.setOverride("");
        KernelRoutes.clear();
    }

    private static Tensor forward(UNet unet, boolean grad) {
        Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 2, 4, 16, 16);
        Tensor ehs = Tensor.randn(2, DType.F32, Device.CPU, 2, 77, 32);
        Tensor t = Tensor.of(new float[] {10f, 900f}, 2);
        if (grad) Autograd.setRequiresGrad(ehs, true);
        return unet.forward(x, t, ehs, grad);
    }

    private static UNet tinySd() {
        return UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
    }

    @Test
    void forcedRoutesGiveTheSameOutputsWithoutTiming() {
        try (TensorScope scope = TensorScope.open(); UNet unet = tinySd()) {
            KernelRoutes.setOverride(ALL_ONEDNN_FUSED);
            Tensor a = forward(unet, false);
            KernelRoutes.setOverride(ALL_BLAS_MATMUL);
            Tensor b = forward(unet, false);
            KernelRoutes.setOverride(MIXED);
            Tensor c = forward(unet, false);
            assertEquals(List.of(), KernelRoutes.decisions(), "a forced route is not timed");
            assertTrue(a.maxAbsDiff(b) < 2e-5, "onednn/fused vs blas/matmul: max diff " + a.maxAbsDiff(b));
            assertTrue(a.maxAbsDiff(c) < 2e-5, "onednn/fused vs mixed: max diff " + a.maxAbsDiff(c));
            // Different kernels round differently: equal bits would mean the override changed nothing.
            assertTrue(a.maxAbsDiff(b) > 0, "the forced routes ran the same kernels");
        }
    }

    @Test
    void goldenForwardAndBackwardPassUnderEitherForcedRoute() {
        for (String spec : List.of(ALL_ONEDNN_FUSED, ALL_BLAS_MATMUL)) {
            KernelRoutes.setOverride(spec);
            for (String name : List.of("unet_forward", "unet_backward")) {
                List<Comparison> results = GoldenRunner.standard().run(GOLDEN.resolve("cases/" + name + ".json"), Device.CPU);
                assertFalse(results.isEmpty());
                for (Comparison r : results) assertTrue(r.pass(), spec + ": " + r.line(name));
            }
        }
    }

    @Test
    void calibrationKeepsTheFasterMeasuredRouteOfEveryShape() {
        try (TensorScope scope = TensorScope.open(); UNet unet = tinySd()) {
            KernelRoutes.setOverride(ALL_BLAS_MATMUL);
            Tensor forced = forward(unet, false);
            KernelRoutes.setOverride("");
            Tensor calibrated = forward(unet, false);
            assertTrue(forced.maxAbsDiff(calibrated) < 2e-5, "max diff " + forced.maxAbsDiff(calibrated));

            List<KernelRoutes.Decision> decisions = KernelRoutes.decisions();
            Set<String> ops = decisions.stream().map(KernelRoutes.Decision::op).collect(Collectors.toSet());
            assertEquals(Set.of("dense", "attention", "conv", "conv1x1"), ops);
            int threads = Device.threads();
            for (KernelRoutes.Decision d : decisions) {
                assertEquals(threads, d.threads(), d.key());
                assertEquals(2, d.millis().size(), d.key() + " times both routes: " + d.millis());
                double fastest = Collections.min(d.millis().values());
                assertEquals(fastest, d.millis().get(d.winner()), d.key() + " kept " + d.winner() + " of " + d.millis());
            }
            // A second forward meets only known shapes: nothing is timed again.
            String table = KernelRoutes.dump();
            Tensor again = forward(unet, false);
            assertEquals(table, KernelRoutes.dump());
            assertTrue(again.maxAbsDiff(calibrated) < 2e-5);
        }
    }

    /** d(sum of out * w)/d(ehs) for a fixed random w, through the UNet's backward. */
    private static float[] gradientOfContext(UNet unet) {
        Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 2, 4, 16, 16);
        Tensor ehs = Tensor.randn(2, DType.F32, Device.CPU, 2, 77, 32);
        Tensor t = Tensor.of(new float[] {10f, 900f}, 2);
        Autograd.setRequiresGrad(ehs, true);
        Tensor out = unet.forward(x, t, ehs, true);
        Autograd.backward(out, Tensor.randn(3, DType.F32, Device.CPU, 2, 4, 16, 16));
        return Autograd.grad(ehs).toFloatArray();
    }

    @Test
    void underAutogradEachRouteIsTimedWithItsBackwardAndTheGradientsAgree() {
        try (TensorScope scope = TensorScope.open(); UNet unet = tinySd()) {
            KernelRoutes.setOverride(ALL_BLAS_MATMUL);
            float[] forced = gradientOfContext(unet);
            KernelRoutes.setOverride("");
            float[] calibrated = gradientOfContext(unet);
            double maxAbs = 0, diff = 0;
            for (int i = 0; i < forced.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(forced[i]));
                diff = Math.max(diff, Math.abs(forced[i] - calibrated[i]));
            }
            assertTrue(maxAbs > 0, "the context gets a gradient");
            // Equal, not doubled: timing a route's backward returns gradients, it accumulates none into ehs.grad.
            assertTrue(diff <= 1e-4 * maxAbs, "calibrated vs forced gradient: max diff " + diff + " of " + maxAbs);
            List<KernelRoutes.Decision> backward = KernelRoutes.decisions().stream()
                    .filter(d -> d.key().endsWith(" backward")).toList();
            assertFalse(backward.isEmpty(), "calls autograd differentiates are keyed apart: " + KernelRoutes.dump());
            for (KernelRoutes.Decision d : backward) {
                assertEquals(2, d.millis().size(), d.key());
                assertEquals(Collections.min(d.millis().values()), d.millis().get(d.winner()), d.key());
            }
            String table = KernelRoutes.dump();
            KernelRoutes.clear();
            KernelRoutes.load(table);
            assertEquals(table, KernelRoutes.dump(), "backward keys survive a dump and load");
        }
    }

    @Test
    void threadsCalibratingTheSameShapesAtOnceAgreeAndKeepOneDecisionEach() throws Exception {
        try (UNet unet = tinySd()) {
            KernelRoutes.setOverride(ALL_BLAS_MATMUL);
            float[] reference;
            try (TensorScope scope = TensorScope.open()) {
                reference = forward(unet, false).toFloatArray();
            }
            KernelRoutes.setOverride("");
            try (TensorScope scope = TensorScope.open()) {
                forward(unet, false);
            }
            Set<String> alone = KernelRoutes.decisions().stream().map(KernelRoutes.Decision::key).collect(Collectors.toSet());
            KernelRoutes.clear();
            int threads = 3;
            List<Future<float[]>> results = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CountDownLatch start = new CountDownLatch(1);
                for (int i = 0; i < threads; i++) {
                    results.add(pool.submit(() -> {
                        start.await();
                        try (TensorScope scope = TensorScope.open()) {
                            return forward(unet, false).toFloatArray();
                        }
                    }));
                }
                start.countDown();
                for (Future<float[]> r : results) {
                    float[] out = r.get();
                    double max = 0;
                    for (int i = 0; i < out.length; i++) max = Math.max(max, Math.abs(out[i] - reference[i]));
                    assertTrue(max < 2e-5, "max diff " + max);
                }
            } finally {
                pool.shutdownNow();
            }
            Set<String> together = KernelRoutes.decisions().stream().map(KernelRoutes.Decision::key).collect(Collectors.toSet());
            assertFalse(alone.isEmpty());
            assertEquals(alone, together, "the same shapes decided, whichever thread timed them");
        }
    }

    @Test
    void theFusedKernelIsNoCandidateWhereAutogradNeedsABackward() {
        try (TensorScope scope = TensorScope.open(); UNet unet = tinySd()) {
            forward(unet, true);
            List<KernelRoutes.Decision> attention = KernelRoutes.decisions().stream().filter(d -> d.op().equals("attention")).toList();
            // Self-attention (T = S) needs no gradient here and is timed; cross-attention reads the context, which
            // requires grad, so it has one valid route and no decision.
            assertFalse(attention.isEmpty(), "self-attention without grad is calibrated");
            for (KernelRoutes.Decision d : attention) assertFalse(d.key().contains(" T=77 "), d.key());
        }
    }
}
