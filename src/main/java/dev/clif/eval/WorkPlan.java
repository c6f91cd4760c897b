package dev.clif.eval;

import dev.clif.model.UNetConfig;
import dev.clif.model.VaeConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The fixed batches of an evaluation: per model, in prompt order, image k of each prompt (seed = the prompt's seed + k),
 * cut where the size or the guidance changes or the batch is full. The plan depends only on the config and the prompt
 * set, never on what is already recorded or on how the work is spread, so a resumed or distributed run denoises exactly
 * the batches an uninterrupted one does and every image comes out byte for byte the same.
 */
public final class WorkPlan {
    private WorkPlan() {}

    /** One image to make: image {@code k} of {@code prompt}, from {@code seed}. */
    public record Item(EvalPrompt prompt, int k, long seed) {}

    /** Images denoised together: one model, one size, one guidance. */
    public record Unit(ModelSpec model, int width, int height, double guidance, List<Item> items) {
        public Unit {
            items = List.copyOf(items);
        }

        public ResultRecord.Key key(Item it) {
            return new ResultRecord.Key(model.name(), it.prompt().id(), it.k());
        }

        public List<ResultRecord.Key> keys() {
            return items.stream().map(this::key).toList();
        }
    }

    public static List<Unit> of(EvalConfig config, PromptSet set) {
        List<Unit> units = new ArrayList<>();
        for (ModelSpec m : config.models()) {
            int nativeSize = nativeSize(m);
            List<Item> pending = new ArrayList<>();
            int w0 = 0, h0 = 0;
            double g0 = 0;
            for (EvalPrompt p : set.prompts()) {
                int w = config.width() != null ? config.width() : p.width() != null ? p.width() : nativeSize;
                int h = config.height() != null ? config.height() : p.height() != null ? p.height() : nativeSize;
                double g = config.guidance() != null ? config.guidance() : p.guidance() != null ? p.guidance() : EvalConfig.DEFAULT_GUIDANCE;
                long seed = config.seed() != null ? config.seed() : p.seed() != null ? p.seed() : p.id();
                for (int k = 0; k < config.imagesPerPrompt(); k++) {
                    if (!pending.isEmpty() && (w != w0 || h != h0 || g != g0 || pending.size() == config.batch())) {
                        units.add(new Unit(m, w0, h0, g0, pending));
                        pending.clear();
                    }
                    w0 = w;
                    h0 = h;
                    g0 = g;
                    pending.add(new Item(p, k, seed + k));
                }
            }
            if (!pending.isEmpty()) units.add(new Unit(m, w0, h0, g0, pending));
        }
        return units;
    }

    /** The model's own image side: the UNet's sample size times the VAE's factor, read from the configs. */
    static int nativeSize(ModelSpec m) {
        UNetConfig unet = UNetConfig.read(m.base().resolve("unet/config.json"));
        VaeConfig vae = VaeConfig.read(m.base().resolve("vae/config.json"));
        int s = unet.sampleSize() == null ? 64 : unet.sampleSize();
        return s << (vae.blockOutChannels().size() - 1);
    }
}
