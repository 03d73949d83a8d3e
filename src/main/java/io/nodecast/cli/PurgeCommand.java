package io.nodecast.cli;

import io.nodecast.delivery.NodeFailure;
import io.nodecast.delivery.PurgeStep;
import io.nodecast.delivery.Transports;
import io.nodecast.env.Defaults;
import io.nodecast.image.ImageMode;
import io.nodecast.delivery.slurm.SlurmDelivery;
import io.nodecast.transport.Transport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
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

    @Option(names = "--transport", paramLabel = "KIND", defaultValue = "auto",
            description = "auto (the launcher's ranks, MPI when it has it), or slurm (run once from the batch script: a task "
                    + "per node of the allocation purges, no MPI).")
    String transport;

    @Override
    public Integer call() {
        if (transport.equalsIgnoreCase("slurm")) {
            Path home = Path.of(System.getProperty("nodecast.home", ".")).toAbsolutePath().normalize();
            List<NodeFailure> failures = SlurmDelivery.inAllocation(new SlurmDelivery.Options(dest, ImageMode.IMAGE, null),
                    System.getenv(), home.resolve("bin/nodecast")).purge();
            failures.forEach(f -> spec.commandLine().getErr().println("nodecast: " + f));
            return failures.isEmpty() ? 0 : failures.getFirst().code().code();
        }
        try (Transport t = Transports.open(Transports.Settings.minimal(), System.getenv(), CliSupport.arguments(spec))) {
            PurgeStep.Report r = PurgeStep.run(t, dest);
            PrintWriter err = spec.commandLine().getErr();
            if (verbose) r.removedHere().ifPresent(removed -> err.println(r.host() + ": " + (removed ? "removed " : "nothing at ") + dest));
            if (t.topology().root()) r.failures().forEach(f -> err.println("nodecast: " + f));
            err.flush();
            return r.exitCode().code();
        }
    }
}
