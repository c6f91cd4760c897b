package dev.clif.tensor;

import dev.clif.ClifException;

/** A failure inside the native library (libclif/libtorch), carrying the C++ message. */
public final class ClifNativeException extends ClifException {
    public ClifNativeException(String message) {
        super(message);
    }
}
