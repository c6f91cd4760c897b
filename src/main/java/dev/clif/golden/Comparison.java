package dev.clif.golden;

import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.util.Arrays;

/** The outcome of comparing one computed tensor with its expected value. */
public record Comparison(String tensor, boolean pass, double maxAbsError, Tolerance tolerance, String detail) {

    /** allclose of two tensors of the same shape; a shape mismatch or a non-finite value fails. */
    public static Comparison of(String name, Tensor actual, Tensor expected, Tolerance tol) {
        long[] a = actual.shape();
        long[] e = expected.shape();
        if (!Arrays.equals(a, e))
            return new Comparison(name, false, Double.POSITIVE_INFINITY, tol,
                    "shape " + Arrays.toString(a) + " != expected " + Arrays.toString(e));
        try (Tensor x = actual.to(Device.CPU, DType.F64); Tensor y = expected.to(Device.CPU, DType.F64)) {
            return of(name, x.toDoubleArray(), y.toDoubleArray(), tol);
        }
    }

    public static Comparison of(String name, float[] actual, float[] expected, Tolerance tol) {
        double[] a = new double[actual.length];
        double[] e = new double[expected.length];
        for (int i = 0; i < a.length; i++) a[i] = actual[i];
        for (int i = 0; i < e.length; i++) e[i] = expected[i];
        return of(name, a, e, tol);
    }

    public static Comparison of(String name, double[] actual, double[] expected, Tolerance tol) {
        if (actual.length != expected.length)
            return new Comparison(name, false, Double.POSITIVE_INFINITY, tol,
                    actual.length + " values != expected " + expected.length);
        double maxAbs = 0;
        boolean pass = true;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs(actual[i] - expected[i]);
            if (!(d <= tol.atol() + tol.rtol() * Math.abs(expected[i]))) pass = false; // NaN fails too
            if (!(d <= maxAbs)) maxAbs = d;
        }
        return new Comparison(name, pass, maxAbs, tol, "");
    }

    /** Exact equality of integer sequences (token ids, timesteps). */
    public static Comparison exact(String name, long[] actual, long[] expected) {
        boolean pass = Arrays.equals(actual, expected);
        String detail = pass ? "" : "got " + abbreviate(actual) + ", expected " + abbreviate(expected);
        return new Comparison(name, pass, pass ? 0 : Double.NaN, Tolerance.EXACT, detail);
    }

    private static String abbreviate(long[] v) {
        String s = Arrays.toString(v);
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }

    /** One line as check-golden prints it. */
    public String line(String caseName) {
        return String.format("%s %s/%s max_abs_err=%.3g tol=(%s)%s", pass ? "PASS" : "FAIL", caseName, tensor,
                maxAbsError, tolerance, detail.isEmpty() ? "" : " " + detail);
    }
}
