package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "purge", description = "(not yet implemented)")
public final class PurgeCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("purge is not implemented yet");
    }
}
