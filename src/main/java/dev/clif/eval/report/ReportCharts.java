package dev.clif.eval.report;

import dev.clif.eval.Preservation;
import dev.clif.eval.Summary;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.CategoryItemRendererState;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.category.CategoryDataset;
import org.jfree.data.category.DefaultCategoryDataset;

/** The report's charts (JFreeChart, drawn headless): bars per model with their 95 % intervals as whiskers. */
public final class ReportCharts {
    static final Color[] PALETTE = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868), new Color(0xC44E52),
            new Color(0x8172B3), new Color(0x937860), new Color(0xDA8BC3), new Color(0x8C8C8C)};

    private ReportCharts() {}

    /** The flagged share per category (and "(all)"), one bar per model, in percent, with the bootstrap interval. */
    public static BufferedImage categoryChart(Summary summary, List<String> models, int width, int height) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        Map<String, double[]> ci = new HashMap<>();
        for (String m : models) {
            Summary.ModelSummary s = summary.models().get(m);
            if (s == null) continue;
            put(data, ci, m, "(all)", s.overall());
            s.categories().forEach((c, b) -> put(data, ci, m, c, b));
        }
        return draw("Flagged images per category (95% bootstrap interval over prompts)", "flagged %", data, ci, width, height, 100.0);
    }

    private static void put(DefaultCategoryDataset data, Map<String, double[]> ci, String model, String category, Summary.Block b) {
        data.addValue(100 * b.rate(), model, category);
        ci.put(model + "\u0000" + category, new double[] {100 * b.ci95()[0], 100 * b.ci95()[1]});
    }

    /** The CLIP score per model with its bootstrap interval; null when no model has one. */
    public static BufferedImage clipScoreChart(Preservation p, List<String> models, int width, int height) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        Map<String, double[]> ci = new HashMap<>();
        for (String m : models) {
            Preservation.ModelPreservation mp = p.models().get(m);
            if (mp == null || mp.clipScore() == null) continue;
            data.addValue(mp.clipScore().value(), m, "CLIP score");
            ci.put(m + "\u0000CLIP score", mp.clipScore().ci95());
        }
        if (data.getRowCount() == 0) return null;
        return draw("CLIP score (95% bootstrap interval over captions)", "100 cos(image, caption)", data, ci, width, height, null);
    }

    private static BufferedImage draw(String title, String valueLabel, DefaultCategoryDataset data, Map<String, double[]> ci, int width,
                                      int height, Double upper) {
        CategoryAxis x = new CategoryAxis(null);
        if (data.getColumnCount() > 6) x.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        NumberAxis y = new NumberAxis(valueLabel);
        double max = 0;
        for (double[] v : ci.values()) max = Math.max(max, v[1]);
        for (int r = 0; r < data.getRowCount(); r++)
            for (int c = 0; c < data.getColumnCount(); c++) {
                Number n = data.getValue(r, c);
                if (n != null) max = Math.max(max, n.doubleValue());
            }
        y.setRange(0, upper != null ? Math.min(upper, Math.max(5, max * 1.15)) : Math.max(1, max * 1.15));
        WhiskerBarRenderer renderer = new WhiskerBarRenderer(ci);
        CategoryPlot plot = new CategoryPlot(data, x, y, renderer);
        plot.setOrientation(PlotOrientation.VERTICAL);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xCCCCCC));
        for (int r = 0; r < data.getRowCount(); r++) renderer.setSeriesPaint(r, PALETTE[r % PALETTE.length]);
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 15), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            chart.draw(g, new Rectangle2D.Double(0, 0, width, height));
        } finally {
            g.dispose();
        }
        return img;
    }

    /** Bars, then a whisker from the interval's low to its high end over each bar. */
    static final class WhiskerBarRenderer extends BarRenderer {
        private static final long serialVersionUID = 1L;
        private final transient Map<String, double[]> ci;

        WhiskerBarRenderer(Map<String, double[]> ci) {
            this.ci = ci;
            setBarPainter(new StandardBarPainter());
            setShadowVisible(false);
            setItemMargin(0.05);
            setDrawBarOutline(false);
        }

        @Override
        public void drawItem(Graphics2D g2, CategoryItemRendererState state, Rectangle2D dataArea, CategoryPlot plot, CategoryAxis domainAxis,
                             ValueAxis rangeAxis, CategoryDataset dataset, int row, int column, int pass) {
            super.drawItem(g2, state, dataArea, plot, domainAxis, rangeAxis, dataset, row, column, pass);
            double[] iv = ci.get(dataset.getRowKey(row) + "\u0000" + dataset.getColumnKey(column));
            if (iv == null || dataset.getValue(row, column) == null) return;
            double w0 = calculateBarW0(plot, PlotOrientation.VERTICAL, dataArea, domainAxis, state, row, column);
            double mid = w0 + state.getBarWidth() / 2, half = Math.max(2, state.getBarWidth() / 5);
            double lo = rangeAxis.valueToJava2D(iv[0], dataArea, RectangleEdge.LEFT);
            double hi = rangeAxis.valueToJava2D(iv[1], dataArea, RectangleEdge.LEFT);
            g2.setPaint(Color.BLACK);
            g2.setStroke(new BasicStroke(1.5f));
            g2.draw(new Line2D.Double(mid, lo, mid, hi));
            g2.draw(new Line2D.Double(mid - half, lo, mid + half, lo));
            g2.draw(new Line2D.Double(mid - half, hi, mid + half, hi));
        }
    }
}
