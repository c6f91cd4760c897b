package dev.clif.purge;

import dev.clif.model.Autograd;
import dev.clif.model.ClipModel;
import dev.clif.model.Conditioning;
import dev.clif.model.UNet;
import dev.clif.model.Vae;
import dev.clif.tensor.Autocast;
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
    /**
     * The models of a step: θ (trainable) and θ0 (frozen) UNets, the SD VAE, and the loss CLIP with its
     * preprocessing. With {@code autocast} F16 or BF16 the forwards run in an {@link Autocast} region (the
     * backward outside it); {@code scaler}, for fp16, scales the gradient handed to backward (null: none).
     */
    public record Models(UNet trainable, UNet frozen, Vae vae, ClipModel clip, double[] imageMean, double[] imageStd,
                         DType autocast, LossScaler scaler) {
        public Models(UNet trainable, UNet frozen, Vae vae, ClipModel clip, double[] imageMean, double[] imageStd) {
            this(trainable, frozen, vae, clip, imageMean, imageStd, DType.F32, null);
        }

        /** The factor backward's upstream gradient is multiplied by (1 without a scaler). */
        public double gradScale() {
            return scaler == null ? 1 : scaler.scale();
        }

        /** An autocast region on {@code device} when the models run in reduced precision, else null. */
        Autocast region(Device device) {
            return Autocast.openIfReduced(device, autocast);
        }
    }

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
                         float[][] gradImageEmbeds, double[] progress) {
        public Output(double loss, double[] cos, int tieBreaks, float[][] imageEmbedsTrain, float[][] imageEmbedsFrozen, float[][] gradImageEmbeds) {
            this(loss, cos, tieBreaks, imageEmbedsTrain, imageEmbedsFrozen, gradImageEmbeds, null);
        }
    }

    private PurgeStep() {}

    /**
     * @param xt        noisy latents [B, 4, h, w] on the models' device
     * @param timestep  0-dim or [B] timestep tensor
     * @param alphaProd ᾱ_t of the scheduler
     * @param context   SD text conditioning [B, 77, D] of the source prompt
     * @param deltaT    the unit text direction of the concept pair
     */
    public static Output run(Models m, Tensor xt, Tensor timestep, double alphaProd, Tensor context, float[] deltaT, Probe probe) {
        return run(m, xt, timestep, alphaProd, Conditioning.of(context), null, 0, deltaT, probe);
    }

    /**
     * As {@link #run(Models, Tensor, Tensor, double, Tensor, float[], Probe)} for any family's conditioning (SDXL's
     * carries its added part), with classifier-free guidance on both predictions when {@code guidance > 1}:
     * ε = ε(x_t, uncond) + g·(ε(x_t, cond) − ε(x_t, uncond)), from one UNet call on the doubled batch.
     *
     * @param uncond the unconditional conditioning, B rows (used only when guidance &gt; 1)
     */
    public static Output run(Models m, Tensor xt, Tensor timestep, double alphaProd, Conditioning context, Conditioning uncond,
                             double guidance, float[] deltaT, Probe probe) {
        return run(m, xt, timestep, alphaProd, context, uncond, guidance, deltaT, 0, 0, probe);
    }

    /** As above, with the loss's size term of weight {@code sizeWeight} and text gap {@code gap} ({@link DirectionalClipLoss}). */
    public static Output run(Models m, Tensor xt, Tensor timestep, double alphaProd, Conditioning context, Conditioning uncond,
                             double guidance, float[] deltaT, double sizeWeight, double gap, Probe probe) {
        if (probe == null && FrozenBranchBeside.applies(xt.device()))
            return FrozenBranchBeside.run(m, xt, timestep, alphaProd, context, uncond, guidance, deltaT, sizeWeight, gap);
        Probe p = probe == null ? (n, v) -> {} : probe;
        boolean keepGrads = probe != null && probe.wantsIntermediateGradients();
        try (TensorScope scope = TensorScope.open()) {
            Tensor epsTrain, epsFrozen;
            try (Autocast region = m.region(xt.device())) {
                epsTrain = predictEps(m.trainable(), xt, timestep, context, uncond, guidance, true);
                epsFrozen = predictEps(m.frozen(), xt, timestep, context, uncond, guidance, false);
            }
            Tensor x0Train = x0(xt, epsTrain, alphaProd);
            Tensor x0Frozen = x0(xt, epsFrozen, alphaProd);
            if (keepGrads) {
                epsTrain.retainGrad();
                x0Train.retainGrad();
            }
            p.tensor("eps_train", epsTrain);
            p.tensor("x0_train", x0Train);
            Output out = fromX0(m, x0Train, x0Frozen, deltaT, sizeWeight, gap, new Probe() {
                @Override
                public void tensor(String name, Tensor value) {
                    if (name.equals("decoded_frozen")) { // keep the golden order: the frozen branch starts here
                        p.tensor("eps_frozen", epsFrozen);
                        p.tensor("x0_frozen", x0Frozen);
                    }
                    p.tensor(name, value);
                    if (name.equals("grad_image_train") && keepGrads) {
                        p.tensor("grad_x0_train", Autograd.grad(x0Train));
                        p.tensor("grad_eps_train", Autograd.grad(epsTrain));
                    }
                }

                @Override
                public boolean wantsIntermediateGradients() {
                    return keepGrads;
                }
            });
            return out;
        }
    }

    /**
     * The loss part of a step from given x̂0 predictions (chain mode computes them through several DDIM steps):
     * decode, embed, directional loss, and backward from E_I(θ). {@code x0Train} must carry autograd history.
     */
    public static Output fromX0(Models m, Tensor x0Train, Tensor x0Frozen, float[] deltaT, Probe probe) {
        return fromX0(m, x0Train, x0Frozen, deltaT, 0, 0, probe);
    }

    /** As above, with the loss's size term ({@link DirectionalClipLoss#compute(float[][], float[][], float[], double, double)}). */
    public static Output fromX0(Models m, Tensor x0Train, Tensor x0Frozen, float[] deltaT, double sizeWeight, double gap, Probe probe) {
        Probe p = probe == null ? (n, v) -> {} : probe;
        boolean keepGrads = probe != null && probe.wantsIntermediateGradients();
        try (TensorScope scope = TensorScope.open()) {
            Embedding train, frozen;
            try (Autocast region = m.region(x0Train.device())) {
                train = embed(m, x0Train, true, keepGrads, "train", p);
                frozen = embed(m, x0Frozen, false, false, "frozen", p);
            }
            Output out = lossAndBackward(m, train.embeds, rows(frozen.embeds), deltaT, sizeWeight, gap);
            if (keepGrads) {
                p.tensor("grad_pixel_train", Autograd.grad(train.pixel));
                p.tensor("grad_image_train", Autograd.grad(train.image));
            }
            return out;
        }
    }

    /**
     * The directional loss (with its size term, {@link DirectionalClipLoss}) of E_I(θ) against E_I(θ0) ({@code e0}),
     * and backward from E_I(θ) with its gradient.
     */
    static Output lossAndBackward(Models m, Tensor embedsTrain, float[][] e0, float[] deltaT, double sizeWeight, double gap) {
        float[][] e = rows(embedsTrain);
        DirectionalClipLoss.Result loss = DirectionalClipLoss.compute(e, e0, deltaT, sizeWeight, gap);
        float[] g = flatten(loss.gradient());
        double gs = m.gradScale();
        if (gs != 1) for (int i = 0; i < g.length; i++) g[i] = (float) (g[i] * gs);
        Tensor grad = Tensor.of(g, e.length, deltaT.length).to(embedsTrain.device(), embedsTrain.dtype()); // the caller's scope
        Autograd.backward(embedsTrain, grad);
        return new Output(loss.loss(), loss.cos(), loss.tieBreaks(), e, e0, loss.gradient(), loss.progress());
    }

    /**
     * x̂0 → E_I: VAE decode, [0,1], CLIP preprocessing and image features; {@code grad} records autograd. The
     * tensors belong to the caller's scope.
     */
    static Tensor imageEmbeds(Models m, Tensor x0, boolean grad) {
        return embed(m, x0, grad, false, "", (n, v) -> {}).embeds;
    }

    /** ε from one UNet, with classifier-free guidance when {@code guidance > 1} and {@code uncond} is given. */
    public static Tensor predictEps(UNet unet, Tensor xt, Tensor t, Conditioning context, Conditioning uncond, double guidance, boolean grad) {
        if (uncond == null || !(guidance > 1)) return unet.forward(xt, t, context, grad);
        long b = xt.shape()[0];
        try (TensorScope scope = TensorScope.open()) {
            Tensor out = unet.forward(Tensor.cat(0, xt, xt), t, Conditioning.cat(uncond, context), grad);
            Tensor u = out.narrow(0, 0, b);
            Tensor c = out.narrow(0, b, b);
            return scope.keep(Tensor.axpby(1 - guidance, u, guidance, c));
        }
    }

    /** x̂0 = (x_t − √(1−ᾱ)·ε)/√ᾱ. */
    public static Tensor x0(Tensor xt, Tensor eps, double a) {
        return Tensor.axpby(1 / Math.sqrt(a), xt, -Math.sqrt(1 - a) / Math.sqrt(a), eps);
    }

    private record Embedding(Tensor image, Tensor pixel, Tensor embeds) {}

    private static Embedding embed(Models m, Tensor x0, boolean grad, boolean keepGrads, String tag, Probe p) {
        Tensor decoded = m.vae().decode(x0.scale(1 / m.vae().scalingFactor()), grad);
        Tensor one = Tensor.scalar(1f).to(decoded.device(), decoded.dtype());
        Tensor image = Tensor.axpby(0.5, decoded, 0.5, one).clamp(0, 1);
        Tensor pixel = m.clip().preprocess(image, m.imageMean(), m.imageStd(), grad);
        Tensor embeds = m.clip().imageFeatures(pixel, grad);
        if (keepGrads) for (Tensor x : new Tensor[] {image, pixel}) x.retainGrad();
        p.tensor("decoded_" + tag, decoded);
        p.tensor("image_" + tag, image);
        p.tensor("pixel_" + tag, pixel);
        p.tensor("image_embeds_" + tag, embeds);
        return new Embedding(image, pixel, embeds);
    }

    /** A [rows, dim] tensor as float32 rows on the host. */
    public static float[][] rows(Tensor t) {
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
