package io.nodecast.posix;

import java.io.IOException;

/**
 * A system call that failed, with its errno. Callers decide what it means for the user (a full disk, a refused
 * entry, a corrupt bundle); this layer only says which call failed on what.
 */
public final class PosixException extends IOException {
    private final int errno;
    private final String call;

    PosixException(String call, String what, int errno) {
        super(call + (what.isEmpty() ? "" : " '" + what + "'") + ": " + Errno.describe(errno));
        this.errno = errno;
        this.call = call;
    }

    public int errno() {
        return errno;
    }

    public String call() {
        return call;
    }

    /** The text of the error alone ("No space left on device"), for messages that name the entry themselves. */
    public String reason() {
        return Errno.describe(errno);
    }

    public boolean is(int code) {
        return errno == code;
    }
}
