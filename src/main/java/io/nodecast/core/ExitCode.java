package io.nodecast.core;

/**
 * Every exit status nodecast returns, in one place so that job scripts can branch on them
 * and the CLI can list them in {@code --help}.
 */
public enum ExitCode {
    OK(0, "success"),
    FAILURE(1, "unexpected internal error (a bug: please report it with the message)"),
    USAGE(2, "bad command line: unknown flag, missing argument"),
    BUNDLE(3, "a bundle is missing, unreadable, truncated, corrupt, or fails its checksum"),
    UNSAFE(4, "a bundle holds an entry that would land outside the destination, a device file or a FIFO"),
    DESTINATION(5, "the destination is refused: owned by another user, open to others, or not writable"),
    NO_SPACE(6, "the destination's file system is full"),
    REMOTE(7, "delivery failed on another node (rank 0 prints which and why)"),
    MPI(8, "MPI could not be loaded or started, or does not match the launcher"),
    TOOL(9, "an external program nodecast needs is missing or failed (strace, python, pip)"),
    TOO_LARGE(10, "mirror refused a tree larger than --max-size");

    private final int code;
    private final String meaning;

    ExitCode(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    public int code() {
        return code;
    }

    public String meaning() {
        return meaning;
    }

    /**
     * The exit code with this number: how a code read back from a wire or a report becomes an ExitCode again.
     * Numbers, not positions in this enum, cross processes, so reordering the constants changes nothing outside.
     * A number nodecast does not know (a newer peer) is reported as an internal error rather than guessed.
     */
    public static ExitCode of(int code) {
        for (ExitCode c : values()) {
            if (c.code == code) return c;
        }
        return FAILURE;
    }

    /** The worst of two outcomes: the higher-priority failure wins, so one code reports a whole job. */
    public static ExitCode worst(ExitCode a, ExitCode b) {
        if (a == OK) return b;
        if (b == OK) return a;
        return a.ordinal() >= b.ordinal() ? a : b;
    }
}
