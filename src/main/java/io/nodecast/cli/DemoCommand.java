package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "demo", description = "(not yet implemented)")
public final class DemoCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("demo is not implemented yet");
    }
}
