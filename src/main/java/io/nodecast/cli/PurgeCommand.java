package io.nodecast.cli;

import io.nodecast.core.NodecastException;
import io.nodecast.transport.NodeFailure;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;
import io.nodecast.transport.Transports;
import io.nodecast.env.Defaults;
import io.nodecast.unpack.Purge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.List;
import java.util.Optional;
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
