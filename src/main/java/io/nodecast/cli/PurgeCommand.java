package io.nodecast.cli;

import io.nodecast.core.NodecastException;
import io.nodecast.transport.NodeFailure;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;
import io.nodecast.transport.Transports;
import io.nodecast.env.Defaults;
import io.nodecast.unpack.Purge;
import io.nodecast.image.ImageMode;
import io.nodecast.transport.slurm.SlurmDelivery;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "purge", description = {"Remove the node-local copy. Run by the launcher on every node at the end of the job;",
        "safe to run on every rank (one removes it, the others find nothing) and refuses anything that is not a",
        "nodecast destination of yours."})
public final class PurgeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-p", "--destination"}, paramLabel = "DEST", defaultValue = Defaults.DESTINATION,
            description = "The node-local copy (default ${DEFAULT-VALUE}); %%h expands to the host name.")
    String dest;

    @Option(names = {"-v", "--verbose"}) boolean verbose;

    // issue 14
    @Option(names = "--transport", paramLabel = "KIND", defaultValue = "auto",
            description = "auto (the launcher's ranks, MPI when it has it), or slurm (run once from the batch script: a task "
                    + "per node of the allocation purges, no MPI).")
    String transport;

    @Override
    public Integer call() {
        if (transport.equalsIgnoreCase("slurm")) {   // issue 14
            Path home = Path.of(System.getProperty("nodecast.home", ".")).toAbsolutePath().normalize();
            List<NodeFailure> failures = SlurmDelivery.inAllocation(new SlurmDelivery.Options(dest, ImageMode.IMAGE, null),
                    System.getenv(), home.resolve("bin/nodecast")).purge();
            failures.forEach(f -> spec.commandLine().getErr().println("nodecast: " + f));
            return failures.isEmpty() ? 0 : failures.getFirst().code().code();
        }
        // under a launcher, the node's leader purges and the others wait: no race, and the node's name is the
        // transport's (which is how simulated nodes on one machine each find their own DEST)
        try (Transport t = Transports.open(Transports.Choice.AUTO, Optional.empty(), 1 << 16, System.getenv())) {
            Topology topo = t.topology();
            Optional<NodeFailure> mine = Optional.empty();
            if (topo.leader()) {
                try {
                    boolean removed = Purge.purge(dest, topo.host());
                    if (verbose) spec.commandLine().getErr().println(topo.host() + ": " + (removed ? "removed " : "nothing at ") + dest);
                } catch (NodecastException e) {
                    mine = Optional.of(new NodeFailure(topo.host(), topo.rank(), e.exitCode(), e.getMessage()));
                }
            }
            List<NodeFailure> failures = t.agree(mine);
            if (failures.isEmpty()) return 0;
            if (topo.root()) failures.forEach(f -> spec.commandLine().getErr().println("nodecast: " + f));
            return failures.getFirst().code().code();
        }
    }
}
