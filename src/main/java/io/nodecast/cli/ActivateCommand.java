package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "activate", description = "(not yet implemented)")
public final class ActivateCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("activate is not implemented yet");
    }
}
