package dev.clif.sampling;

import dev.clif.ClifException;
import dev.clif.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A diffusion sampler, computing exactly what the diffusers 0.25.1 class of the same name computes. Scalar
 * coefficients are worked out in Java (in float, as diffusers' float32 tensors hold them); tensor updates are
 * native element-wise ops ({@link Tensor#axpby}, {@link Tensor#scale}).
 *
 * <p>Usage: {@code setTimesteps(n)}, then for each timestep t: {@code x_in = scaleModelInput(x, t)}, run the
 * model on x_in, {@code x = step(modelOutput, t, x)}. A scheduler is stateful (PNDM keeps past model outputs,
 * Euler its step index): use one instance per sampling run, on one thread, and {@link #close()} it to free
 * the tensors it keeps. Tensors it returns are new and belong to the caller (or the caller's TensorScope).
 */
public interface Scheduler extends AutoCloseable {

    /** "ddim", "pndm" or "euler". */
    String kind();

    /** The config with every default filled in for this kind. */
    SchedulerConfig config();

    /** Chooses {@code numInferenceSteps} timesteps (resetting any per-run state) and returns them. */
    Timesteps setTimesteps(int numInferenceSteps);

    /** The timesteps of the last {@link #setTimesteps} call. */
    Timesteps timesteps();

    /** The standard deviation the initial noise is scaled by (1 except for Euler). */
    double initNoiseSigma();

    /** The model input at {@code timestep} (Euler: sample / sqrt(sigma^2 + 1); the others return a copy). */
    Tensor scaleModelInput(Tensor sample, double timestep);

    /** One step back from {@code timestep}: the previous sample and (if computed) the predicted x0. */
    StepOutput stepOutput(Tensor modelOutput, double timestep, Tensor sample);

    /** One step back from {@code timestep}: the previous sample. */
    default Tensor step(Tensor modelOutput, double timestep, Tensor sample) {
        StepOutput out = stepOutput(modelOutput, timestep, sample);
        if (out.predOriginalSample() != null) out.predOriginalSample().close();
        return out.prevSample();
    }

    /** The forward process: {@code original} noised to {@code timestep} with {@code noise}. */
    Tensor addNoise(Tensor original, Tensor noise, double timestep);

    /** alphas_cumprod[t] (float32 as diffusers holds it, widened), for t in [0, num_train_timesteps). */
    double alphaProd(int t);

    /** A copy of alphas_cumprod. */
    float[] alphasCumprod();

    /** A copy of the betas. */
    float[] betas();

    /** Frees the tensors the scheduler keeps between steps. */
    @Override
    default void close() {}

    // ---- construction ------------------------------------------------------------------------------

    /** A scheduler of {@code kind} ("ddim", "pndm"/"plms", "euler"/"euler_discrete") over {@code config}. */
    static Scheduler create(SchedulerConfig config, String kind) {
        return switch (normalizeKind(kind)) {
            case "ddim" -> new DdimScheduler(config);
            case "pndm" -> new PndmScheduler(config);
            case "euler" -> new EulerDiscreteScheduler(config);
            default -> throw new IllegalStateException(kind);
        };
    }

    /** The scheduler a diffusers {@code scheduler/} folder (or its scheduler_config.json) names by _class_name. */
    static Scheduler fromFolder(Path schedulerDir) {
        SchedulerConfig c = SchedulerConfig.read(schedulerDir);
        if (c.className() == null) throw c.error("_class_name", "is missing: cannot tell which scheduler to build");
        return create(c, kindOfClass(c));
    }

    /** The kind for a diffusers class name. */
    static String kindOfClass(SchedulerConfig c) {
        return switch (c.className()) {
            case "DDIMScheduler" -> "ddim";
            case "PNDMScheduler" -> "pndm";
            case "EulerDiscreteScheduler" -> "euler";
            default -> throw c.error("_class_name", "'" + c.className()
                    + "' is not supported (Clif has DDIMScheduler, PNDMScheduler, EulerDiscreteScheduler)");
        };
    }

    static String normalizeKind(String kind) {
        if (kind == null) throw new ClifException("scheduler kind is null (use ddim, pndm or euler)");
        return switch (kind.trim().toLowerCase(Locale.ROOT)) {
            case "ddim", "ddimscheduler" -> "ddim";
            case "pndm", "plms", "pndmscheduler" -> "pndm";
            case "euler", "euler_discrete", "eulerdiscretescheduler" -> "euler";
            default -> throw new ClifException("unknown scheduler kind '" + kind + "' (use ddim, pndm or euler)");
        };
    }

    /** Whether {@code dir} holds a scheduler config. */
    static boolean isSchedulerFolder(Path dir) {
        return Files.isRegularFile(dir.resolve(SchedulerConfig.FILE_NAME));
    }
}
