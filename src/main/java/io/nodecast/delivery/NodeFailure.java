package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

/** What went wrong on one node, as every rank learns it in the final agreement. */
public record NodeFailure(String host, int rank, ExitCode code, String message) {
    public static NodeFailure of(String host, int rank, NodecastException e) {
        return new NodeFailure(host, rank, e.exitCode(), e.getMessage());
    }

    @Override
    public String toString() {
        return host + " (rank " + rank + "): " + message;
    }
}
