package io.nodecast.cli;

import io.nodecast.delivery.PurgeStep;
import io.nodecast.delivery.Transports;
import io.nodecast.env.Defaults;
import io.nodecast.transport.Transport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "purge", header = "Remove the node-local copy on every node at the end of the job.", description = {
        "It is safe to run on every rank (one removes it, the others find nothing), and it refuses anything that is not "
                + "a nodecast destination of yours."})
public final class PurgeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-p", "--destination"}, paramLabel = "DEST", defaultValue = Defaults.DESTINATION,
            description = "The node-local copy (default ${DEFAULT-VALUE}); %%h expands to the host name.")
    String dest;

    @Option(names = {"-v", "--verbose"}) boolean verbose;

    @Override
    public Integer call() {
        try (Transport t = Transports.open(Transports.Settings.minimal(), System.getenv())) {
            PurgeStep.Report r = PurgeStep.run(t, dest);
            PrintWriter err = spec.commandLine().getErr();
            if (verbose) r.removedHere().ifPresent(removed -> err.println(r.host() + ": " + (removed ? "removed " : "nothing at ") + dest));
            if (t.topology().root()) r.failures().forEach(f -> err.println("nodecast: " + f));
            err.flush();
            return r.exitCode().code();
        }
    }
}
