package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "mirror", description = "(not yet implemented)")
public final class MirrorCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("mirror is not implemented yet");
    }
}
