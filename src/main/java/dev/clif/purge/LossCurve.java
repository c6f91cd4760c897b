package dev.clif.purge;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;

/** The loss curve of a purge as an image: per-step loss (light) and its moving average (dark), with axes. */
public final class LossCurve {
    private LossCurve() {}

    public static BufferedImage render(List<Double> loss, String title) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        int w = 800, h = 450, left = 70, right = 20, top = 40, bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.setColor(Color.BLACK);
            g.drawString(title, left, 22);
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (double v : loss) if (Double.isFinite(v)) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            if (!(lo <= hi)) {
                lo = 0;
                hi = 1;
            }
            if (hi - lo < 1e-9) {
                lo -= 0.5;
                hi += 0.5;
            }
            double pad = (hi - lo) * 0.05;
            lo -= pad;
            hi += pad;
            int pw = w - left - right, ph = h - top - bottom;
            int n = Math.max(loss.size(), 2);
            // grid and labels
            g.setColor(new Color(225, 225, 225));
            for (int i = 0; i <= 5; i++) {
                int y = top + ph - ph * i / 5;
                g.drawLine(left, y, left + pw, y);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, pw, ph);
            for (int i = 0; i <= 5; i++) {
                int y = top + ph - ph * i / 5;
                g.drawString(String.format(Locale.ROOT, "%.3f", lo + (hi - lo) * i / 5), 8, y + 4);
            }
            for (int i = 0; i <= 5; i++) {
                int x = left + pw * i / 5;
                int step = (int) Math.round(1 + (n - 1) * i / 5.0);
                g.drawString(Integer.toString(step), x - 8, top + ph + 16);
            }
            g.drawString("step", left + pw / 2 - 12, h - 12);
            g.drawString("loss", 8, top - 8);
            if (loss.isEmpty()) return img;
            int window = Math.max(1, loss.size() / 20);
            double[] avg = new double[loss.size()];
            double sum = 0;
            for (int i = 0; i < loss.size(); i++) {
                sum += loss.get(i);
                if (i >= window) sum -= loss.get(i - window);
                avg[i] = sum / Math.min(i + 1, window);
            }
            plot(g, loss.stream().mapToDouble(Double::doubleValue).toArray(), new Color(150, 180, 230), 1f, left, top, pw, ph, lo, hi, n);
            if (window > 1) plot(g, avg, new Color(20, 60, 160), 2f, left, top, pw, ph, lo, hi, n);
            return img;
        } finally {
            g.dispose();
        }
    }

    private static void plot(Graphics2D g, double[] v, Color c, float width, int left, int top, int pw, int ph, double lo, double hi, int n) {
        g.setColor(c);
        g.setStroke(new BasicStroke(width));
        int px = -1, py = -1;
        for (int i = 0; i < v.length; i++) {
            int x = left + (int) Math.round(pw * (double) i / (n - 1));
            int y = top + ph - (int) Math.round(ph * (v[i] - lo) / (hi - lo));
            if (v.length == 1) g.fillOval(x - 2, y - 2, 4, 4);
            if (px >= 0) g.drawLine(px, py, x, y);
            px = x;
            py = y;
        }
    }
}
