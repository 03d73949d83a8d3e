package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "trace", description = "(not yet implemented)")
public final class TraceCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("trace is not implemented yet");
    }
}
