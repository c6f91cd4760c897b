package dev.clif.serve;

/**
 * A request the server refuses, with what the reply carries: the HTTP status, OpenAI's error {@code type},
 * the offending field ({@code param}, null when none), a machine-readable {@code code} and, for 429 and 503,
 * how many seconds to wait ({@code Retry-After}, 0 when not sent).
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final int retryAfterSeconds;

    public ApiException(int status, String type, String param, String code, String message, int retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400 invalid_request_error naming the field. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, "invalid_value", message, 0);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
