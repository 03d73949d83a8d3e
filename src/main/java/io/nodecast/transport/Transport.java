package io.nodecast.transport;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * How bytes reach every node. The delivery code is written once against this interface;
 * {@link LocalTransport} serves one node without MPI, the MPI transport serves a job.
 *
 * <p>Collective methods must be called by every rank named in their contract, in the same order.
 */
public interface Transport extends AutoCloseable {

    Topology topology();

    /** Leaders only: rank 0's bytes reach every leader. Others pass anything; rank 0's argument wins. */
    byte[] shareFromRoot(byte[] rootData);

    /** Leaders only: true on every leader if {@code flag} was true on any leader. */
    boolean anyLeader(boolean flag);

    /** Leaders only: the element-wise maximum of each leader's values (slowest-node timings). */
    double[] maxOverLeaders(double[] values);

    /** Leaders only: the element-wise sum of each leader's values (how many nodes skipped, bytes written). */
    long[] sumOverLeaders(long[] values);

    /**
     * Leaders only: stream {@code totalBytes} from rank 0's {@code source} to every leader's {@code sink}
     * (rank 0's sink included), chunk by chunk, memory bounded by the chunk size whatever the total.
     * A failing sink must not stop the stream: the sink records its error and drains.
     */
    void stream(ChunkSource source, long totalBytes, ChunkSink sink) throws IOException;

    /**
     * All ranks: each says whether it failed; every rank returns the same list of failures,
     * empty when all succeeded. This is the point where non-leaders wait for their node.
     */
    List<NodeFailure> agree(Optional<NodeFailure> mine);

    /** Ends the whole job now with this code: for failures that leave the collectives out of step. */
    void abort(int code);

    /** A short name for reports: "local", "mpi (Open MPI 4.1.4)". */
    String describe();

    @Override
    void close();
}
