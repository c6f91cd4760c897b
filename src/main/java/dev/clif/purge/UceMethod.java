package dev.clif.purge;

import dev.clif.ClifException;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.linsol.LinearSolverDense;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * UCE (Gandikota et al., "Unified Concept Editing in Diffusion Models", 2024): a closed-form edit of every
 * cross-attention key and value projection W ({@code attn2.to_k}, {@code attn2.to_v}) that minimises
 * <pre>
 *   J(W') = e·Σ_i ‖W' c_i − v*_i‖² + λ·Σ_j ‖W' c_j − W c_j‖² + r·‖W' − W‖²_F,   v*_i = W c'_i,
 * </pre>
 * so {@code W' = (e Σ v*_i c_iᵀ + λ Σ W c_j c_jᵀ + r W)(e Σ c_i c_iᵀ + λ Σ c_j c_jᵀ + r I)⁻¹}.
 *
 * <p>As UCE's code ({@code train_erase.py}, technique "replace", erase scale e = 1): an erased prompt and its target
 * prompt are encoded by the SD text encoder and aligned from each one's last word token to the end of the 77-token
 * sequence (end token and padding included), the longer one cut at the end so both have the same count; the c_i are
 * the erased prompt's token embeddings there, the c'_i the target's. The preserved prompts (UCE's retain set) count
 * with all 77 tokens. The erased prompts are each concept's source text (mapped to its target) and, with a prompt file,
 * each of the concept's prompts that names the source, mapped to the same prompt with the source replaced by the target.
 *
 * <p>Since v*_i = W c'_i, every term is W times a text-space matrix, so one d×d matrix T serves every layer:
 * {@code W' = W·T}, T = (e N + λ P + r I)(e C + λ P + r I)⁻¹ with C = Σ c cᵀ, N = Σ c' cᵀ, P = Σ c_j c_jᵀ (d the text
 * width). UCE always adds r = {@code lamb} (0.5 in its script); here r is 0 unless the second factor's condition number
 * exceeds {@link #CONDITION_LIMIT} (then the smallest r that brings it there), or what {@code --uce-ridge} gives. The
 * report says which, with the eigenvalues.
 */
final class UceMethod implements PurgeMethod.ClosedForm {
    /** UCE's erase_scale. */
    static final double ERASE_SCALE = 1.0;
    /** The largest condition number of the second factor solved without a ridge. */
    static final double CONDITION_LIMIT = 1e6;

    private final PurgeConfig config;

    UceMethod(PurgeConfig config) {
        this.config = config;
    }

    @Override
    public void check() {
        if (config.preserves())
            throw new ClifException("--method uce keeps its preserved prompts through --uce-preserve-scale, not --preserve-weight (there is no UNet forward)");
    }

    /** The text-space statistics of an edit (d×d, row-major): C = Σ c cᵀ, N = Σ c' cᵀ, Q = Σ c' c'ᵀ, P = Σ c_j c_jᵀ. */
    record Statistics(int dim, double[] c, double[] n, double[] q, double[] p, int erasedTokens, int preservedTokens) {}

    /** The solve: T and what was done to get it. */
    record Solution(double[] t, double ridge, String ridgeReason, double eigMin, double eigMax) {
        double condition() {
            return eigMin > 0 ? eigMax / eigMin : Double.POSITIVE_INFINITY;
        }
    }

    @Override
    public ObjectNode edit(StableDiffusion sd, UNet unet, List<String> names, List<String> preservePrompts, List<PromptList.Prompt> prompts) {
        for (String n : names)
            if (!KvPreservation.readsText(n))
                throw new ClifException("--method uce edits the cross-attention keys and values only, but --params "
                        + String.join(",", config.params()) + " selects " + n + " (use --params xattn-kv)");
        if (names.isEmpty()) throw new ClifException("--method uce: --params " + String.join(",", config.params()) + " selects no tensor");
        List<String[]> erased = erasedPairs(prompts);
        Statistics st = statistics(sd, erased, preservePrompts == null ? List.of() : preservePrompts);
        Solution sol = solve(st, ERASE_SCALE, config.ucePreserveScale(), config.uceRidge());
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("method", "uce");
        o.put("erase_scale", ERASE_SCALE);
        o.put("preserve_scale", config.ucePreserveScale());
        o.put("erased_prompts", erased.size());
        o.put("erased_tokens", st.erasedTokens());
        o.put("preserved_prompts", preservePrompts == null ? 0 : preservePrompts.size());
        o.put("preserved_tokens", st.preservedTokens());
        o.put("text_dim", st.dim());
        o.put("second_factor_eigenvalue_min", sol.eigMin());
        o.put("second_factor_eigenvalue_max", sol.eigMax());
        o.put("second_factor_condition", Double.isFinite(sol.condition()) ? sol.condition() : -1);
        o.put("ridge", sol.ridge());
        o.put("ridge_reason", sol.ridgeReason());
        ArrayNode examples = o.putArray("erased_pairs");
        for (int i = 0; i < Math.min(erased.size(), 20); i++) examples.addArray().add(erased.get(i)[0]).add(erased.get(i)[1]);
        ArrayNode layers = o.putArray("layers");
        Device device = unet.device();
        try (TensorScope scope = TensorScope.open()) {
            int d = st.dim();
            Tensor t = Tensor.of(sol.t(), d, d).to(device);
            for (String name : names) {
                Tensor w = unet.parameter(name);
                long[] shape = w.shape();
                if (shape.length != 2 || shape[1] != d)
                    throw new ClifException(name + " has shape " + java.util.Arrays.toString(shape) + ", expected [out, " + d + "] (the text width)");
                Tensor w64 = w.to(device, DType.F64);
                Tensor edited = w64.matmul(t);
                double[] g = w64.transpose().matmul(w64).to(Device.CPU, DType.F64).toDoubleArray();
                unet.setParameter(name, edited.to(device, w.dtype()));
                double[] r = residuals(g, st, sol.t());
                ObjectNode l = layers.addObject();
                l.put("name", name);
                l.put("erased_residual_before", r[0]);
                l.put("erased_residual_after", r[1]);
                l.put("preserved_change_relative", r[2]);
            }
        }
        return o;
    }

    /** Every (erased, target) prompt pair: each concept's own words, then its prompts that name the source. */
    List<String[]> erasedPairs(List<PromptList.Prompt> prompts) {
        List<String[]> out = new ArrayList<>();
        for (ConceptPair p : config.concepts()) {
            out.add(new String[] {p.source(), p.target()});
            if (prompts == null) continue;
            Pattern word = Pattern.compile("(?i)(?<![\\p{L}\\p{N}])" + Pattern.quote(p.source()) + "(?![\\p{L}\\p{N}])");
            for (String text : PromptList.forConcept(prompts, p)) {
                Matcher m = word.matcher(text);
                if (!m.find()) continue;
                String mapped = m.replaceAll(Matcher.quoteReplacement(p.target()));
                if (!text.toLowerCase(Locale.ROOT).equals(p.source().toLowerCase(Locale.ROOT))) out.add(new String[] {text, mapped});
            }
        }
        return out;
    }

    /** C, N and P from the SD text encoder, with UCE's token alignment. */
    static Statistics statistics(StableDiffusion sd, List<String[]> erased, List<String> preserved) {
        ClipTokenizer tok = sd.tokenizer();
        int max = tok.maxLength();
        double[] c = null, n = null, q = null, p = null;
        int d = 0, erasedTokens = 0, preservedTokens = 0;
        for (String[] pair : erased) {
            try (TensorScope s = TensorScope.open()) {
                Tensor e = sd.encodePrompts(List.of(pair[0], pair[1]), 0);
                long[] sh = e.shape();
                d = (int) sh[2];
                if (c == null) {
                    c = new double[d * d];
                    n = new double[d * d];
                    q = new double[d * d];
                    p = new double[d * d];
                }
                float[] v = e.to(Device.CPU, DType.F32).toFloatArray();
                int len = (int) sh[1];
                int lastOld = Math.min(tok.encode(pair[0]).length, max) - 2;
                int lastNew = Math.min(tok.encode(pair[1]).length, max) - 2;
                int farthest = Math.max(lastOld, lastNew);
                int rows = len - farthest;
                for (int k = 0; k < rows; k++) {
                    int oi = (lastOld + k) * d, ni = (len + lastNew + k) * d;
                    accumulate(c, v, oi, v, oi, d);
                    accumulate(n, v, ni, v, oi, d);
                    accumulate(q, v, ni, v, ni, d);
                }
                erasedTokens += rows;
            }
        }
        if (c == null) throw new ClifException("--method uce: nothing to erase");
        for (String text : preserved) {
            try (TensorScope s = TensorScope.open()) {
                Tensor e = sd.encodePrompts(List.of(text), 0);
                float[] v = e.to(Device.CPU, DType.F32).toFloatArray();
                int len = (int) e.shape()[1];
                for (int k = 0; k < len; k++) accumulate(p, v, k * d, v, k * d, d);
                preservedTokens += len;
            }
        }
        return new Statistics(d, c, n, q, p, erasedTokens, preservedTokens);
    }

    /** m += a bᵀ for the d-vectors at a[ai..] and b[bi..]. */
    private static void accumulate(double[] m, float[] a, int ai, float[] b, int bi, int d) {
        for (int i = 0; i < d; i++) {
            double x = a[ai + i];
            int row = i * d;
            for (int j = 0; j < d; j++) m[row + j] += x * b[bi + j];
        }
    }

    /**
     * T = (e N + λ P + r I)(e C + λ P + r I)⁻¹; {@code ridge} {@link PurgeConfig#RIDGE_AUTO}: r = 0 when the second factor
     * (symmetric, positive semi-definite) has condition number at most {@link #CONDITION_LIMIT}, else the smallest r
     * giving exactly that.
     */
    static Solution solve(Statistics st, double erase, double preserve, double ridge) {
        int d = st.dim();
        DMatrixRMaj m2 = new DMatrixRMaj(d, d);
        DMatrixRMaj a = new DMatrixRMaj(d, d);
        for (int k = 0; k < d * d; k++) {
            m2.data[k] = erase * st.c()[k] + preserve * st.p()[k];
            a.data[k] = erase * st.n()[k] + preserve * st.p()[k];
        }
        // symmetrise against rounding (C and P are sums of outer products, symmetric in exact arithmetic)
        for (int i = 0; i < d; i++)
            for (int j = i + 1; j < d; j++) {
                double s = 0.5 * (m2.get(i, j) + m2.get(j, i));
                m2.set(i, j, s);
                m2.set(j, i, s);
            }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, false, true);
        if (!eig.decompose(m2.copy())) throw new ClifException("UCE: the eigen-decomposition of the second factor failed");
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < d; i++) {
            double ev = eig.getEigenvalue(i).getReal();
            lo = Math.min(lo, ev);
            hi = Math.max(hi, ev);
        }
        if (!(hi > 0)) throw new ClifException("UCE: the erased prompts' token embeddings are all zero: nothing to solve");
        double r;
        String reason;
        if (ridge != PurgeConfig.RIDGE_AUTO) {
            r = ridge;
            reason = "given (--uce-ridge " + ridge + ")";
        } else if (lo > 0 && hi / lo <= CONDITION_LIMIT) {
            r = 0;
            reason = String.format(Locale.ROOT, "none needed: condition number %.3g <= %.0e", hi / lo, CONDITION_LIMIT);
        } else {
            r = (hi - CONDITION_LIMIT * lo) / (CONDITION_LIMIT - 1);
            reason = String.format(Locale.ROOT, "ill-conditioned (eigenvalues %.3g to %.3g): ridge toward the original weights brings the condition number to %.0e",
                    lo, hi, CONDITION_LIMIT);
        }
        for (int i = 0; i < d; i++) {
            m2.add(i, i, r);
            a.add(i, i, r);
        }
        if (r == 0 && !(lo > 0)) throw new ClifException("UCE: the second factor is singular and --uce-ridge is 0: give a ridge > 0 or 'auto'");
        // T M = A with M symmetric  <=>  M Tᵀ = Aᵀ
        DMatrixRMaj at = new DMatrixRMaj(d, d);
        CommonOps_DDRM.transpose(a, at);
        DMatrixRMaj tt = new DMatrixRMaj(d, d);
        LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_DDRM.lu(d);
        if (!solver.setA(m2)) throw new ClifException("UCE: the second factor is singular even with ridge " + r);
        solver.solve(at, tt);
        DMatrixRMaj t = new DMatrixRMaj(d, d);
        CommonOps_DDRM.transpose(tt, t);
        for (double x : t.data) if (!Double.isFinite(x)) throw new ClifException("UCE: the solve gave non-finite values (ridge " + r + ")");
        return new Solution(t.data.clone(), r, reason, lo, hi);
    }

    /**
     * For one layer, from G = WᵀW: Σ‖W c_i − v*_i‖² before the edit, Σ‖W' c_i − v*_i‖² after it, and
     * Σ‖(W' − W) c_j‖² / Σ‖W c_j‖² over the preserved tokens; with W' = W T,
     * Σ‖W T c − W c'‖² = tr(G T C Tᵀ) − 2 tr(G T Nᵀ) + tr(G Q).
     */
    static double[] residuals(double[] g, Statistics st, double[] t) {
        int d = st.dim();
        DMatrixRMaj G = DMatrixRMaj.wrap(d, d, g);
        DMatrixRMaj T = DMatrixRMaj.wrap(d, d, t);
        DMatrixRMaj C = DMatrixRMaj.wrap(d, d, st.c());
        DMatrixRMaj N = DMatrixRMaj.wrap(d, d, st.n());
        DMatrixRMaj Q = DMatrixRMaj.wrap(d, d, st.q());
        DMatrixRMaj P = DMatrixRMaj.wrap(d, d, st.p());
        DMatrixRMaj tc = new DMatrixRMaj(d, d), tct = new DMatrixRMaj(d, d), tn = new DMatrixRMaj(d, d);
        CommonOps_DDRM.mult(T, C, tc);
        CommonOps_DDRM.multTransB(tc, T, tct);
        CommonOps_DDRM.multTransB(T, N, tn);
        double gq = traceProduct(G, Q);
        double after = traceProduct(G, tct) - 2 * traceProduct(G, tn) + gq;
        double before = traceProduct(G, C) - 2 * traceProduct(G, N) + gq;
        DMatrixRMaj dT = T.copy();
        for (int i = 0; i < d; i++) dT.add(i, i, -1);
        DMatrixRMaj dp = new DMatrixRMaj(d, d), dpd = new DMatrixRMaj(d, d);
        CommonOps_DDRM.mult(dT, P, dp);
        CommonOps_DDRM.multTransB(dp, dT, dpd);
        double base = traceProduct(G, P);
        return new double[] {before, after, base > 0 ? traceProduct(G, dpd) / base : 0};
    }

    /** tr(A B). */
    private static double traceProduct(DMatrixRMaj a, DMatrixRMaj b) {
        int d = a.numRows;
        double s = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) s += a.get(i, j) * b.get(j, i);
        return s;
    }
}
