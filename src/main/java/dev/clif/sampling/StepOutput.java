package dev.clif.sampling;

import dev.clif.tensor.Tensor;

/**
 * What one scheduler step produces: the sample at the previous (less noisy) timestep and, where the scheduler
 * computes one, its prediction of the clean sample x0 (null for PNDM). Both are new tensors owned by the
 * caller (or the caller's {@link dev.clif.tensor.TensorScope}); {@link #close()} frees both.
 */
public record StepOutput(Tensor prevSample, Tensor predOriginalSample) implements AutoCloseable {
    @Override
    public void close() {
        if (prevSample != null) prevSample.close();
        if (predOriginalSample != null) predOriginalSample.close();
    }
}
