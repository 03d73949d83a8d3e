package io.nodecast.transport;

import io.nodecast.core.ExitCode;

/** What went wrong on one node, as every rank learns it in {@link Transport#agree}. */
public record NodeFailure(String host, int rank, ExitCode code, String message) {
    @Override
    public String toString() {
        return host + " (rank " + rank + "): " + message;
    }
}
