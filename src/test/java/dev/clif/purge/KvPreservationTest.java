package dev.clif.purge;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.model.Autograd;
import dev.clif.model.UNet;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The key/value preservation on the golden tiny-sd UNet: its penalty is Σ_W mean over the benign tokens of
 * ‖(W − W0) e‖² (checked against a host computation), zero at θ0, and the gradient it adds matches central finite
 * differences of λ·penalty.
 */
class KvPreservationTest {
    static final Path GOLDEN = Path.of(TestData.golden());
    static final double LAMBDA = 0.7;

    @BeforeEach
    void golden() {
        Assertions.assertTrue(Files.isDirectory(GOLDEN.resolve("tiny-sd")), "golden tiny models not found");
    }

    @Test
    void penaltyAndGradientMatchHostArithmeticAndFiniteDifferences() {
        try (TensorScope s = TensorScope.open();
             UNet trainable = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
             UNet frozen = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32)) {
            List<String> names = ParameterSelection.select(trainable.parameterNames(), List.of("xattn"));
            int width = trainable.config().crossAttentionDim().get(0);
            Map<String, Tensor> benign = Map.of("p", Tensor.randn(11, DType.F32, Device.CPU, 1, 77, width),
                    "q", Tensor.randn(12, DType.F32, Device.CPU, 1, 77, width));
            try (KvPreservation kv = KvPreservation.create(names, List.of("xattn"), List.of("p", "q"), benign::get, LAMBDA)) {
                check(kv, names, trainable, frozen, width, benign);
            }
        }
    }

    private static void check(KvPreservation kv, List<String> names, UNet trainable, UNet frozen, int width, Map<String, Tensor> benign) {
        assertTrue(kv.names().stream().allMatch(KvPreservation::readsText));
        assertEquals(names.stream().filter(n -> n.contains(".attn2.to_k.") || n.contains(".attn2.to_v.")).count(), kv.names().size(),
                "keys and values of the cross-attention only (not to_q or to_out)");
        for (String n : names) trainable.setRequiresGrad(n, true);
        zeroGradients(trainable, width);
        assertEquals(0.0, kv.addGradients(trainable, frozen), "θ = θ0");

        for (String n : kv.names())
            try (Tensor p = trainable.parameter(n); Tensor noise = Tensor.randn(n.hashCode(), DType.F32, Device.CPU, p.shape());
                 Tensor moved = Tensor.axpby(1, p, 0.1, noise)) {
                trainable.setParameter(n, moved);
            }
        zeroGradients(trainable, width);
        double penalty = kv.addGradients(trainable, frozen);
        double host = hostPenalty(trainable, frozen, kv.names(), List.of(benign.get("p"), benign.get("q")));
        assertEquals(host, penalty, 1e-5 * host, "penalty vs host");
        assertTrue(penalty > 0);

        String n = kv.names().get(kv.names().size() - 1);
        float[] grad = trainable.gradient(n).toFloatArray();
        float[] w = trainable.parameter(n).toFloatArray();
        long[] shape = trainable.parameter(n).shape();
        double h = 1e-2;
        for (int i : new int[] {0, 5, w.length / 2, w.length - 1}) {
            double plus = penaltyWith(trainable, frozen, kv, n, w, shape, i, h, width);
            double minus = penaltyWith(trainable, frozen, kv, n, w, shape, i, -h, width);
            double fd = LAMBDA * (plus - minus) / (2 * h);
            assertEquals(fd, grad[i], 1e-3 * Math.max(1e-2, Math.abs(fd)), "∂(λ·penalty)/∂" + n + "[" + i + "]");
        }
    }

    @Test
    void refusesASelectionWithoutKeysOrValues() {
        try (UNet u = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32)) {
            List<String> names = ParameterSelection.select(u.parameterNames(), List.of("noxattn"));
            ClifException e = assertThrows(ClifException.class,
                    () -> KvPreservation.create(names, List.of("noxattn"), List.of("p"), p -> null, 1));
            assertTrue(e.getMessage().contains("--params noxattn trains no attn2.to_k or attn2.to_v weight"), e.getMessage());
        }
    }

    /** Gradients that exist and are zero: a backward of a zero output gradient. */
    private static void zeroGradients(UNet u, int width) {
        try (TensorScope s = TensorScope.open()) {
            u.zeroGrad();
            Tensor out = u.forward(Tensor.randn(1, DType.F32, Device.CPU, 1, 4, 8, 8), Tensor.of(new long[] {10}, 1),
                    Tensor.randn(2, DType.F32, Device.CPU, 1, 77, width), true);
            Autograd.backward(out, Tensor.zeros(DType.F32, Device.CPU, out.shape()));
        }
    }

    private static double penaltyWith(UNet trainable, UNet frozen, KvPreservation kv, String n, float[] w, long[] shape, int i,
                                      double h, int width) {
        float[] moved = w.clone();
        moved[i] += (float) h;
        try (Tensor t = Tensor.of(moved, shape)) {
            trainable.setParameter(n, t);
        }
        zeroGradients(trainable, width);
        double p = kv.addGradients(trainable, frozen);
        try (Tensor t = Tensor.of(w, shape)) {
            trainable.setParameter(n, t);
        }
        return p;
    }

    private static double hostPenalty(UNet trainable, UNet frozen, List<String> names, List<Tensor> prompts) {
        double sum = 0;
        for (String n : names) {
            float[] w = trainable.parameter(n).toFloatArray(), w0 = frozen.parameter(n).toFloatArray();
            int d = (int) trainable.parameter(n).shape()[1], out = w.length / d;
            long tokens = 0;
            double part = 0;
            for (Tensor p : prompts) {
                float[] e = p.toFloatArray();
                for (int t = 0; t < e.length / d; t++, tokens++)
                    for (int r = 0; r < out; r++) {
                        double y = 0;
                        for (int k = 0; k < d; k++) y += (w[r * d + k] - w0[r * d + k]) * (double) e[t * d + k];
                        part += y * y;
                    }
            }
            sum += part / tokens;
        }
        return sum;
    }
}
