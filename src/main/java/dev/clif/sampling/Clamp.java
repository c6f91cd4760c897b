package dev.clif.sampling;

import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

/**
 * clamp(x, lo, hi) for clip_sample. There is no native clamp yet, so this goes through the host: only
 * configs with {@code clip_sample: true} (not Stable Diffusion's) pay for it.
 */
final class Clamp {
    private Clamp() {}

    static Tensor clamp(Tensor x, double lo, double hi) {
        float flo = (float) lo, fhi = (float) hi;
        float[] v;
        try (Tensor cpu = x.to(Device.CPU, DType.F32)) {
            v = cpu.toFloatArray();
        }
        for (int i = 0; i < v.length; i++) {
            float a = v[i];
            v[i] = a < flo ? flo : (a > fhi ? fhi : a); // NaN stays NaN, as torch.clamp
        }
        try (Tensor host = Tensor.of(v, x.shape())) {
            return host.to(x.device(), x.dtype());
        }
    }
}
