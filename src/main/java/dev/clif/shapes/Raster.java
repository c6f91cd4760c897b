package dev.clif.shapes;

/**
 * Plain integer-grid rasterisation, no anti-aliasing: a pixel belongs to a shape iff its centre
 * {@code (x + 0.5, y + 0.5)} lies inside it.
 */
final class Raster {
    private Raster() {}

    /**
     * Whether pixel (x, y) lies in the shape of kind {@code k} fitted to the box of {@code w} x {@code h}
     * pixels at (x0, y0): SQUARE fills the box, CIRCLE is the inscribed ellipse, TRIANGLE has its apex at the
     * middle of the top edge and its base on the bottom edge.
     */
    static boolean inside(ShapeKind k, int x0, int y0, int w, int h, int x, int y) {
        if (x < x0 || y < y0 || x >= x0 + w || y >= y0 + h) return false;
        double px = x + 0.5 - x0, py = y + 0.5 - y0; // centre, relative to the box
        return switch (k) {
            case SQUARE -> true;
            case CIRCLE -> {
                double dx = (px - w / 2.0) / (w / 2.0), dy = (py - h / 2.0) / (h / 2.0);
                yield dx * dx + dy * dy <= 1.0;
            }
            case TRIANGLE -> Math.abs(px - w / 2.0) <= (py / h) * (w / 2.0);
        };
    }
}
