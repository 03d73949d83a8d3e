package io.nodecast.netdelay;

/** A native call failed: names the function and the errno's text. */
final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NativeException(String function, int errno) {
        super(function + " failed: " + Libc.strerror(errno) + " (errno " + errno + ")");
    }

    NativeException(String message) {
        super(message);
    }
}
