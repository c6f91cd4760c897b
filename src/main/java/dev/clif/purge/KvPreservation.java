package dev.clif.purge;

import dev.clif.ClifException;
import dev.clif.model.UNet;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Keeps what benign prompts look like to the cross-attention: for every trained key or value projection W of
 * the text conditioning ({@code attn2.to_k.weight}, {@code attn2.to_v.weight}; W0 its frozen value),
 * penalty = Σ_W mean over the tokens e of the benign prompts of ‖(W − W0) e‖² = Σ_W tr(ΔW C ΔWᵀ), with
 * C = mean e eᵀ over every token (padding included, since the UNet attends to it). Its gradient 2λ·ΔW C is added
 * to the weights' gradients before the optimiser step.
 *
 * <p>Why this term and not only MSE(ε_θ, ε_θ0) on benign prompts: a key/value edit changes the output for a
 * benign prompt exactly through ΔW e, so this measures the damage where it happens, for every benign token at
 * once, without a UNet forward; it is the preservation term of the closed-form cross-attention editors (TIME,
 * UCE). Directions of the text space that benign prompts do not use (what sets "red" apart from the other
 * colours) stay free, so the directional loss can still move them. In the shapes world the ε-MSE term either
 * let the purge spread to every colour or stopped it altogether; this one lets it act on the concept alone
 * (see ShapesBench).
 */
public final class KvPreservation implements AutoCloseable {
    private final List<String> names;
    private final Tensor covariance;
    private final double weight;

    private KvPreservation(List<String> names, Tensor covariance, double weight) {
        this.names = names;
        this.covariance = covariance;
        this.weight = weight;
    }

    /** Whether a parameter is a key or value projection of the cross-attention (reads the text conditioning). */
    static boolean readsText(String name) {
        return name.endsWith(".attn2.to_k.weight") || name.endsWith(".attn2.to_v.weight");
    }

    /** The trained names that {@link #readsText}; fails when there are none (nothing to keep). */
    public static List<String> checkSelection(List<String> trained, List<String> params) {
        List<String> kept = new ArrayList<>();
        for (String n : trained) if (readsText(n)) kept.add(n);
        if (kept.isEmpty())
            throw new ClifException("--preserve-kv-weight keeps the cross-attention keys and values of benign prompts, but --params "
                    + String.join(",", params) + " trains no attn2.to_k or attn2.to_v weight: choose other --params, or --preserve-kv-weight 0");
        return kept;
    }

    /**
     * @param trained the trained parameter names (the ones that {@link #readsText} are kept)
     * @param conditioning the text conditioning of a prompt, [1, tokens, dim]; a tensor it leaves in the current
     *                     {@link TensorScope} is closed here once counted
     */
    static KvPreservation create(List<String> trained, List<String> params, List<String> benign,
                                 Function<String, Tensor> conditioning, double weight) {
        List<String> kept = checkSelection(trained, params);
        if (benign.isEmpty()) throw new ClifException("--preserve-kv-weight: the preservation prompt file has no prompt");
        Tensor sum = null;
        long tokens = 0;
        try (TensorScope scope = TensorScope.open()) {
            for (String prompt : benign) {
                Tensor c = conditioning.apply(prompt);
                long[] s = c.shape();
                Tensor e = c.reshape(s[0] * s[1], s[2]);
                Tensor gram = e.transpose().matmul(e);
                sum = sum == null ? gram : Tensor.axpby(1, sum, 1, gram);
                tokens += s[0] * s[1];
            }
            Tensor cov = sum.scale(1.0 / tokens);
            scope.keep(cov);
            return new KvPreservation(List.copyOf(kept), cov, weight);
        }
    }

    List<String> names() {
        return names;
    }

    /**
     * Adds λ·∂penalty/∂W to the gradient of every kept weight (which must have one: call after the backward of
     * the purge objective, and after any loss-scale unscaling) and returns the unweighted penalty.
     */
    double addGradients(UNet trainable, UNet frozen) {
        double penalty = 0;
        for (String n : names) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor w = trainable.parameter(n), w0 = frozen.parameter(n);
                Tensor delta = Tensor.axpby(1, w.detach(), -1, w0);
                Tensor dc = delta.matmul(covariance);
                penalty += dc.dot(delta);
                trainable.gradient(n).addScaledInPlace(2 * weight, dc);
            }
        }
        return penalty;
    }

    @Override
    public void close() {
        covariance.close();
    }
}
