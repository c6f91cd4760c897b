package dev.clif.eval;

/** What an {@link Evaluation} tells its caller while it runs (a progress bar, a log, a test). All methods are optional. */
public interface EvalListener {
    /** A phase begins ("loading model clif", "scoring"...). */
    default void onMessage(String message) {}

    /**
     * {@code done} of {@code total} images are recorded (those a resumed run found count as done);
     * {@code imagesPerSecond} is over the images made by this run.
     */
    default void onProgress(int done, int total, double imagesPerSecond, double secondsLeft) {}

    /** An image was generated, scored and recorded. */
    default void onRecord(ResultRecord record) {}
}
