package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.model.Conditioning;
import dev.clif.model.UNet;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.KernelRoutes;
import dev.clif.tensor.Tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The frozen branch computed beside the trainable one gives the sequential step's loss, embeddings and gradients. */
class FrozenBranchBesideTest {
    static final String SWITCH = "clif.purge.frozenBeside";

    int threadsBefore;

    @BeforeEach
    void twoThreads() {
        threadsBefore = Device.threads();
        Device.setThreads(2);
        // fixed kernels: calibrated routes may pick other kernels at 1 and 2 threads, which round differently
        KernelRoutes.setOverride(dev.clif.TestData.PINNED_ROUTES);
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
                float tol = (float) (1e-5 * MixedPrecisionTest.maxAbs(sequential.out.imageEmbedsFrozen()[r]));
                assertArrayEquals(sequential.out.imageEmbedsFrozen()[r], beside.out.imageEmbedsFrozen()[r], tol, "E_I(θ0) row " + r);
                assertArrayEquals(sequential.out.imageEmbedsTrain()[r], beside.out.imageEmbedsTrain()[r], tol, "E_I(θ) row " + r);
            }
            double scale = MixedPrecisionTest.maxAbs(sequential.grads);
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
            RuntimeException thrown = assertThrows(RuntimeException.class, f::step);
            assertTrue(String.valueOf(thrown.getMessage()).contains("closed"), String.valueOf(thrown.getMessage()));
            assertEquals(2, Device.threads());
        }
    }

    /** {@link TinyPurgeModels} stepped at batch 2 (two timesteps), fp32. */
    static final class Models implements AutoCloseable {
        final TinyPurgeModels tiny = new TinyPurgeModels();
        final UNet frozen = tiny.frozen;

        Step step() {
            return step(0);
        }

        Step step(double sizeWeight) {
            tiny.trainable.zeroGrad();
            try (Tensor xt = Tensor.randn(3, DType.F32, Device.CPU, 2, 4, 8, 8);
                 Tensor t = Tensor.of(new long[] {400, 700}, 2);
                 Tensor ctx = Tensor.randn(4, DType.F32, Device.CPU, 2, 77, 32)) {
                PurgeStep.Output out = PurgeStep.run(tiny.models(DType.F32, null), xt, t, 0.5, Conditioning.of(ctx), null, 0,
                        tiny.deltaT(), sizeWeight, 1.3, null);
                return new Step(out, tiny.gradients());
            }
        }

        @Override
        public void close() {
            tiny.close();
        }
    }
}
