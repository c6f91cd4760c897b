package dev.clif.purge;

import dev.clif.model.Conditioning;
import dev.clif.model.UNet;
import dev.clif.sampling.DdimScheduler;
import dev.clif.sampling.StepOutput;
import dev.clif.sampling.Timesteps;
import dev.clif.tensor.Autocast;
import dev.clif.tensor.Tensor;

/**
 * CLIF (Wu &amp; Lin 2025): the directional CLIP loss 1 − cos(ΔI, ΔT) between the image-embedding change of the trainable
 * model's x̂0 against the frozen model's and the concept pair's text direction; one-step (x̂0 from ε at x_t) or
 * chain (the last K DDIM steps, the loss on the final x̂0).
 */
final class ClifMethod implements PurgeMethod.Stepwise {
    private final PurgeConfig config;

    ClifMethod(PurgeConfig config) {
        this.config = config;
    }

    @Override
    public double objective(Step s) {
        PurgeStep.Models m = s.models();
        if (config.mode() == PurgeConfig.Mode.CHAIN) {
            Tensor x0Train, x0Frozen;
            try (Autocast region = m.region(s.xt().device())) {
                x0Train = chain(m.trainable(), s.scheduler(), s.timesteps(), s.xt(), s.context(), s.uncond(), s.stop(), true);
                x0Frozen = chain(m.frozen(), s.scheduler(), s.timesteps(), s.xt(), s.context(), s.uncond(), s.stop(), false);
            }
            return observe(PurgeStep.fromX0(m, x0Train, x0Frozen, s.deltaT(), config.sizeWeight(), s.textGap(), null));
        }
        return observe(PurgeStep.run(m, s.xt(), s.tt(), s.alphaProd(), s.context(), s.uncond(), config.trainGuidance(), s.deltaT(),
                config.sizeWeight(), s.textGap(), null));
    }

    /** Logs, every 50 steps, the mean cosine and how far the images moved along ΔT in units of the text gap (p/g). */
    private double observe(PurgeStep.Output o) {
        cosSum += mean(o.cos());
        if (o.progress() != null) progressSum += mean(o.progress());
        if (++calls % 50 == 0) {
            log.info("clif: last 50 steps: mean cos(ΔI, ΔT) {}, mean move along ΔT {} of the text gap",
                    String.format("%.3f", cosSum / 50), String.format("%.3f", progressSum / 50));
            cosSum = 0;
            progressSum = 0;
        }
        return o.loss();
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ClifMethod.class);
    private int calls;
    private double cosSum, progressSum;

    /** The last DDIM steps from index {@code from}, returning the final step's x̂0 (with autograd when {@code grad}). */
    private Tensor chain(UNet unet, DdimScheduler scheduler, Timesteps ts, Tensor x, Conditioning context, Conditioning uncond, int from, boolean grad) {
        for (int i = from; i < ts.size(); i++) {
            Tensor eps = PurgeStep.predictEps(unet, x, ts.tensor(i).to(x.device()), context, uncond, config.trainGuidance(), grad);
            StepOutput so = scheduler.stepOutput(eps, ts.get(i), x);
            if (i == ts.size() - 1) {
                so.prevSample().close();
                return so.predOriginalSample();
            }
            so.predOriginalSample().close();
            x = so.prevSample();
        }
        throw new IllegalStateException("empty chain");
    }
}
