package dev.clif.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr: step, extra fields (loss, ...), rate and time left. Redrawn in place on
 * a terminal; on a pipe (CI logs) it prints a line every 10% instead, so logs stay readable.
 */
public final class Progress {
    private final String label;
    private final int total;
    private final PrintStream out;
    private final boolean terminal = System.console() != null;
    private final long start = System.nanoTime();
    private int lastDecile = -1;

    public Progress(String label, int total) {
        this(label, total, System.err);
    }

    public Progress(String label, int total, PrintStream out) {
        this.label = label;
        this.total = total;
        this.out = out;
    }

    /** Reports that {@code done} of the total steps have finished; {@code extra} is shown after the counts. */
    public void update(int done, String extra) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        double rate = done / Math.max(elapsed, 1e-9);
        update(done, extra, rate, done == 0 ? Double.NaN : (total - done) / rate);
    }

    /** As {@link #update(int, String)} with the caller's rate and time left (a resumed run counts work it did not do). */
    public void update(int done, String extra, double rate, double left) {
        int width = 24;
        int filled = total == 0 ? width : (int) ((long) width * done / total);
        String bar = "#".repeat(filled) + "-".repeat(width - filled);
        String line = String.format(Locale.ROOT, "%s [%s] %d/%d %s %.2f it/s, %s left", label, bar, done, total,
                extra == null ? "" : extra + ",", rate, done == 0 ? "?" : duration(left));
        if (terminal) {
            out.print("\r" + line + (done == total ? "\n" : ""));
            out.flush();
        } else {
            int decile = total == 0 ? 10 : (int) (10L * done / total);
            if (decile != lastDecile || done == total) {
                lastDecile = decile;
                out.println(line);
            }
        }
    }

    static String duration(double seconds) {
        if (Double.isNaN(seconds)) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
