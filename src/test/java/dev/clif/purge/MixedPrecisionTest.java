package dev.clif.purge;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.ffi.clif_h;
import dev.clif.model.AdamW;


import dev.clif.model.UNet;

import dev.clif.tensor.Autocast;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Mixed precision on the CPU (bf16 autocast; fp16 needs CUDA): the forwards really run in bf16, the trained
 * weights stay float32 and get float32 gradients close to the fp32 ones, and fp16's loss scaling round-trips.
 */
class MixedPrecisionTest {
    static final Path GOLDEN = Path.of(TestData.golden());

    @BeforeEach
    void golden() {
        Assertions.assertTrue(Files.isDirectory(GOLDEN.resolve("tiny-sd")) && Files.isDirectory(GOLDEN.resolve("tiny-clip")),
                "golden tiny models not found");
    }

    @Test
    void bf16AutocastRunsTheUNetInBf16OverFloat32Weights() {
        try (TensorScope s = TensorScope.open(); UNet u = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32)) {
            Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 2, 4, 8, 8);
            Tensor t = Tensor.of(new long[] {500, 500}, 2);
            Tensor ctx = Tensor.randn(2, DType.F32, Device.CPU, 2, 77, 32);
            Tensor full = u.forward(x, t, ctx, false);
            Tensor half;
            try (Autocast a = Autocast.open(Device.CPU, DType.BF16)) {
                assertEquals(1, Autocast.depth());
                half = u.forward(x, t, ctx, false);
            }
            assertEquals(0, Autocast.depth());
            assertEquals(DType.BF16, half.dtype(), "the UNet's last convolution ran under autocast");
            double scale = maxAbs(full.toFloatArray());
            double diff = full.maxAbsDiff(half.to(DType.F32));
            // bf16 keeps 8 mantissa bits: a real but small difference (measured 1.4% of the output's range on a Xeon
            // with AMX, 8.4% on an AMD EPYC's AVX512-BF16 kernels, whose bf16 convolutions round otherwise).
            assertTrue(diff > 1e-4 * scale && diff < 0.15 * scale, "bf16 vs fp32 difference " + diff + " of " + scale);
            for (String n : u.parameterNames()) try (Tensor p = u.parameter(n)) {
                assertEquals(DType.F32, p.dtype(), n);
            }
            // Outside the region everything is float32 again, bit for bit what it was before.
            assertEquals(0.0, full.maxAbsDiff(u.forward(x, t, ctx, false)));
        }
    }

    @Test
    void fp16OnTheCpuAndUnbalancedRegionsAreRefused() {
        ClifException e = assertThrows(ClifException.class, () -> Autocast.open(Device.CPU, DType.F16));
        assertTrue(e.getMessage().contains("fp16 autocast needs a CUDA device"), e.getMessage());
        assertThrows(ClifException.class, () -> Autocast.open(Device.CPU, DType.F32));
        NativeLibrary.load();
        assertNotEquals(0, clif_h.clif_autocast_end(), "an end without a begin fails instead of corrupting the state");
        assertEquals(0, Autocast.depth());
        try (Autocast outer = Autocast.open(Device.CPU, DType.BF16); Autocast inner = Autocast.open(Device.CPU, DType.BF16)) {
            assertEquals(2, Autocast.depth());
        }
        assertEquals(0, Autocast.depth());
    }

    /**
     * One purge step from a perturbed θ (so that ΔI is a real direction, not the tie-break): under bf16 autocast the
     * loss and the gradients of the selected float32 weights follow the fp32 step, but not exactly.
     */
    @Test
    void bf16PurgeStepTracksTheFp32Step() {
        try (TensorScope s = TensorScope.open(); Fixture f = new Fixture()) {
            StepGrads full = f.step(DType.F32, null);
            StepGrads half = f.step(DType.BF16, null);
            // ΔI is the difference of two nearby embeddings, so bf16 rounding shows in it: measured 0.99 vs 0.92 for
            // the loss and 0.989 for the gradients' cosine on this fixture; smaller perturbations of θ fare worse.
            assertEquals(full.loss, half.loss, 0.15, "bf16 loss " + half.loss + " vs fp32 " + full.loss);
            double cos = cosine(full.grads, half.grads);
            assertTrue(cos > 0.9, "cosine of bf16 and fp32 gradients " + cos);
            assertTrue(cos < 1 - 1e-9, "bf16 gradients identical to fp32: autocast did not engage");
        }
    }

    /**
     * Gradient checkpointing recomputes blocks during backward, outside the autocast region: the recomputation must
     * run in the precision of the original forward, so the gradients match those of the step without checkpointing.
     */
    @Test
    void gradientCheckpointingRecomputesUnderTheSameAutocast() {
        try (TensorScope s = TensorScope.open(); Fixture f = new Fixture()) {
            StepGrads plain = f.step(DType.BF16, null);
            f.trainable.setGradientCheckpointing(true);
            StepGrads recomputed = f.step(DType.BF16, null);
            assertEquals(plain.loss, recomputed.loss);
            // Measured 0.99998 on a Xeon, 0.99980 on an AMD EPYC: the recomputed blocks run without autograd recording,
            // which changes a few bf16 roundings; a recomputation in fp32 would land near the bf16-vs-fp32 cosine
            // (0.989), and before the recomputation restored autocast, backward failed on a dtype mismatch.
            assertTrue(cosine(plain.grads, recomputed.grads) > 0.999,
                    "bf16 gradients with checkpointing differ: cosine " + cosine(plain.grads, recomputed.grads));
        }
    }

    /**
     * fp16 loss scaling, checked in fp32 where it can be: a power-of-two scale multiplies every gradient exactly, so
     * after unscaling they equal the unscaled step's bit for bit; a scale that overflows is caught.
     */
    @Test
    void lossScalingRoundTripsExactlyAndCatchesOverflow() {
        try (TensorScope s = TensorScope.open(); Fixture f = new Fixture()) {
            StepGrads plain = f.step(DType.F32, null);
            StepGrads scaled = f.step(DType.F32, new LossScaler(1024, 0));
            assertEquals(plain.loss, scaled.loss);
            assertArrayEquals(plain.grads, scaled.grads, "unscaled gradients differ from the unscaled step");
            LossScaler huge = new LossScaler(1e38, 0);
            f.step(DType.F32, huge);
            assertTrue(f.lastOverflow, "gradients times 1e38 overflow float32 and must be reported");
            huge.update(true);
            assertEquals(5e37, huge.scale());
        }
        LossScaler grow = new LossScaler();
        for (int i = 0; i < LossScaler.GROWTH_INTERVAL; i++) grow.update(false);
        assertEquals(2 * LossScaler.INITIAL_SCALE, grow.scale());
        assertEquals(0, grow.goodSteps());
    }

    /** A short bf16 purge end to end on the CPU: finite losses, and the outputs keep the base's float32 tensors. */
    @Test
    void bf16PurgeRunsEndToEnd(@org.junit.jupiter.api.io.TempDir Path tmp) {
        PurgeConfig cfg = PurgerTest.tiny(tmp.resolve("run")).steps(3).dtype(DType.BF16).build();
        PurgeResult r = new Purger(cfg, GOLDEN.resolve("tiny-sd"), GOLDEN.resolve("tiny-clip")).run(null);
        assertEquals(3, r.history().size());
        for (PurgeListener.StepEvent e : r.history()) assertTrue(Double.isFinite(e.loss()) && Double.isFinite(e.gradNorm()), e.toString());
        try (dev.clif.io.SafetensorsFile f = dev.clif.io.SafetensorsFile.open(r.modelDir().resolve(PurgerTest.UNET_FILE))) {
            for (String n : f.names()) assertEquals(DType.F32, f.info(n).dtype(), n);
        }
    }

    private record StepGrads(double loss, float[] grads) {}

    /** {@link TinyPurgeModels} with AdamW over the trainable selection. */
    private static final class Fixture implements AutoCloseable {
        final TinyPurgeModels tiny = new TinyPurgeModels();
        final UNet trainable = tiny.trainable;
        final List<String> names = tiny.names;
        final AdamW adam = new AdamW(trainable, names, AdamW.Config.of(1e-3));
        boolean lastOverflow;

        StepGrads step(DType precision, LossScaler scaler) {
            PurgeStep.Models m = tiny.models(precision, scaler);
            Tensor xt = Tensor.randn(3, DType.F32, Device.CPU, 1, 4, 8, 8);
            Tensor t = Tensor.of(new long[] {400}, 1);
            Tensor ctx = Tensor.randn(4, DType.F32, Device.CPU, 1, 77, 32);
            adam.zeroGrad();
            double loss = PurgeStep.run(m, xt, t, 0.5, ctx, tiny.deltaT(), null).loss();
            if (scaler != null) lastOverflow = adam.unscaleGradients(scaler.scale());
            return new StepGrads(loss, tiny.gradients());
        }

        @Override
        public void close() {
            adam.close();
            tiny.close();
        }
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }
}
