package io.nodecast.cli;

import picocli.CommandLine.Command;

@Command(name = "env", description = "(not yet implemented)")
public final class EnvCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("env is not implemented yet");
    }
}
