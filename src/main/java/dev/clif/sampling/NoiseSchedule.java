package dev.clif.sampling;

/**
 * The training noise schedule (betas, alphas_cumprod) computed on the host so that it reproduces, value for
 * value, the float32 torch tensors diffusers 0.25.1 builds on the CPU:
 * <ul>
 *   <li>{@code torch.linspace(a, b, n, dtype=float32)}: libtorch's CPU kernel works in float, with
 *       {@code step = (end - start) / (n - 1)}; the first half counts up from {@code start}, the second half down
 *       from {@code end}; vectorised in chunks of 8 floats whose base is one fused multiply-add
 *       ({@code start + step * idx} contracted by the compiler), the tail element by element;</li>
 *   <li>{@code x ** 2} is {@code x * x} in float;</li>
 *   <li>{@code torch.cumprod} on the CPU accumulates in double ({@code acc_type<float>} is double there) and
 *       rounds each partial product to float.</li>
 * </ul>
 * These reproduce the golden betas and alphas_cumprod bit for bit; on a libtorch built for other vector widths
 * the betas may differ in the last bit, far below any tolerance.
 */
final class NoiseSchedule {
    private NoiseSchedule() {}

    /** betas as diffusers builds them from the config (defaults already filled in). */
    static float[] betas(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        float[] betas;
        double[] trained = c.trainedBetas();
        if (trained != null) {
            betas = new float[trained.length];
            for (int i = 0; i < trained.length; i++) betas[i] = (float) trained[i];
        } else {
            switch (c.betaSchedule()) {
                case "linear" -> betas = torchLinspace(c.betaStart(), c.betaEnd(), n);
                case "scaled_linear" -> {
                    betas = torchLinspace(Math.sqrt(c.betaStart()), Math.sqrt(c.betaEnd()), n);
                    for (int i = 0; i < n; i++) betas[i] = betas[i] * betas[i];
                }
                case "squaredcos_cap_v2" -> betas = cosineBetas(n, 0.999);
                default -> throw c.error("beta_schedule", "'" + c.betaSchedule() + "' is not supported");
            }
        }
        if (c.rescaleBetasZeroSnr()) betas = rescaleZeroTerminalSnr(betas);
        return betas;
    }

    /** alphas_cumprod = cumprod(1 - betas), as torch computes it on the CPU. */
    static float[] alphasCumprod(float[] betas) {
        float[] alphas = new float[betas.length];
        for (int i = 0; i < betas.length; i++) alphas[i] = 1f - betas[i];
        return cumprod(alphas);
    }

    static float[] cumprod(float[] x) {
        float[] out = new float[x.length];
        double acc = 1.0;
        for (int i = 0; i < x.length; i++) {
            acc *= x[i];
            out[i] = (float) acc;
        }
        return out;
    }

    /** torch.linspace(start, end, steps, dtype=float32) on the CPU (see the class comment). */
    static float[] torchLinspace(double startD, double endD, int steps) {
        if (steps < 0) throw new IllegalArgumentException("steps must be >= 0");
        float[] out = new float[steps];
        if (steps == 0) return out;
        float start = (float) startD, end = (float) endD;
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (steps - 1);
        int halfway = steps / 2;
        final int vec = 8;
        int vectorEnd = steps / (2 * vec) * (2 * vec); // the kernel's vector loop takes two vectors at a time
        for (int i0 = 0; i0 < vectorEnd; i0 += vec) {
            float base = i0 < halfway ? Math.fma(step, (float) i0, start) : Math.fma(-step, (float) (steps - i0 - 1), end);
            for (int j = 0; j < vec; j++) out[i0 + j] = Math.fma((float) j, step, base);
        }
        for (int i = vectorEnd; i < steps; i++)
            out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        return out;
    }

    /** betas_for_alpha_bar with the cosine ("squaredcos_cap_v2") transform: computed in double, stored as float. */
    static float[] cosineBetas(int n, double maxBeta) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            out[i] = (float) Math.min(1 - alphaBarCosine(t2) / alphaBarCosine(t1), maxBeta);
        }
        return out;
    }

    private static double alphaBarCosine(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** rescale_zero_terminal_snr (Lin et al. 2023, algorithm 1), in float as diffusers does it. */
    static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] cum = alphasCumprod(betas);
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = (float) Math.sqrt(cum[i]);
        float s0 = s[0], sT = s[n - 1];
        float factor = s0 / (s0 - sT);
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (s[i] - sT) * factor;
            bar[i] = v * v;
        }
        float[] out = new float[n];
        out[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) out[i] = 1f - bar[i] / bar[i - 1];
        return out;
    }
}
