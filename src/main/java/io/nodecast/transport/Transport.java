package io.nodecast.transport;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.IOException;
import java.util.BitSet;
import java.util.List;

/**
 * How bytes reach every node. The delivery protocol (io.nodecast.delivery) is written once against this
 * interface; {@link LocalTransport} serves one node without MPI, the MPI transport serves a job. A transport moves
 * bytes and nothing else: what the bytes mean (bundle headers, verdicts, failures) is the protocol's business.
 *
 * <p>The job has {@link Topology#nodes()} nodes with one leader rank each; node 0's leader is rank 0, the only
 * rank that reads bundles. Methods marked "leaders" are collective over the leaders, "all ranks" over every rank:
 * each must be called by every rank it names, in the same order, or the job hangs. None may be called from another
 * thread than the one that opened the transport (MPI is initialised MPI_THREAD_FUNNELED).
 *
 * <p>A transport that can no longer keep its collectives in step (a peer stopped sending) throws {@link Broken};
 * the only thing left to do then is {@link #abort}.
 */
public interface Transport extends AutoCloseable {

    Topology topology();

    /** Leaders: the host of every node, in node order (for messages that name other nodes). */
    List<String> leaderHosts();

    /** Leaders: rank 0's bytes reach every leader. Others pass anything; rank 0's argument wins. */
    byte[] shareFromRoot(byte[] rootData);

    /**
     * Leaders: every leader's record, concatenated in node order. Each passes exactly {@code recordBytes} bytes
     * (pad a shorter record with zeros).
     */
    byte[] gatherFromLeaders(byte[] record, int recordBytes);

    /** Leaders: the element-wise maximum of each leader's values (slowest-node timings). */
    double[] maxOverLeaders(double[] values);

    /** Leaders: the element-wise sum of each leader's values. */
    long[] sumOverLeaders(long[] values);

    /** Leaders: true on every leader if {@code flag} was true on any leader. */
    default boolean anyLeader(boolean flag) {
        return sumOverLeaders(new long[] {flag ? 1 : 0})[0] > 0;
    }

    /**
     * Leaders: stream {@code totalBytes} from rank 0's {@code source} to the sink of every node in
     * {@code receivers} (node indices; node 0 always takes part, as the source, and its sink sees every chunk too).
     * Every leader calls it with the same set; one not in it returns at once and receives nothing. Memory is bounded
     * by a few chunks whatever the total. A sink that fails must not stop the stream: it records its error and
     * drains, so the other nodes are not left waiting.
     *
     * @return how the bytes travelled, for reports ("pipelined chain over 3 node(s), 1.0 MiB segments")
     * @throws IOException the source could not fill its chunks (rank 0)
     * @throws Broken      a peer stopped sending or receiving: the collectives are out of step
     */
    String stream(BitSet receivers, long totalBytes, ChunkSource source, ChunkSink sink) throws IOException;

    /**
     * All ranks: rank 0's bytes (at most {@code maxBytes}) reach every rank. The ranks that are not leaders wait
     * here for their node, without holding a core the unpacking needs.
     */
    byte[] shareWithAll(byte[] rootData, int maxBytes);

    /**
     * Ends the whole job now, on every node, with this exit code; its message is written to this process's
     * standard error first (the launcher forwards it). For failures that leave the collectives out of step.
     */
    void abort(NodecastException why);

    /** A short name for reports: "local", "mpi (Open MPI: Open MPI v4.1.4, ...)". */
    String describe();

    @Override
    void close();

    /** The collectives are out of step: a peer died or stopped. Not recoverable; {@link #abort} the job. */
    final class Broken extends NodecastException {
        public Broken(String message) {
            super(ExitCode.REMOTE, message);
        }
    }
}
