package dev.clif.purge;

import dev.clif.model.Conditioning;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.sampling.DdimScheduler;
import dev.clif.sampling.Timesteps;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * What a purge method computes; {@link Purger} keeps everything else (models, the loop, checkpoints, outputs). A method
 * is either {@link Stepwise} (an objective per step, whose gradient the loop's optimiser follows: CLIF, ESD) or a
 * {@link ClosedForm} edit of the selected weights (UCE). A new method is one new file implementing one of the two,
 * named in {@link PurgeConfig.Method}.
 */
public sealed interface PurgeMethod permits PurgeMethod.Stepwise, PurgeMethod.ClosedForm {

    /** The method a configuration names. */
    static PurgeMethod of(PurgeConfig config) {
        return switch (config.method()) {
            case CLIF -> new ClifMethod(config);
            case ESD -> new EsdMethod(config);
            case UCE -> new UceMethod(config);
        };
    }

    /**
     * One step's inputs: x_t (drawn by the loop from the frozen model's trajectory, stopped at index {@code stop}), its
     * timestep {@code tt} (a tensor) and ᾱ_t, the conditioning of the step's prompts and the unconditional one (same
     * batch; SDXL's carries its added part), and the concept pair's CLIP text direction ΔT with its
     * text gap |t̄_tgt − t̄_src| (the size term's target, {@link DirectionalClipLoss}).
     */
    record Step(PurgeStep.Models models, DdimScheduler scheduler, Timesteps timesteps, int stop, Tensor xt, Tensor tt,
                double alphaProd, Conditioning context, Conditioning uncond, float[] deltaT, double textGap) {}

    /** A method trained by the loop. */
    non-sealed interface Stepwise extends PurgeMethod {
        /** Checks the configuration against the method before anything is loaded (a ClifException if refused). */
        default void check() {}

        /** The step's objective; its gradient is backpropagated into the trainable UNet before this returns. */
        double objective(Step step);
    }

    /** A method that computes the new weights at once (no steps, no checkpoints). */
    non-sealed interface ClosedForm extends PurgeMethod {
        /** Checks the configuration against the method before anything is loaded (a ClifException if refused). */
        default void check() {}

        /**
         * Sets new values for the {@code names} parameters of {@code unet} (a float32 copy of {@code sd}'s UNet) and
         * returns what the report should say about the edit (conditioning, ridge, residuals).
         */
        ObjectNode edit(StableDiffusion sd, UNet unet, List<String> names, List<String> preservePrompts, List<PromptList.Prompt> prompts);
    }
}
