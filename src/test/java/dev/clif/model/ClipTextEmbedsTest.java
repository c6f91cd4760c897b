package dev.clif.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.ffi.clif_h;
import dev.clif.tensor.ClifNativeException;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The text encoder run from token embeddings (transformers' inputs_embeds) on the golden tiny-sd text encoder: bit-identical
 * to the run from ids when the embeddings are the ids' rows, and its gradient with respect to the embeddings matches
 * central finite differences (float64).
 */
class ClipTextEmbedsTest {
    static final Path SD = TestData.goldenPath().resolve("tiny-sd");

    @Test
    void forwardFromEmbeddingsEqualsForwardFromIdsExactly() {
        ClipTokenizer tok = ClipTokenizer.load(SD.resolve("tokenizer"));
        long[][] ids = tok.encodeBatch(List.of("a photo of an astronaut riding a horse", "a red circle"));
        try (TensorScope s = TensorScope.open(); ClipTextEncoder enc = ClipTextEncoder.load(SD.resolve("text_encoder"), Device.CPU, DType.F32)) {
            long[] flat = new long[ids.length * ids[0].length];
            for (int i = 0; i < ids.length; i++) System.arraycopy(ids[i], 0, flat, i * ids[0].length, ids[0].length);
            Tensor idT = Tensor.of(flat, ids.length, ids[0].length);
            long[] eos = {enc.eosPosition(ids[0]), enc.eosPosition(ids[1])};
            assertNotEquals(eos[0], eos[1], "two prompts of different lengths");
            long[] mask = new long[flat.length];
            for (int i = 0; i < mask.length; i++) mask[i] = (i % ids[0].length) < 12 ? 1 : 0;
            Tensor maskT = Tensor.of(mask, ids.length, ids[0].length);
            Tensor embeds = enc.embed(ids);
            try (Tensor table = enc.tokenEmbeddings()) {
                assertEquals(0.0, embeds.narrow(0, 1, 1).narrow(1, 2, 1).reshape(table.shape()[1])
                        .maxAbsDiff(table.narrow(0, ids[1][2], 1).reshape(table.shape()[1])), "embed copies the table's rows");
            }
            for (int clipSkip : new int[] {0, 1})
                for (Tensor m : new Tensor[] {null, maskT}) {
                    ClipTextEncoder.Output a = enc.forward(idT, m, clipSkip, false);
                    ClipTextEncoder.Output b = enc.forwardEmbeds(embeds, eos, m, clipSkip, false);
                    assertArrayEquals(a.lastHiddenState().toFloatArray(), b.lastHiddenState().toFloatArray(), "last hidden, clip skip " + clipSkip);
                    assertArrayEquals(a.pooled().toFloatArray(), b.pooled().toFloatArray(), "pooled, clip skip " + clipSkip);
                }
            assertThrows(RuntimeException.class, () -> enc.forwardEmbeds(embeds, new long[] {0, 77}, null, 0, false), "EOS position outside the sequence");
            assertThrows(IllegalArgumentException.class, () -> enc.forwardEmbeds(Tensor.zeros(DType.F32, Device.CPU, 1, 5, 7), null, null, 0, false));
        }
    }

    @Test
    void theExportRefusesNullsWithAMessage() {
        try (TensorScope s = TensorScope.open(); ClipTextEncoder enc = ClipTextEncoder.load(SD.resolve("text_encoder"), Device.CPU, DType.F32);
             Arena arena = Arena.ofConfined()) {
            MemorySegment last = arena.allocate(ValueLayout.ADDRESS), pooled = arena.allocate(ValueLayout.ADDRESS), none = MemorySegment.NULL;
            Tensor embeds = Tensor.zeros(DType.F32, Device.CPU, 1, 4, enc.config().hiddenSize());
            refused("inputs_embeds", () -> clif_h.clif_clip_text_forward_embeds(enc.handle(), none, none, none, 0, 0, last, none));
            refused("eos_positions is needed", () -> clif_h.clif_clip_text_forward_embeds(enc.handle(), embeds.handle(), none, none, 0, 0, last, pooled));
            refused("no output requested", () -> clif_h.clif_clip_text_forward_embeds(enc.handle(), embeds.handle(), none, none, 0, 0, none, none));
            refused("clip_skip", () -> clif_h.clif_clip_text_forward_embeds(enc.handle(), embeds.handle(), none, none, 9, 0, last, none));
            refused("", () -> clif_h.clif_clip_text_forward_embeds(none, embeds.handle(), none, none, 0, 0, last, none));
        }
    }

    private static void refused(String message, java.util.function.IntSupplier call) {
        ClifNativeException e = assertThrows(ClifNativeException.class, () -> NativeLibrary.check(call.getAsInt()));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void gradientWithRespectToEmbeddingsMatchesCentralFiniteDifferences() {
        ClipTokenizer tok = ClipTokenizer.load(SD.resolve("tokenizer"));
        long[][] ids = tok.encodeBatch(List.of("a blue square"));
        try (TensorScope s = TensorScope.open(); ClipTextEncoder enc = ClipTextEncoder.load(SD.resolve("text_encoder"), Device.CPU, DType.F64)) {
            long eos = enc.eosPosition(ids[0]);
            Tensor embeds = enc.embed(ids);
            assertEquals(DType.F64, embeds.dtype());
            long[] shape = embeds.shape();
            // L = Σ R ⊙ last_hidden + Σ Q ⊙ pooled, R and Q fixed random weights
            Tensor r = Tensor.randn(3, DType.F64, Device.CPU, shape);
            Tensor q = Tensor.randn(4, DType.F64, Device.CPU, 1, shape[2]);
            Autograd.setRequiresGrad(embeds, true);
            ClipTextEncoder.Output out = enc.forwardEmbeds(embeds, new long[] {eos}, null, 0, true);
            // one backward through both outputs: L's two terms share the graph, so seed a sum of them
            Tensor total = Tensor.cat(1, out.lastHiddenState().reshape(1, shape[1] * shape[2]), out.pooled());
            Tensor seed = Tensor.cat(1, r.reshape(1, shape[1] * shape[2]), q);
            Autograd.backward(total, seed);
            double[] grad = Autograd.grad(embeds).toDoubleArray();
            double[] base = embeds.detach().toDoubleArray();
            SplittableRandom rng = new SplittableRandom(5);
            double h = 1e-6;
            int checked = 0;
            for (int trial = 0; trial < 24; trial++) {
                // positions up to the EOS reach both outputs (causal attention: later ones reach last_hidden only)
                int pos = rng.nextInt((int) eos + 1), dim = rng.nextInt((int) shape[2]);
                int idx = pos * (int) shape[2] + dim;
                double numeric = (loss(enc, base, shape, idx, h, eos, r, q) - loss(enc, base, shape, idx, -h, eos, r, q)) / (2 * h);
                assertEquals(numeric, grad[idx], 1e-6 * Math.max(1, Math.abs(numeric)), "dL/dE at position " + pos + ", dim " + dim);
                checked++;
            }
            assertEquals(24, checked);
            // a position after the EOS still reaches the loss, through its own and later rows of last_hidden
            double after = 0;
            for (int d = 0; d < shape[2]; d++) after += Math.abs(grad[(int) (eos + 1) * (int) shape[2] + d]);
            assertTrue(after > 0, "later positions reach the loss through last_hidden");
        }
    }

    private static double loss(ClipTextEncoder enc, double[] base, long[] shape, int idx, double delta, long eos, Tensor r, Tensor q) {
        double[] x = base.clone();
        x[idx] += delta;
        try (TensorScope s = TensorScope.open()) {
            ClipTextEncoder.Output out = enc.forwardEmbeds(Tensor.of(x, shape), new long[] {eos}, null, 0, false);
            return out.lastHiddenState().dot(r) + out.pooled().dot(q);
        }
    }
}
