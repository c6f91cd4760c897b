package dev.clif.purge;

/**
 * The directional CLIP loss of CLIF (as in StyleGAN-NADA), computed in Java in double precision with its
 * analytic gradient.
 *
 * <pre>
 *   e  = normalize(E_I(θ)),  e0 = normalize(E_I(θ0))          per image of the batch
 *   ΔI = normalize(e − e0)
 *   L  = mean over the batch of 1 − ΔI·ΔT
 * </pre>
 *
 * ΔT is the unit text direction of the concept pair ({@link #textDirection}). The gradient with respect to
 * the unnormalised trainable embeddings E = E_I(θ) is, per row b (B rows, d = e − e0, c = ΔI·ΔT):
 * <pre>
 *   dL/dE_b = −(1/B) · (I − e eᵀ)/|E| · (ΔT − c·ΔI)/|d|
 * </pre>
 *
 * <p><b>Tie-break when ΔI is undefined.</b> At the first step of a purge θ = θ0, so e = e0 and ΔI = 0/0.
 * Then (and whenever |d| ≤ {@link #TIE_EPS}) the row's cosine is taken as 0 (its loss is 1) and its
 * gradient is that of the linearised loss 1 − (e − e0)·ΔT, i.e. −(1/B)(I − e eᵀ)ΔT/|E|: the steepest
 * descent direction that moves e toward ΔT, which is the limit direction of the true gradient as d → 0
 * along ΔT. It is deterministic and depends only on E and ΔT.
 *
 * <p><b>Size term (optional, weight w ≥ 0, off at 0).</b> The directional loss asks nothing of how far the images
 * move: a half move along ΔT scores as well as a full one. With w &gt; 0 and the text gap g = |t̄_tgt − t̄_src|
 * ({@link #textGap}) each row adds a hinge on its projection p = (e − e0)·ΔT:
 * <pre>
 *   L += w · mean over the batch of max(0, 1 − p/g)
 *   dL/dE_b += −(w/(B·g)) · (I − e eᵀ)/|E| · ΔT        while p &lt; g (0 once the row has moved by the text gap)
 * </pre>
 * so the images are asked to move along ΔT by as much as the concepts' texts differ, and no further.
 */
public final class DirectionalClipLoss {
    /**
     * |e − e0| at or below this counts as "no change yet" (see the tie-break). The unit embeddings of θ and θ0
     * differ by float32 rounding (~1e-7) even when the weights are equal, because the trainable branch runs with
     * autograd; below 1e-5 the direction of e − e0 is rounding noise, and following it would give the first
     * steps gradients of norm ~1/|e − e0| in random directions.
     */
    public static final double TIE_EPS = 1e-5;

    private DirectionalClipLoss() {}

    /** The loss, per-row cosines, and dL/dE (same shape as the trainable embeddings). */
    public record Result(double loss, double[] cos, float[][] gradient, int tieBreaks, double[] progress) {
        public Result(double loss, double[] cos, float[][] gradient, int tieBreaks) {
            this(loss, cos, gradient, tieBreaks, null);
        }
    }

    /**
     * @param train  E_I(θ): [B][D] unnormalised image embeddings of the trainable model
     * @param frozen E_I(θ0): [B][D] of the frozen model
     * @param deltaT the unit text direction, length D
     */
    public static Result compute(float[][] train, float[][] frozen, float[] deltaT) {
        return compute(train, frozen, deltaT, 0, 0);
    }

    /**
     * The directional loss plus the size term (see the class comment): {@code sizeWeight} w, {@code gap} the text gap g
     * (&gt; 0 when w &gt; 0; with w = 0 a positive gap only fills {@link Result#progress}, p/g per row).
     */
    public static Result compute(float[][] train, float[][] frozen, float[] deltaT, double sizeWeight, double gap) {
        if (!(sizeWeight >= 0) || !Double.isFinite(sizeWeight)) throw new IllegalArgumentException("size weight must be a finite number >= 0, got " + sizeWeight);
        if (sizeWeight > 0 && !(gap > 0 && Double.isFinite(gap))) throw new IllegalArgumentException("the size term needs a positive text gap, got " + gap);
        int b = train.length;
        if (b == 0 || frozen.length != b) throw new IllegalArgumentException("need the same non-zero batch of train and frozen embeddings");
        int dim = deltaT.length;
        double[] t = new double[dim];
        for (int i = 0; i < dim; i++) t[i] = deltaT[i];
        double tNorm = norm(t);
        if (!(Math.abs(tNorm - 1) < 1e-3)) throw new IllegalArgumentException("ΔT must be a unit vector, |ΔT| = " + tNorm);
        double loss = 0;
        double[] cos = new double[b];
        float[][] grad = new float[b][dim];
        int ties = 0;
        double[] progress = gap > 0 ? new double[b] : null;
        for (int r = 0; r < b; r++) {
            if (train[r].length != dim || frozen[r].length != dim)
                throw new IllegalArgumentException("embedding row " + r + " has length " + train[r].length + "/" + frozen[r].length + ", ΔT has " + dim);
            double[] x = toDouble(train[r]);
            double[] y = toDouble(frozen[r]);
            requireFinite(x, "trainable image embedding", r);
            requireFinite(y, "frozen image embedding", r);
            double nx = norm(x);
            double ny = norm(y);
            if (nx == 0 || ny == 0) throw new IllegalArgumentException("image embedding of row " + r + " is zero: cannot normalise");
            double[] e = scale(x, 1 / nx);
            double[] e0 = scale(y, 1 / ny);
            double[] d = new double[dim];
            for (int i = 0; i < dim; i++) d[i] = e[i] - e0[i];
            double nd = norm(d);
            double[] v; // the vector that (I − e eᵀ)/|E| is applied to, before the −1/B factor
            if (nd <= TIE_EPS) {
                ties++;
                cos[r] = 0;
                v = t.clone();
            } else {
                double[] di = scale(d, 1 / nd);
                double c = dot(di, t);
                cos[r] = c;
                v = new double[dim];
                for (int i = 0; i < dim; i++) v[i] = (t[i] - c * di[i]) / nd;
            }
            loss += 1 - cos[r];
            if (progress != null) {
                double p = dot(d, t) / gap;
                progress[r] = p;
                if (sizeWeight > 0 && p < 1) {
                    loss += sizeWeight * (1 - p);
                    for (int i = 0; i < dim; i++) v[i] += sizeWeight / gap * t[i];
                }
            }
            double ev = dot(e, v);
            for (int i = 0; i < dim; i++) grad[r][i] = (float) (-(v[i] - e[i] * ev) / nx / b);
        }
        return new Result(loss / b, cos, grad, ties, progress);
    }

    /**
     * ΔT = normalize(t̄_tgt − t̄_src), where t̄ = normalize(mean over templates of normalize(text features)).
     *
     * @param source [templates][D] text features of the source concept in each template
     * @param target [templates][D] of the target concept
     */
    public static float[] textDirection(float[][] source, float[][] target) {
        double[] s = meanDirection(source, "source");
        double[] t = meanDirection(target, "target");
        double[] d = new double[s.length];
        for (int i = 0; i < d.length; i++) d[i] = t[i] - s[i];
        double n = norm(d);
        if (n < 1e-12) throw new IllegalArgumentException("source and target concepts have the same text embedding: no direction to purge along");
        float[] out = new float[d.length];
        for (int i = 0; i < d.length; i++) out[i] = (float) (d[i] / n);
        return out;
    }

    /** The text gap g = |t̄_tgt − t̄_src| of two concepts' template-averaged unit text features (the size term's target). */
    public static double textGap(float[][] source, float[][] target) {
        double[] s = meanDirection(source, "source");
        double[] t = meanDirection(target, "target");
        double[] d = new double[s.length];
        for (int i = 0; i < d.length; i++) d[i] = t[i] - s[i];
        return norm(d);
    }

    /** normalize(mean of the L2-normalised rows). */
    public static double[] meanDirection(float[][] rows, String what) {
        if (rows.length == 0) throw new IllegalArgumentException("no " + what + " text features");
        int dim = rows[0].length;
        double[] m = new double[dim];
        for (int r = 0; r < rows.length; r++) {
            double[] x = toDouble(rows[r]);
            requireFinite(x, what + " text feature", r);
            double n = norm(x);
            if (n == 0) throw new IllegalArgumentException(what + " text feature " + r + " is zero");
            for (int i = 0; i < dim; i++) m[i] += x[i] / n / rows.length;
        }
        return scale(m, 1 / norm(m));
    }

    private static void requireFinite(double[] x, String what, int row) {
        for (double v : x) if (!Double.isFinite(v)) throw new IllegalArgumentException(what + " " + row + " holds a non-finite value");
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    static double[] scale(double[] a, double k) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) o[i] = a[i] * k;
        return o;
    }
}
