package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.clif.TestData;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.model.UNet;
import dev.clif.model.Vae;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;

/** tiny-sd + tiny-clip for purge-step tests: the default parameter selection trainable, θ perturbed away from θ0. */
final class TinyPurgeModels implements AutoCloseable {
    static final Path GOLDEN = Path.of(TestData.golden());

    final UNet trainable = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
    final UNet frozen = UNet.load(GOLDEN.resolve("tiny-sd/unet"), Device.CPU, DType.F32);
    final Vae vae = Vae.load(GOLDEN.resolve("tiny-sd/vae"), Device.CPU, DType.F32);
    final ClipModel clip = ClipModel.load(GOLDEN.resolve("tiny-clip"), Device.CPU, DType.F32);
    final List<String> names = ParameterSelection.select(trainable.parameterNames(), List.of("xattn-kv"));

    TinyPurgeModels() {
        for (String n : names) {
            trainable.setRequiresGrad(n, true);
            try (Tensor p = trainable.parameter(n); Tensor noise = Tensor.randn(n.hashCode(), DType.F32, Device.CPU, p.shape());
                 Tensor moved = Tensor.axpby(1, p, 0.3, noise)) {
                trainable.setParameter(n, moved);
            }
        }
    }

    PurgeStep.Models models(DType precision, LossScaler scaler) {
        return new PurgeStep.Models(trainable, frozen, vae, clip, ClipImageProcessor.OPENAI_MEAN, ClipImageProcessor.OPENAI_STD,
                precision, scaler);
    }

    /** A unit ΔT in the loss CLIP's projection space. */
    float[] deltaT() {
        float[] d = new float[clip.config().projectionDim()];
        d[0] = 0.6f;
        d[1] = 0.8f;
        return d;
    }

    /** The trainable parameters' gradients, float32, concatenated in {@link #names} order. */
    float[] gradients() {
        int total = 0;
        for (String n : names) try (Tensor g = trainable.gradient(n)) {
            assertEquals(DType.F32, g.dtype(), "gradient of " + n);
            total += (int) g.numel();
        }
        float[] all = new float[total];
        int at = 0;
        for (String n : names) try (Tensor g = trainable.gradient(n)) {
            float[] v = g.toFloatArray();
            System.arraycopy(v, 0, all, at, v.length);
            at += v.length;
        }
        return all;
    }

    @Override
    public void close() {
        clip.close();
        vae.close();
        frozen.close();
        trainable.close();
    }
}
