package dev.clif.sampling;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.sampling.StableDiffusion;
import dev.clif.shapes.ShippedModels;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Euler a draws each image's noise from that image's seed: an image comes out the same alone and in a batch. */
class EulerAncestralBatchTest {
    @Test
    void batchingDoesNotChangeAnEulerAImage() {
        Assumptions.assumeTrue(ShippedModels.present(), "this build ships no shapes models");
        try (StableDiffusion sd = StableDiffusion.load(ShippedModels.folder().resolve("sd"), Device.CPU, DType.F32);
             TensorScope scope = TensorScope.open()) {
            Txt2Img pipe = new Txt2Img(sd);
            Txt2Img.Request r = new Txt2Img.Request("a red circle", "", 5, 3.0, "Euler a", 10, 32, 32, 1, 0, 0);
            long[] shape = pipe.latentShape(r);
            Tensor x10 = Tensor.randn(10, DType.F32, Device.CPU, shape), x11 = Tensor.randn(11, DType.F32, Device.CPU, shape);
            Tensor both = Tensor.cat(0, x10, x11);
            Tensor batch, alone, aloneAgain, otherSeed;
            try (Txt2Img.Result res = pipe.generateBatch(List.of("a red circle", "a blue square"), List.of("", ""), r, both,
                    new long[] {10, 11}, null)) {
                batch = res.images().narrow(0, 1, 1).copy();
            }
            try (Txt2Img.Result res = pipe.generateBatch(List.of("a blue square"), List.of(""), r, x11, new long[] {11}, null)) {
                alone = res.images().copy();
            }
            try (Txt2Img.Result res = pipe.generateBatch(List.of("a blue square"), List.of(""), r, x11, new long[] {11}, null)) {
                aloneAgain = res.images().copy();
            }
            try (Txt2Img.Result res = pipe.generateBatch(List.of("a blue square"), List.of(""), r, x11, new long[] {12}, null)) {
                otherSeed = res.images().copy();
            }
            assertEquals(0.0, alone.maxAbsDiff(aloneAgain), "the same seed gives the same image");
            assertTrue(batch.maxAbsDiff(alone) < 1e-4, "batched vs alone: " + batch.maxAbsDiff(alone)); // kernel rounding only
            assertTrue(otherSeed.maxAbsDiff(alone) > 1e-2, "the noise comes from the image's seed");
        }
    }
}
