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

    /** "ddim", "pndm", "euler", "euler-a", "dpmpp-2m" or "dpmpp-2m-karras". */
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

    /**
     * A scheduler of {@code kind} over {@code config}: "ddim", "pndm"/"plms", "euler"/"euler_discrete",
     * "euler-a" (A1111's "Euler a": EulerAncestralDiscreteScheduler), "dpmpp-2m" ("DPM++ 2M") and "dpmpp-2m-karras"
     * ("DPM++ 2M Karras"): DPMSolverMultistepScheduler with algorithm_type dpmsolver++ and solver_order 2, Karras
     * sigmas off or on whatever the config says (the other DPM fields, such as lower_order_final, come from it).
     */
    static Scheduler create(SchedulerConfig config, String kind) {
        return switch (normalizeKind(kind)) {
            case "ddim" -> new DdimScheduler(config);
            case "pndm" -> new PndmScheduler(config);
            case "euler" -> new EulerDiscreteScheduler(config);
            case "euler-a" -> new EulerAncestralDiscreteScheduler(config);
            case "dpmpp-2m" -> new DpmSolverMultistepScheduler(config.asDpmpp2m(false));
            case "dpmpp-2m-karras" -> new DpmSolverMultistepScheduler(config.asDpmpp2m(true));
            default -> throw new IllegalStateException(kind);
        };
    }

    /** The scheduler a diffusers {@code scheduler/} folder (or its scheduler_config.json) names by _class_name. */
    static Scheduler fromFolder(Path schedulerDir) {
        SchedulerConfig c = SchedulerConfig.read(schedulerDir);
        if (c.className() == null) throw c.error("_class_name", "is missing: cannot tell which scheduler to build");
        return create(c, kindOfClass(c));
    }

    /**
     * The kind for a diffusers class name. A DPMSolverMultistepScheduler config is "dpmpp-2m" or "dpmpp-2m-karras"
     * by its use_karras_sigmas, and only if it is a DPM++ 2M (algorithm_type dpmsolver++, solver_order 2).
     */
    static String kindOfClass(SchedulerConfig c) {
        if (c.className() == null) throw c.error("_class_name", "is missing: cannot tell which scheduler to build");
        return switch (c.className()) {
            case "DDIMScheduler" -> "ddim";
            case "PNDMScheduler" -> "pndm";
            case "EulerDiscreteScheduler" -> "euler";
            case "EulerAncestralDiscreteScheduler" -> "euler-a";
            case "DPMSolverMultistepScheduler" -> {
                if (c.algorithmType() != null && !c.algorithmType().equals("dpmsolver++") && !c.algorithmType().equals("deis"))
                    throw c.error("algorithm_type", "'" + c.algorithmType() + "' is not supported: Clif's "
                            + "DPMSolverMultistepScheduler is DPM++ 2M (dpmsolver++); choose another with --scheduler");
                if (c.solverOrder() != null && c.solverOrder() != 2)
                    throw c.error("solver_order", c.solverOrder() + " is not supported: Clif's "
                            + "DPMSolverMultistepScheduler is DPM++ 2M (solver_order 2); choose another with --scheduler");
                yield Boolean.TRUE.equals(c.useKarrasSigmas()) ? "dpmpp-2m-karras" : "dpmpp-2m";
            }
            default -> throw c.error("_class_name", "'" + c.className() + "' is not supported (Clif has DDIMScheduler, "
                    + "PNDMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler)");
        };
    }

    /** The names {@link #create} takes, as an error message lists them. */
    String KINDS = "ddim, pndm, euler, euler-a (\"Euler a\"), dpmpp-2m (\"DPM++ 2M\") or dpmpp-2m-karras (\"DPM++ 2M Karras\")";

    /** The canonical kind of a scheduler name (Clif's, diffusers' class names, A1111's); an unknown name is refused. */
    public static String normalizeKind(String kind) {
        if (kind == null) throw new ClifException("scheduler kind is null (use " + KINDS + ")");
        // A1111's sampler names ("DPM++ 2M Karras", "Euler a") and their old k-diffusion forms are accepted too
        return switch (kind.trim().toLowerCase(Locale.ROOT).replaceAll("[\\s_]+", "-")) {
            case "ddim", "ddimscheduler" -> "ddim";
            case "pndm", "plms", "pndmscheduler" -> "pndm";
            case "euler", "euler-discrete", "eulerdiscretescheduler", "k-euler" -> "euler";
            case "euler-a", "euler-ancestral", "eulerancestraldiscretescheduler", "k-euler-a", "k-euler-ancestral" -> "euler-a";
            case "dpmpp-2m", "dpm++-2m", "k-dpmpp-2m" -> "dpmpp-2m";
            case "dpmpp-2m-karras", "dpm++-2m-karras", "k-dpmpp-2m-ka", "k-dpmpp-2m-karras" -> "dpmpp-2m-karras";
            default -> throw new ClifException("unknown scheduler kind '" + kind + "' (use " + KINDS + ")");
        };
    }

    /** Whether {@code dir} holds a scheduler config. */
    static boolean isSchedulerFolder(Path dir) {
        return Files.isRegularFile(dir.resolve(SchedulerConfig.FILE_NAME));
    }
}
