package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "bundle", description = "(not yet implemented)")
public final class BundleCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("bundle is not implemented yet");
    }
}
