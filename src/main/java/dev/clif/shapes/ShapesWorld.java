package dev.clif.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The shapes world: square RGB pictures, {@value #DEFAULT_SIZE} pixels a side by default, of one or two
 * shapes ({@link ShapeKind}) in distinct {@link Colour}s on a black background, captioned "a red circle" or
 * "a green square and a yellow triangle".
 *
 * <p>Everything is deterministic: a scene is a function of the seed (or of the state of the
 * {@link SplittableRandom} it is drawn from), and a picture is a function of its scene.
 *
 * <p>Sizes and places: a shape's bounding box is a square of {@code size/4 .. size/2} pixels a side
 * ({@code size/4 .. 7*size/16} when there are two shapes), kept one pixel clear of the picture's edges. Two
 * shapes' bounding boxes are at least {@link #gap()} pixels apart, so they never touch, even after a blur.
 * Drawing is crisp: a pixel takes a shape's colour iff its centre lies inside the shape (no anti-aliasing);
 * see {@link ShapeSpec#covers}.
 */
public final class ShapesWorld {
    /** The default side of a picture, in pixels. */
    public static final int DEFAULT_SIZE = 32;
    /** The smallest side this world draws. */
    public static final int MIN_SIZE = 16;
    /** The most shapes a scene holds. */
    public static final int MAX_SHAPES = 2;

    private static final int MARGIN = 1;
    private static final int MAX_TRIES = 10_000;

    private final int size;

    /** A world of {@value #DEFAULT_SIZE}-pixel pictures. */
    public ShapesWorld() {
        this(DEFAULT_SIZE);
    }

    /** A world of {@code size} x {@code size} pictures ({@code size >= }{@value #MIN_SIZE}). */
    public ShapesWorld(int size) {
        if (size < MIN_SIZE) throw new IllegalArgumentException("size " + size + " < " + MIN_SIZE);
        this.size = size;
    }

    /** The side of a picture, in pixels. */
    public int size() {
        return size;
    }

    /** The smallest bounding-box side a shape gets. */
    public int minShapeSize() {
        return size / 4;
    }

    /** The largest bounding-box side a shape gets in a scene of {@code shapes} shapes. */
    public int maxShapeSize(int shapes) {
        return shapes == 1 ? size / 2 : size * 7 / 16;
    }

    /** The least number of background pixels between two shapes' bounding boxes. */
    public int gap() {
        return Math.max(2, size / 16);
    }

    /** The scene of seed {@code seed}: {@code sample(new SplittableRandom(seed))}. */
    public Scene sample(long seed) {
        return sample(new SplittableRandom(seed));
    }

    /**
     * A random scene: one or two shapes (even odds), distinct colours (uniform), kinds uniform and
     * independent, random sizes and places.
     */
    public Scene sample(SplittableRandom rnd) {
        int n = 1 + rnd.nextInt(MAX_SHAPES);
        Colour[] all = Colour.values();
        int c1 = rnd.nextInt(all.length);
        List<Part> parts = new ArrayList<>(n);
        parts.add(new Part(all[c1], randomKind(rnd)));
        if (n == 2) parts.add(new Part(all[(c1 + 1 + rnd.nextInt(all.length - 1)) % all.length], randomKind(rnd)));
        return scene(parts, rnd);
    }

    private static ShapeKind randomKind(SplittableRandom rnd) {
        ShapeKind[] kinds = ShapeKind.values();
        return kinds[rnd.nextInt(kinds.length)];
    }

    /** The scene of a caption ("a red circle and a blue square") at random sizes and places. */
    public Scene scene(String caption, long seed) {
        return scene(Part.parse(caption), new SplittableRandom(seed));
    }

    /** {@code scene(wanted, new SplittableRandom(seed))}. */
    public Scene scene(List<Part> wanted, long seed) {
        return scene(wanted, new SplittableRandom(seed));
    }

    /**
     * A scene of exactly the wanted shapes, in that (caption) order, at random sizes and places.
     *
     * @throws IllegalArgumentException unless there are 1 to {@value #MAX_SHAPES} parts of distinct colours
     */
    public Scene scene(List<Part> wanted, SplittableRandom rnd) {
        int n = wanted.size();
        if (n < 1 || n > MAX_SHAPES)
            throw new IllegalArgumentException("a scene holds 1 to " + MAX_SHAPES + " shapes, not " + n);
        if (wanted.stream().map(Part::colour).distinct().count() != n)
            throw new IllegalArgumentException("the shapes of a scene have distinct colours: " + wanted);
        int lo = minShapeSize(), hi = maxShapeSize(n), gap = gap();
        for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
            List<ShapeSpec> placed = new ArrayList<>(n);
            for (Part p : wanted) {
                int s = lo + rnd.nextInt(hi - lo + 1);
                int x0 = MARGIN + rnd.nextInt(size - 2 * MARGIN - s + 1);
                int y0 = MARGIN + rnd.nextInt(size - 2 * MARGIN - s + 1);
                ShapeSpec spec = new ShapeSpec(p.kind(), p.colour(), x0 + s / 2, y0 + s / 2, s);
                if (placed.stream().allMatch(q -> apart(q, spec, gap))) placed.add(spec);
                else break;
            }
            if (placed.size() == n) return new Scene(placed);
        }
        throw new IllegalStateException("cannot place " + wanted + " in " + size + "x" + size); // not reached
    }

    /** Whether the bounding boxes of a and b leave at least {@code gap} pixels between them. */
    static boolean apart(ShapeSpec a, ShapeSpec b, int gap) {
        int ax1 = a.x0() + a.size(), ay1 = a.y0() + a.size(), bx1 = b.x0() + b.size(), by1 = b.y0() + b.size();
        return b.x0() - ax1 >= gap || a.x0() - bx1 >= gap || b.y0() - ay1 >= gap || a.y0() - by1 >= gap;
    }

    /** The caption of these shapes, in order: "a red circle", "a green square and a yellow triangle". */
    public static String caption(List<ShapeSpec> shapes) {
        return Part.caption(shapes.stream().map(ShapeSpec::part).toList());
    }

    /** The picture of a scene: black, then each shape drawn in order (pixels outside the picture dropped). */
    public Image render(Scene scene) {
        Image im = Image.blank(size, size);
        for (ShapeSpec s : scene.shapes()) {
            int x0 = Math.max(0, s.x0()), y0 = Math.max(0, s.y0());
            int x1 = Math.min(size, s.x0() + s.size()), y1 = Math.min(size, s.y0() + s.size());
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    if (s.covers(x, y)) im.setPixel(x, y, s.colour().rgb());
        }
        return im;
    }

    /** {@code render(sample(seed))}. */
    public Image draw(long seed) {
        return render(sample(seed));
    }

    @Override
    public String toString() {
        return "ShapesWorld[" + size + "x" + size + "]";
    }
}
