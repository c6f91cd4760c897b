package dev.clif.shapes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Iterator;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Training data from the {@link ShapesWorld}: written to a folder, or drawn on the fly.
 *
 * <p>The i-th scene of a stream of seed {@code s} is {@code world.sample(seeds.nextLong())}, where
 * {@code seeds = new SplittableRandom(s)} and i counts from 0: so a written folder, {@link #scenes} and
 * {@link #batches} of the same seed and world agree, scene for scene.
 */
public final class ShapesDataset {
    /** The name of the metadata file {@link #write} leaves beside the pictures. */
    public static final String METADATA = "metadata.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ShapesDataset() {}

    /** {@code write(dir, count, seed, new ShapesWorld())}: 32x32 pictures. */
    public static void write(Path dir, int count, long seed) {
        write(dir, count, seed, new ShapesWorld());
    }

    /**
     * Writes {@code count} scenes of the stream of {@code seed} as {@code 00001.png, 00002.png, ...} (at least
     * five digits) and {@value #METADATA}, one JSON object a line in the same order:
     * <pre>{"file":"00001.png","caption":"a red circle","shapes":[{"kind":"circle","colour":"red","cx":9,"cy":20,"size":12}]}</pre>
     * Every file is written to a temporary name and renamed; the metadata comes last.
     */
    public static void write(Path dir, int count, long seed, ShapesWorld world) {
        if (count < 0) throw new IllegalArgumentException("count " + count + " < 0");
        int digits = Math.max(5, Integer.toString(count).length());
        Iterator<Scene> scenes = scenes(world, seed);
        try {
            Files.createDirectories(dir);
            Path meta = dir.resolve(METADATA);
            Path tmp = Files.createTempFile(dir, "." + METADATA, ".tmp");
            try {
                try (BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    for (int i = 1; i <= count; i++) {
                        Scene scene = scenes.next();
                        String file = String.format("%0" + digits + "d.png", i);
                        world.render(scene).writePng(dir.resolve(file));
                        out.write(JSON.writeValueAsString(json(file, scene)));
                        out.write('\n');
                    }
                }
                try {
                    Files.move(tmp, meta, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, meta, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the shapes dataset to " + dir, e);
        }
    }

    /** One metadata line. */
    static ObjectNode json(String file, Scene scene) {
        ObjectNode o = JSON.createObjectNode();
        o.put("file", file);
        o.put("caption", scene.caption());
        ArrayNode shapes = o.putArray("shapes");
        for (ShapeSpec s : scene.shapes()) {
            ObjectNode j = shapes.addObject();
            j.put("kind", s.kind().word());
            j.put("colour", s.colour().word());
            j.put("cx", s.cx());
            j.put("cy", s.cy());
            j.put("size", s.size());
        }
        return o;
    }

    /** The endless stream of scenes of seed {@code seed} (see the class comment). */
    public static Iterator<Scene> scenes(ShapesWorld world, long seed) {
        Objects.requireNonNull(world, "world");
        SplittableRandom seeds = new SplittableRandom(seed);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Scene next() {
                return world.sample(seeds.nextLong());
            }
        };
    }

    /**
     * A batch of training pairs.
     *
     * @param images {@code count x 3 x height x width} floats in [-1, 1] ({@link Image#toCHW()}, image after
     *     image)
     * @param captions the captions, in the same order
     * @param scenes the scenes, in the same order
     */
    public record Batch(float[] images, String[] captions, Scene[] scenes, int width, int height) {
        public int count() {
            return captions.length;
        }

        /** The i-th picture as bytes. */
        public Image image(int i) {
            return Image.fromCHW(images, i, width, height);
        }
    }

    /** The endless stream of batches of {@code batchSize} consecutive scenes of the stream of seed {@code seed}. */
    public static Iterator<Batch> batches(ShapesWorld world, long seed, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batchSize " + batchSize + " < 1");
        Iterator<Scene> scenes = scenes(world, seed);
        int side = world.size(), per = 3 * side * side;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Batch next() {
                float[] images = new float[batchSize * per];
                String[] captions = new String[batchSize];
                Scene[] batch = new Scene[batchSize];
                for (int i = 0; i < batchSize; i++) {
                    batch[i] = scenes.next();
                    captions[i] = batch[i].caption();
                    System.arraycopy(world.render(batch[i]).toCHW(), 0, images, i * per, per);
                }
                return new Batch(images, captions, batch, side, side);
            }
        };
    }
}
