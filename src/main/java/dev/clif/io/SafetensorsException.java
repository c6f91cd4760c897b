package dev.clif.io;

import dev.clif.ClifException;

/** A safetensors file that is malformed or does not hold what was asked for; the message names the file and tensor. */
public final class SafetensorsException extends ClifException {
    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
