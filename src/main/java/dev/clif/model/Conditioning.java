package dev.clif.model;

import dev.clif.tensor.Tensor;

import java.util.Arrays;

/**
 * What the UNet is conditioned on for a batch of prompts: the text encoder states [B, 77, D] and, for SDXL's
 * {@code text_time} UNets, the added conditioning (the pooled text projection [B, P] and the time ids [B, 6]:
 * original size, crop top-left, target size). SD 1.x/2.x conditioning has no added part ({@code textEmbeds} and
 * {@code timeIds} null). Rows are prompts, so guidance batches are built with {@link #cat} whatever the family.
 * Closing it closes the tensors it holds.
 */
public record Conditioning(Tensor hiddenStates, Tensor textEmbeds, Tensor timeIds) implements AutoCloseable {
    public Conditioning {
        if (hiddenStates == null) throw new IllegalArgumentException("hiddenStates is required");
        if ((textEmbeds == null) != (timeIds == null))
            throw new IllegalArgumentException("text_embeds and time_ids come together (SDXL) or not at all");
        long b = hiddenStates.shape()[0];
        if (textEmbeds != null && (textEmbeds.shape()[0] != b || timeIds.shape()[0] != b))
            throw new IllegalArgumentException("conditioning rows differ: hidden states " + Arrays.toString(hiddenStates.shape())
                    + ", text_embeds " + Arrays.toString(textEmbeds.shape()) + ", time_ids " + Arrays.toString(timeIds.shape()));
    }

    /** SD 1.x/2.x conditioning: the text states alone. */
    public static Conditioning of(Tensor hiddenStates) {
        return new Conditioning(hiddenStates, null, null);
    }

    public boolean hasAdded() {
        return textEmbeds != null;
    }

    public long rows() {
        return hiddenStates.shape()[0];
    }

    /** The rows of every part one after the other (e.g. [uncond, cond] for classifier-free guidance). */
    public static Conditioning cat(Conditioning... parts) {
        if (parts.length == 1) return parts[0];
        Tensor[] h = new Tensor[parts.length];
        Tensor[] te = new Tensor[parts.length];
        Tensor[] ti = new Tensor[parts.length];
        boolean added = parts[0].hasAdded();
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].hasAdded() != added)
                throw new IllegalArgumentException("cannot join conditioning with and without added (SDXL) parts");
            h[i] = parts[i].hiddenStates;
            te[i] = parts[i].textEmbeds;
            ti[i] = parts[i].timeIds;
        }
        return added ? new Conditioning(Tensor.cat(0, h), Tensor.cat(0, te), Tensor.cat(0, ti)) : of(Tensor.cat(0, h));
    }

    /** Rows {@code start .. start + length} (views). */
    public Conditioning narrow(long start, long length) {
        return new Conditioning(hiddenStates.narrow(0, start, length), textEmbeds == null ? null : textEmbeds.narrow(0, start, length),
                timeIds == null ? null : timeIds.narrow(0, start, length));
    }

    /** Takes every tensor out of the current scope (the caller closes this). */
    public Conditioning detachFromScope() {
        hiddenStates.detachFromScope();
        if (textEmbeds != null) {
            textEmbeds.detachFromScope();
            timeIds.detachFromScope();
        }
        return this;
    }

    /** Gives every tensor to the innermost open scope ({@link Tensor#attachToCurrentScope()}). */
    public Conditioning attachToCurrentScope() {
        hiddenStates.attachToCurrentScope();
        if (textEmbeds != null) {
            textEmbeds.attachToCurrentScope();
            timeIds.attachToCurrentScope();
        }
        return this;
    }

    @Override
    public void close() {
        hiddenStates.close();
        if (textEmbeds != null) textEmbeds.close();
        if (timeIds != null) timeIds.close();
    }
}
