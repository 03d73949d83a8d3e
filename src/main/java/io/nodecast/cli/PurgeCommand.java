package io.nodecast.cli;

import io.nodecast.core.Hosts;
import io.nodecast.env.Defaults;
import io.nodecast.unpack.Purge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "purge", description = {"Remove the node-local copy. Run by the launcher on every node at the end of the job;",
        "safe to run on every rank (one removes it, the others find nothing) and refuses anything that is not a",
        "nodecast destination of yours."})
public final class PurgeCommand implements Runnable {
    @Spec CommandSpec spec;

    @Option(names = {"-p", "--destination"}, paramLabel = "DEST", defaultValue = Defaults.DESTINATION,
            description = "The node-local copy (default ${DEFAULT-VALUE}); %%h expands to the host name.")
    String dest;

    @Option(names = {"-v", "--verbose"}) boolean verbose;

    @Override
    public void run() {
        String host = Hosts.localName();
        boolean removed = Purge.purge(dest, host);
        if (verbose) spec.commandLine().getErr().println(host + ": " + (removed ? "removed " : "nothing at ") + dest);
    }
}
