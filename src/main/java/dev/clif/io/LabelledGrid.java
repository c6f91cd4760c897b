package dev.clif.io;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Images in a grid with a label over each column and beside each row, so a picture of results can be read without the
 * JSON beside it. Cells are scaled up by a whole factor with nearest-neighbour sampling: small images stay sharp.
 */
public final class LabelledGrid {
    private static final int PAD = 4;
    private static final Color BACKGROUND = new Color(0x20, 0x20, 0x20);
    private static final Color TEXT = new Color(0xE8, 0xE8, 0xE8);

    private LabelledGrid() {}

    /**
     * @param cells one list per row, {@code columns.size()} images each (null leaves a cell empty)
     * @param scale the whole factor each image is enlarged by
     */
    public static BufferedImage render(String title, List<String> columns, List<String> rows, List<List<BufferedImage>> cells, int scale) {
        if (rows.size() != cells.size()) throw new IllegalArgumentException(rows.size() + " row labels for " + cells.size() + " rows");
        int cellW = 1, cellH = 1;
        for (List<BufferedImage> r : cells) {
            if (r.size() != columns.size()) throw new IllegalArgumentException(r.size() + " cells in a row of " + columns.size() + " columns");
            for (BufferedImage i : r)
                if (i != null) {
                    cellW = Math.max(cellW, i.getWidth() * scale);
                    cellH = Math.max(cellH, i.getHeight() * scale);
                }
        }
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        FontMetrics fm = pg.getFontMetrics(font);
        int labelW = 0;
        for (String r : rows) labelW = Math.max(labelW, fm.stringWidth(r));
        for (String c : columns) cellW = Math.max(cellW, fm.stringWidth(c) + 2);
        pg.dispose();
        int line = fm.getHeight();
        int titleH = title == null ? 0 : line + PAD;
        int headerH = line + PAD;
        int w = PAD + labelW + PAD + columns.size() * (cellW + PAD);
        int h = PAD + titleH + headerH + rows.size() * (cellH + PAD);
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(BACKGROUND);
            g.fillRect(0, 0, w, h);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
            g.setFont(font);
            g.setColor(TEXT);
            if (title != null) g.drawString(title, PAD, PAD + fm.getAscent());
            int x0 = PAD + labelW + PAD;
            int y0 = PAD + titleH;
            for (int c = 0; c < columns.size(); c++)
                g.drawString(columns.get(c), x0 + c * (cellW + PAD) + (cellW - fm.stringWidth(columns.get(c))) / 2, y0 + fm.getAscent());
            for (int r = 0; r < rows.size(); r++) {
                int y = y0 + headerH + r * (cellH + PAD);
                g.setColor(TEXT);
                g.drawString(rows.get(r), PAD, y + (cellH + fm.getAscent()) / 2 - 2);
                for (int c = 0; c < columns.size(); c++) {
                    BufferedImage img = cells.get(r).get(c);
                    if (img != null) g.drawImage(img, x0 + c * (cellW + PAD), y, img.getWidth() * scale, img.getHeight() * scale, null);
                }
            }
        } finally {
            g.dispose();
        }
        return out;
    }
}
