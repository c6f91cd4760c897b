package dev.clif.purge;

import dev.clif.ClifException;
import dev.clif.model.Conditioning;
import dev.clif.tensor.Autocast;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

/**
 * ESD (Gandikota et al. 2023): ε_θ(x_t, c) regressed onto ε_θ0(x_t, "") − η(ε_θ0(x_t, c) − ε_θ0(x_t, "")), the MSE's
 * gradient backpropagated into θ.
 */
final class EsdMethod implements PurgeMethod.Stepwise {
    private final PurgeConfig config;

    EsdMethod(PurgeConfig config) {
        this.config = config;
    }

    @Override
    public void check() {
        if (config.mode() == PurgeConfig.Mode.CHAIN) throw new ClifException("--method esd supports --mode one-step only");
    }

    @Override
    public double objective(Step s) {
        PurgeStep.Models m = s.models();
        try (TensorScope scope = TensorScope.open()) {
            long b = s.xt().shape()[0];
            Tensor epsTrain, both;
            try (Autocast region = m.region(s.xt().device())) {
                epsTrain = m.trainable().forward(s.xt(), s.tt(), s.context(), true);
                both = m.frozen().forward(Tensor.cat(0, s.xt(), s.xt()), s.tt(), Conditioning.cat(s.uncond(), s.context()), false);
            }
            Tensor e0 = both.narrow(0, 0, b);
            Tensor ep = both.narrow(0, b, b);
            double eta = config.esdEta();
            Tensor target = Tensor.axpby(1 + eta, e0, -eta, ep);
            return Purger.mseBackward(epsTrain, target, 1.0, m.gradScale());
        }
    }
}
