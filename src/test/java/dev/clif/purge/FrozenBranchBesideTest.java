package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.model.UNet;
import dev.clif.model.Vae;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.KernelRoutes;
import dev.clif.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The frozen branch computed beside the trainable one gives the sequential step's loss, embeddings and gradients. */
class FrozenBranchBesideTest {
    static final Path GOLDEN = Path.of(TestData.golden());
    static final String SWITCH = "clif.purge.frozenBeside";

    int threadsBefore;

    @BeforeEach
    void twoThreads() {
        threadsBefore = Device.threads();
        Device.setThreads(2);
        // fixed kernels: calibrated routes may pick other kernels at 1 and 2 threads, which round differently
        KernelRoutes.setOverride("dense=blas,attention=matmul,conv=onednn,conv1x1=onednn");
    }

    @AfterEach
    void restore() {
        System.clearProperty(SWITCH);
        KernelRoutes.setOverride("");
        Device.setThreads(threadsBefore);
    }

    record Step(PurgeStep.Output out, float[] grads) {}

    @Test
    void besideEqualsOneAfterTheOther() {
        try (Models f = new Models()) {
            System.setProperty(SWITCH, "false");
            assertFalse(FrozenBranchBeside.applies(Device.CPU));
            Step sequential = f.step();
            System.setProperty(SWITCH, "true");
            assertTrue(FrozenBranchBeside.applies(Device.CPU));
            Step beside = f.step();
            assertEquals(2, Device.threads(), "the step restores libtorch's thread count");
            Step again = f.step();
            // the loss's size term reaches the loss on both paths
            Step sizedBeside = f.step(1.0);
            System.setProperty(SWITCH, "false");
            Step sized = f.step(1.0);
            assertTrue(sized.out.loss() > sequential.out.loss(), "the size term adds to the loss");
            assertEquals(sized.out.loss(), sizedBeside.out.loss(), 1e-5 * Math.abs(sized.out.loss()));

            // the forwards run at another thread count, whose reductions round differently: equal to float precision
            assertEquals(sequential.out.loss(), beside.out.loss(), 1e-5 * Math.abs(sequential.out.loss()));
            for (int r = 0; r < sequential.out.imageEmbedsFrozen().length; r++) {
                float tol = (float) (1e-5 * maxAbs(sequential.out.imageEmbedsFrozen()[r]));
                assertArrayEquals(sequential.out.imageEmbedsFrozen()[r], beside.out.imageEmbedsFrozen()[r], tol, "E_I(θ0) row " + r);
                assertArrayEquals(sequential.out.imageEmbedsTrain()[r], beside.out.imageEmbedsTrain()[r], tol, "E_I(θ) row " + r);
            }
            double scale = 0;
            for (float g : sequential.grads) scale = Math.max(scale, Math.abs(g));
            assertTrue(scale > 0, "the step reaches the trainable parameters");
            assertArrayEquals(sequential.grads, beside.grads, (float) (1e-4 * scale), "parameter gradients");
            // the same threads give the same bits every time
            assertEquals(beside.out.loss(), again.out.loss(), 0.0);
            assertArrayEquals(beside.grads, again.grads, 0f);
        }
    }

    @Test
    void aFailureOfTheFrozenBranchReachesTheCallerAndTheThreadsAreRestored() {
        try (Models f = new Models()) {
            System.setProperty(SWITCH, "true");
            f.frozen.close();
            AtomicReference<RuntimeException> thrown = new AtomicReference<>();
            thrown.set(assertThrows(RuntimeException.class, f::step));
            assertNotNull(thrown.get().getMessage());
            assertEquals(2, Device.threads());
        }
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    /** tiny-sd + tiny-clip, θ moved away from θ0 so that the loss has a gradient. */
    static final class Models implements AutoCloseable {
        final UNet trainable = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
        final UNet frozen = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
        final Vae vae = Vae.load(GOLDEN.resolve("tiny-sd/vae"), Device.CPU, DType.F32);
        final ClipModel clip = ClipModel.load(GOLDEN.resolve("tiny-clip"), Device.CPU, DType.F32);
        final List<String> names = ParameterSelection.select(trainable.parameterNames(), List.of("xattn-kv"));

        Models() {
            for (String n : names) {
                trainable.setRequiresGrad(n, true);
                try (Tensor p = trainable.parameter(n); Tensor noise = Tensor.randn(n.hashCode(), DType.F32, Device.CPU, p.shape());
                     Tensor moved = Tensor.axpby(1, p, 0.3, noise)) {
                    trainable.setParameter(n, moved);
                }
            }
        }

        Step step() {
            return step(0);
        }

        Step step(double sizeWeight) {
            PurgeStep.Models m = new PurgeStep.Models(trainable, frozen, vae, clip, ClipImageProcessor.OPENAI_MEAN,
                    ClipImageProcessor.OPENAI_STD);
            trainable.zeroGrad();
            try (Tensor xt = Tensor.randn(3, DType.F32, Device.CPU, 2, 4, 8, 8);
                 Tensor t = Tensor.of(new long[] {400, 700}, 2);
                 Tensor ctx = Tensor.randn(4, DType.F32, Device.CPU, 2, 77, 32)) {
                float[] deltaT = new float[clip.config().projectionDim()];
                deltaT[0] = 0.6f;
                deltaT[1] = 0.8f;
                PurgeStep.Output out = PurgeStep.run(m, xt, t, 0.5, dev.clif.model.Conditioning.of(ctx), null, 0, deltaT, sizeWeight, 1.3, null);
                int total = 0;
                for (String n : names) try (Tensor g = trainable.gradient(n)) {
                    total += (int) g.numel();
                }
                float[] all = new float[total];
                int at = 0;
                for (String n : names) try (Tensor g = trainable.gradient(n)) {
                    float[] v = g.toFloatArray();
                    System.arraycopy(v, 0, all, at, v.length);
                    at += v.length;
                }
                return new Step(out, all);
            }
        }

        @Override
        public void close() {
            clip.close();
            vae.close();
            frozen.close();
            trainable.close();
        }
    }
}
