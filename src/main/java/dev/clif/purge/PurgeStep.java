package dev.clif.purge;

import dev.clif.model.Autograd;
import dev.clif.model.ClipModel;
import dev.clif.model.UNet;
import dev.clif.model.Vae;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

/**
 * One CLIF step on a noisy latent x_t at timestep t (ARCHITECTURE.md, "A purge step"): both UNets predict ε,
 * each prediction becomes x̂0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t, is decoded by the VAE, mapped to [0,1], resized and
 * normalised for the loss CLIP and embedded; Java computes the directional loss and dL/dE_I(θ), and native
 * backward carries that gradient to the trainable parameters (their .grad accumulates; the caller steps the
 * optimiser). The trainable branch records autograd; the frozen branch does not.
 */
public final class PurgeStep {
    /** The models of a step: θ (trainable) and θ0 (frozen) UNets, the SD VAE, and the loss CLIP with its preprocessing. */
    public record Models(UNet trainable, UNet frozen, Vae vae, ClipModel clip, double[] imageMean, double[] imageStd) {}

    /** Sees the intermediate tensors of a step (golden checks, debugging). Tensors are valid during the call only. */
    public interface Probe {
        void tensor(String name, Tensor value);

        /** Whether to keep the gradients of the trainable intermediates (reported after backward as grad_*). */
        default boolean wantsIntermediateGradients() {
            return false;
        }
    }

    /** What a step computed: loss, cosines, the embeddings and dL/dE_I(θ). */
    public record Output(double loss, double[] cos, int tieBreaks, float[][] imageEmbedsTrain, float[][] imageEmbedsFrozen,
                         float[][] gradImageEmbeds) {}

    private PurgeStep() {}

    /**
     * @param xt        noisy latents [B, 4, h, w] on the models' device
     * @param timestep  0-dim or [B] timestep tensor
     * @param alphaProd ᾱ_t of the scheduler
     * @param context   SD text conditioning [B, 77, D] of the source prompt
     * @param deltaT    the unit text direction of the concept pair
     */
    public static Output run(Models m, Tensor xt, Tensor timestep, double alphaProd, Tensor context, float[] deltaT, Probe probe) {
        Probe p = probe == null ? (n, v) -> {} : probe;
        boolean keepGrads = probe != null && probe.wantsIntermediateGradients();
        try (TensorScope scope = TensorScope.open()) {
            Branch train = branch(m, m.trainable(), xt, timestep, alphaProd, context, true, keepGrads, "train", p);
            Branch frozen = branch(m, m.frozen(), xt, timestep, alphaProd, context, false, false, "frozen", p);
            float[][] e = rows(train.embeds);
            float[][] e0 = rows(frozen.embeds);
            DirectionalClipLoss.Result loss = DirectionalClipLoss.compute(e, e0, deltaT);
            Tensor grad = Tensor.of(flatten(loss.gradient()), e.length, deltaT.length).to(train.embeds.device(), train.embeds.dtype());
            Autograd.backward(train.embeds, grad);
            if (keepGrads) {
                p.tensor("grad_pixel_train", Autograd.grad(train.pixel));
                p.tensor("grad_image_train", Autograd.grad(train.image));
                p.tensor("grad_x0_train", Autograd.grad(train.x0));
                p.tensor("grad_eps_train", Autograd.grad(train.eps));
            }
            return new Output(loss.loss(), loss.cos(), loss.tieBreaks(), e, e0, loss.gradient());
        }
    }

    private record Branch(Tensor eps, Tensor x0, Tensor image, Tensor pixel, Tensor embeds) {}

    private static Branch branch(Models m, UNet unet, Tensor xt, Tensor t, double a, Tensor context, boolean grad,
                                 boolean keepGrads, String tag, Probe p) {
        Tensor eps = unet.forward(xt, t, context, grad);
        Tensor x0 = Tensor.axpby(1 / Math.sqrt(a), xt, -Math.sqrt(1 - a) / Math.sqrt(a), eps);
        Tensor decoded = m.vae().decode(x0.scale(1 / m.vae().scalingFactor()), grad);
        Tensor one = Tensor.scalar(1f).to(decoded.device(), decoded.dtype());
        Tensor image = Tensor.axpby(0.5, decoded, 0.5, one).clamp(0, 1);
        Tensor pixel = m.clip().preprocess(image, m.imageMean(), m.imageStd(), grad);
        Tensor embeds = m.clip().imageFeatures(pixel, grad);
        if (keepGrads) for (Tensor x : new Tensor[] {eps, x0, image, pixel}) x.retainGrad();
        p.tensor("eps_" + tag, eps);
        p.tensor("x0_" + tag, x0);
        p.tensor("decoded_" + tag, decoded);
        p.tensor("image_" + tag, image);
        p.tensor("pixel_" + tag, pixel);
        p.tensor("image_embeds_" + tag, embeds);
        return new Branch(eps, x0, image, pixel, embeds);
    }

    static float[][] rows(Tensor t) {
        long[] s = t.shape();
        try (Tensor cpu = t.detach().to(Device.CPU, DType.F32)) {
            float[] flat = cpu.toFloatArray();
            int b = (int) s[0];
            int d = (int) s[1];
            float[][] out = new float[b][d];
            for (int r = 0; r < b; r++) System.arraycopy(flat, r * d, out[r], 0, d);
            return out;
        }
    }

    static float[] flatten(float[][] rows) {
        int d = rows[0].length;
        float[] out = new float[rows.length * d];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, out, r * d, d);
        return out;
    }
}
