package dev.clif.serve;

import java.util.List;

/**
 * One validated image request, whichever API it came in by: {@code n} images of {@code prompt}, image k from seed
 * {@code seed + k} (so image k is what {@code clif generate --seed seed+k} writes). {@code notes} are what the reply's
 * {@code info} reports (a truncated prompt, ignored fields).
 */
public record ImageRequest(String variant, String prompt, String negativePrompt, int n, int width, int height, int steps,
                           double guidance, String scheduler, long seed, List<String> notes) {
    public ImageRequest {
        notes = List.copyOf(notes);
    }

    /** What a batch must share: requests with equal keys run as one CFG batch. */
    public record BatchKey(String variant, int width, int height, int steps, double guidance, String scheduler) {}

    public BatchKey batchKey() {
        return new BatchKey(variant, width, height, steps, guidance, scheduler);
    }

    public long seedOf(int image) {
        return seed + image;
    }
}
