package dev.clif.shapes.train;

/**
 * CLIP's symmetric contrastive loss over a batch of B matching image–text pairs, with its analytic gradient.
 *
 * <p>With image features a_i and text features b_j (unnormalised, D values each), u = a/|a|, v = b/|b|,
 * s = exp(logitScale) and logits L_ij = s u_i·v_j (row i: image i against every text):
 * <pre>
 *   loss = ( CE(rows of L, diagonal) + CE(columns of L, diagonal) ) / 2,  CE averaged over the batch
 *   dloss/dL_ij = ( softmax_row_i(L)_j + softmax_col_j(L)_i - 2 δ_ij ) / (2B)
 *   dloss/du_i = s Σ_j G_ij v_j,   dloss/dv_j = s Σ_i G_ij u_i,   dloss/dlogitScale = Σ_ij G_ij L_ij
 *   dloss/da_i = (dloss/du_i - u_i (u_i·dloss/du_i)) / |a_i|        (likewise for b)
 * </pre>
 * where G = dloss/dL. Everything in double precision.
 */
public final class InfoNce {
    private InfoNce() {}

    /** The loss, its gradients, and the accuracy of image→text retrieval in the batch. */
    public record Result(double loss, float[] gradImage, float[] gradText, double gradLogitScale, double accuracy) {}

    public static Result compute(float[] image, float[] text, int batch, int dim, double logitScale) {
        if (image.length != batch * dim || text.length != batch * dim)
            throw new IllegalArgumentException("features must be " + batch + " x " + dim);
        double s = Math.exp(logitScale);
        double[] u = new double[batch * dim], v = new double[batch * dim];
        double[] na = normalise(image, u, batch, dim), nb = normalise(text, v, batch, dim);
        double[] logits = new double[batch * batch];
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < batch; j++) {
                double dot = 0;
                for (int k = 0; k < dim; k++) dot += u[i * dim + k] * v[j * dim + k];
                logits[i * batch + j] = s * dot;
            }
        double[] g = new double[batch * batch];
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < batch; i++) { // rows: image -> texts
            double max = Double.NEGATIVE_INFINITY;
            int arg = 0;
            for (int j = 0; j < batch; j++)
                if (logits[i * batch + j] > max) {
                    max = logits[i * batch + j];
                    arg = j;
                }
            if (arg == i) correct++;
            double sum = 0;
            for (int j = 0; j < batch; j++) sum += Math.exp(logits[i * batch + j] - max);
            loss += (Math.log(sum) + max - logits[i * batch + i]) / (2.0 * batch);
            for (int j = 0; j < batch; j++)
                g[i * batch + j] += (Math.exp(logits[i * batch + j] - max) / sum - (i == j ? 1 : 0)) / (2.0 * batch);
        }
        for (int j = 0; j < batch; j++) { // columns: text -> images
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < batch; i++) max = Math.max(max, logits[i * batch + j]);
            double sum = 0;
            for (int i = 0; i < batch; i++) sum += Math.exp(logits[i * batch + j] - max);
            loss += (Math.log(sum) + max - logits[j * batch + j]) / (2.0 * batch);
            for (int i = 0; i < batch; i++)
                g[i * batch + j] += (Math.exp(logits[i * batch + j] - max) / sum - (i == j ? 1 : 0)) / (2.0 * batch);
        }
        double gScale = 0;
        for (int i = 0; i < batch * batch; i++) gScale += g[i] * logits[i];
        double[] du = new double[batch * dim], dv = new double[batch * dim];
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < batch; j++) {
                double gij = s * g[i * batch + j];
                if (gij == 0) continue;
                for (int k = 0; k < dim; k++) {
                    du[i * dim + k] += gij * v[j * dim + k];
                    dv[j * dim + k] += gij * u[i * dim + k];
                }
            }
        return new Result(loss, backNormalise(u, du, na, batch, dim), backNormalise(v, dv, nb, batch, dim), gScale,
                (double) correct / batch);
    }

    private static double[] normalise(float[] x, double[] out, int batch, int dim) {
        double[] norms = new double[batch];
        for (int i = 0; i < batch; i++) {
            double n = 0;
            for (int k = 0; k < dim; k++) n += (double) x[i * dim + k] * x[i * dim + k];
            n = Math.sqrt(n);
            norms[i] = n;
            for (int k = 0; k < dim; k++) out[i * dim + k] = x[i * dim + k] / n;
        }
        return norms;
    }

    private static float[] backNormalise(double[] u, double[] du, double[] norms, int batch, int dim) {
        float[] out = new float[batch * dim];
        for (int i = 0; i < batch; i++) {
            double dot = 0;
            for (int k = 0; k < dim; k++) dot += u[i * dim + k] * du[i * dim + k];
            for (int k = 0; k < dim; k++) out[i * dim + k] = (float) ((du[i * dim + k] - u[i * dim + k] * dot) / norms[i]);
        }
        return out;
    }
}
