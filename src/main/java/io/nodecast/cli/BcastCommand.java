package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "bcast", description = "(not yet implemented)")
public final class BcastCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("bcast is not implemented yet");
    }
}
