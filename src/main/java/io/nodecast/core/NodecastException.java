package io.nodecast.core;

/**
 * A failure the user must read: the message is one line that names the node, the file and what to do.
 * The exit code travels with it so the CLI maps it in one place.
 */
public class NodecastException extends RuntimeException {
    private final ExitCode exitCode;

    public NodecastException(ExitCode exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public NodecastException(ExitCode exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public ExitCode exitCode() {
        return exitCode;
    }
}
