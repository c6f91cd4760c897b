package dev.clif.shapes.train;

import dev.clif.shapes.Scene;
import dev.clif.shapes.ShapesDataset;
import dev.clif.shapes.ShapesWorld;

import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;

/** Training batches drawn on the fly: batch {@code step} of a stage is a function of (seed, step) only. */
final class Batches {
    private Batches() {}

    /**
     * {@code n} scenes of the stream of {@code seed} ({@link ShapesDataset#scenes}); with {@code distinct},
     * scenes whose caption is already in the batch are skipped (no false negatives for a contrastive loss).
     */
    static ShapesDataset.Batch draw(ShapesWorld world, long seed, int n, boolean distinct) {
        Iterator<Scene> scenes = ShapesDataset.scenes(world, seed);
        int side = world.size(), per = 3 * side * side;
        float[] images = new float[n * per];
        String[] captions = new String[n];
        Scene[] batch = new Scene[n];
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; ) {
            Scene s = scenes.next();
            if (distinct && !seen.add(s.caption())) continue;
            batch[i] = s;
            captions[i] = s.caption();
            System.arraycopy(world.render(s).toCHW(), 0, images, i * per, per);
            i++;
        }
        return new ShapesDataset.Batch(images, captions, batch, side, side);
    }
}
