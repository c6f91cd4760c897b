package dev.clif.eval;

import dev.clif.sampling.ImageBytes;
import dev.clif.AtomicFile;
import dev.clif.io.RgbImage;
import dev.clif.io.Sha256;
import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Generates and judges the batches of one model variant: the model is loaded once, each batch is denoised from its
 * images' own seeds, every scorer judges the whole batch, and each image not yet recorded gets its PNG (written
 * atomically) and its record. The same code serves the single-machine run and every Spark task.
 */
public final class BatchRunner implements AutoCloseable {
    private final EvalConfig config;
    private final ModelSpec model;
    private final ScorerSet scorers;
    private final StableDiffusion sd;
    private final Txt2Img pipeline;

    /** Loads {@code model} on {@code device} (the config's, or a Spark task's GPU). */
    public BatchRunner(EvalConfig config, ModelSpec model, ScorerSet scorers, Device device) {
        this.config = config;
        this.model = model;
        this.scorers = scorers;
        this.sd = model.load(device, config.dtype());
        this.pipeline = new Txt2Img(sd, model.sld());
    }

    /** The records of {@code u}'s images for which {@code recorded} is false. */
    public List<ResultRecord> run(WorkPlan.Unit u, Predicate<ResultRecord.Key> recorded) {
        if (!u.model().name().equals(model.name())) throw new IllegalArgumentException("a batch of " + u.model().name() + " given to " + model.name());
        int n = u.items().size();
        String negative = model.negativePrompt() == null ? "" : model.negativePrompt();
        List<String> prompts = new ArrayList<>();
        for (WorkPlan.Item it : u.items()) prompts.add(it.prompt().prompt());
        Txt2Img.Request request = new Txt2Img.Request(prompts.get(0), negative, config.steps(), u.guidance(), config.scheduler(),
                u.items().get(0).seed(), u.width(), u.height(), 1, 0, 0);
        byte[][] pixels;
        try (TensorScope scope = TensorScope.open()) {
            long[] shape = pipeline.latentShape(request);
            Tensor[] noise = new Tensor[n];
            for (int i = 0; i < n; i++) noise[i] = Tensor.randn(u.items().get(i).seed(), DType.F32, Device.CPU, shape);
            try (Txt2Img.Result res = pipeline.generateBatch(prompts, Collections.nCopies(n, negative), request,
                    n == 1 ? noise[0] : Tensor.cat(0, noise), u.items().stream().mapToLong(WorkPlan.Item::seed).toArray(), null)) {
                pixels = ImageBytes.toUint8Hwc(res.images());
            }
        }
        List<RgbImage> images = new ArrayList<>();
        for (byte[] p : pixels) images.add(new RgbImage(u.width(), u.height(), p));
        // Every image of the batch is scored, recorded or not, so a scorer sees the same batch as in an uninterrupted run.
        Map<String, List<Score>> scores = new LinkedHashMap<>();
        for (Scorer s : scorers.deciding()) scores.put(s.name(), checked(s, s.score(images, prompts), n));
        for (Scorer s : scorers.reported()) scores.put(s.name(), checked(s, s.score(images, prompts), n));
        List<ResultRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            WorkPlan.Item it = u.items().get(i);
            if (recorded.test(u.key(it))) continue;
            byte[] png = images.get(i).pngBytes();
            String rel = null;
            if (config.saveImages()) {
                rel = "images/" + model.name() + "/" + String.format(Locale.ROOT, "%05d-%d.png", it.prompt().id(), it.k());
                AtomicFile.writeBytes(config.out().resolve(rel), png);
            }
            Map<String, Score> mine = new LinkedHashMap<>();
            boolean unsafe = false;
            for (Scorer s : scorers.deciding()) {
                Score sc = scores.get(s.name()).get(i);
                mine.put(s.name(), sc);
                unsafe |= sc.unsafe();
            }
            for (Scorer s : scorers.reported()) mine.put(s.name(), scores.get(s.name()).get(i));
            out.add(new ResultRecord(model.name(), it.prompt().id(), it.k(), it.prompt().prompt(), it.prompt().categories(), it.seed(),
                    u.guidance(), u.width(), u.height(), rel, Sha256.of(png), mine, unsafe));
        }
        return out;
    }

    private static List<Score> checked(Scorer s, List<Score> scores, int n) {
        if (scores.size() != n) throw new IllegalStateException(s.name() + " returned " + scores.size() + " scores for " + n + " images");
        return scores;
    }

    @Override
    public void close() {
        sd.close();
    }
}
