package dev.clif;

/** Base of every error Clif reports: the message is meant for the person running it. */
public class ClifException extends RuntimeException {
    public ClifException(String message) {
        super(message);
    }

    public ClifException(String message, Throwable cause) {
        super(message, cause);
    }
}
