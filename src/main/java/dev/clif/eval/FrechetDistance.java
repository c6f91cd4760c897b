package dev.clif.eval;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The Fréchet distance between Gaussians fitted to two feature sets, as pytorch-fid and clean-fid compute FID:
 * float64 means and unbiased covariances ({@code np.cov(rowvar=False)}), then
 * {@code |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2)}. The trace of the square root is taken through the
 * symmetric matrix {@code sqrt(S1) S2 sqrt(S1)}, which has the same eigenvalues as {@code S1 S2}: its eigenvalues
 * (EJML's symmetric eigen-decomposition), negatives from rounding clamped to 0, square-rooted and summed. That stays
 * finite and real where {@code scipy.linalg.sqrtm} needs its real part, including singular covariances (fewer vectors
 * than dimensions).
 */
public final class FrechetDistance {
    private FrechetDistance() {}

    /** A fitted Gaussian: the mean and the unbiased (n - 1) covariance, row-major [dim * dim]. */
    public record Gaussian(double[] mean, double[] covariance, int samples) {
        public int dim() {
            return mean.length;
        }
    }

    /** Mean and unbiased covariance of {@code features} [vectors][dim] in float64; needs at least 2 vectors. */
    public static Gaussian fit(double[][] features) {
        int n = features.length;
        if (n < 2) throw new IllegalArgumentException("a covariance needs at least 2 feature vectors, got " + n);
        int d = features[0].length;
        double[] mu = new double[d];
        for (double[] f : features) {
            if (f.length != d) throw new IllegalArgumentException("feature vectors of widths " + d + " and " + f.length);
            for (int k = 0; k < d; k++) mu[k] += f[k];
        }
        for (int k = 0; k < d; k++) mu[k] /= n;
        double[] cov = new double[d * d];
        double[] c = new double[d];
        for (double[] f : features) {
            for (int k = 0; k < d; k++) c[k] = f[k] - mu[k];
            for (int i = 0; i < d; i++) {
                double ci = c[i];
                if (ci == 0) continue;
                int row = i * d;
                for (int j = 0; j < d; j++) cov[row + j] += ci * c[j];
            }
        }
        for (int i = 0; i < cov.length; i++) cov[i] /= n - 1;
        for (double v : cov) if (!Double.isFinite(v)) throw new IllegalArgumentException("the feature vectors hold NaN or infinite values");
        return new Gaussian(mu, cov, n);
    }

    /** FID between the fitted Gaussians of two feature sets. */
    public static double fid(double[][] a, double[][] b) {
        return distance(fit(a), fit(b));
    }

    /** {@code |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(sqrt(S1) S2 sqrt(S1))}. */
    public static double distance(Gaussian g1, Gaussian g2) {
        int d = g1.dim();
        if (g2.dim() != d) throw new IllegalArgumentException("features of width " + d + " against width " + g2.dim());
        double diff = 0;
        for (int k = 0; k < d; k++) {
            double x = g1.mean()[k] - g2.mean()[k];
            diff += x * x;
        }
        DMatrixRMaj s1 = new DMatrixRMaj(d, d, true, g1.covariance());
        DMatrixRMaj s2 = new DMatrixRMaj(d, d, true, g2.covariance());
        DMatrixRMaj root1 = symmetricSqrt(s1);
        DMatrixRMaj tmp = new DMatrixRMaj(d, d), m = new DMatrixRMaj(d, d);
        CommonOps_DDRM.mult(root1, s2, tmp);
        CommonOps_DDRM.mult(tmp, root1, m);
        double trSqrt = 0;
        for (double l : symmetricEigenvalues(m)) trSqrt += Math.sqrt(Math.max(l, 0));
        return diff + CommonOps_DDRM.trace(s1) + CommonOps_DDRM.trace(s2) - 2 * trSqrt;
    }

    /** V diag(sqrt(max(l, 0))) V^T of a symmetric positive semi-definite matrix. */
    static DMatrixRMaj symmetricSqrt(DMatrixRMaj s) {
        int d = s.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = decompose(s);
        DMatrixRMaj out = new DMatrixRMaj(d, d);
        for (int i = 0; i < d; i++) {
            double r = Math.sqrt(Math.max(eig.getEigenvalue(i).real, 0));
            if (r == 0) continue;
            DMatrixRMaj v = eig.getEigenVector(i);
            for (int a = 0; a < d; a++) {
                double va = r * v.get(a, 0);
                for (int b = 0; b < d; b++) out.add(a, b, va * v.get(b, 0));
            }
        }
        return out;
    }

    /** The eigenvalues of a matrix made exactly symmetric first ((M + M^T) / 2 removes rounding asymmetry). */
    static double[] symmetricEigenvalues(DMatrixRMaj m) {
        EigenDecomposition_F64<DMatrixRMaj> eig = decompose(m);
        double[] out = new double[m.numRows];
        for (int i = 0; i < out.length; i++) out[i] = eig.getEigenvalue(i).real;
        return out;
    }

    private static EigenDecomposition_F64<DMatrixRMaj> decompose(DMatrixRMaj m) {
        int d = m.numRows;
        DMatrixRMaj sym = new DMatrixRMaj(d, d);
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) sym.set(a, b, 0.5 * (m.get(a, b) + m.get(b, a)));
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(sym)) throw new IllegalStateException("the symmetric eigen-decomposition of a " + d + "x" + d + " covariance did not converge");
        return eig;
    }
}
