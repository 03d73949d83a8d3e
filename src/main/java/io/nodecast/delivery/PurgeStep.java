package io.nodecast.delivery;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;

import java.util.List;
import java.util.Optional;

/**
 * The purge step, run by the launcher on every rank at the end of a job: each node's leader removes its DEST and
 * the others wait for it, so ranks of one node never race; then all ranks agree, so a refusal on one node (a DEST
 * that is not nodecast's, or not the user's) fails the step everywhere with that node's message.
 */
public final class PurgeStep {
    private PurgeStep() {}

    /**
     * @param host        the node this rank ran on
     * @param removedHere on a leader: whether there was something to remove (empty elsewhere)
     * @param failures    every node's failure, the same on every rank
     */
    public record Report(String host, Optional<Boolean> removedHere, List<NodeFailure> failures) {
        public ExitCode exitCode() {
            return failures.isEmpty() ? ExitCode.OK : failures.getFirst().code();
        }
    }

    /** @param destination DEST, possibly with %h (each node's own name, which is how simulated nodes find theirs) */
    public static Report run(Transport transport, String destination) {
        Topology topo = transport.topology();
        Optional<NodeFailure> mine = Optional.empty();
        Optional<Boolean> removed = Optional.empty();
        if (topo.leader()) {
            try {
                removed = Optional.of(Purge.purge(destination, topo.host()));
            } catch (NodecastException e) {
                mine = Optional.of(NodeFailure.of(topo.host(), topo.rank(), e));
            }
            Purge.purgeStage(System.getenv());
        }
        return new Report(topo.host(), removed, Agreement.reach(transport, mine));
    }
}
