package io.nodecast.transport.mpi;

import io.nodecast.core.ExitCode;
import io.nodecast.core.Hosts;
import io.nodecast.core.NodecastException;
import io.nodecast.transport.BroadcastAlgorithm;
import io.nodecast.transport.BroadcastPlan;
import io.nodecast.transport.ChunkSink;
import io.nodecast.transport.ChunkSource;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;
import io.nodecast.transport.World;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The job's own MPI as the transport: one leader per node (the ranks that share memory), a communicator of
 * leaders for the bundles, the world for the final word. All MPI calls happen on the thread that created it.
 */
public final class MpiTransport implements Transport {
    /** A host name as the leaders exchange it at start (Linux allows 64 bytes; simulated nodes add a suffix). */
    private static final int HOST_BYTES = 128;

    /**
     * @param library    an explicit library (path or soname), else chosen from the launcher's environment
     * @param chunkBytes the largest message of a stream
     * @param algorithm  how streams travel among the leaders
     * @param stall      how long a leader waits on a silent peer in a stream before it gives the job up
     */
    public record Options(Optional<String> library, int chunkBytes, BroadcastAlgorithm algorithm, Duration stall) {}

    private final Mpi mpi;
    private final Topology topology;
    private final long world;
    private final long leaders;
    private final Options options;
    private final List<String> leaderHosts;
    private final String description;
    private final Departure departure;
    private final MemorySegment[] requests;
    private PipelinedBroadcast pipeline;  // the stream buffers, allocated on a leader's first stream
    private boolean closed;

    private MpiTransport(Mpi mpi, Topology topology, long world, long leaders, Options options, List<String> leaderHosts,
                         String version, Departure departure) {
        this.mpi = mpi;
        this.topology = topology;
        this.world = world;
        this.leaders = leaders;
        this.options = options;
        this.leaderHosts = leaderHosts;
        this.departure = departure;
        this.requests = new MemorySegment[] {mpi.requestSlot(), mpi.requestSlot()};
        this.description = "mpi (" + mpi.abi.family() + ": " + Mpi.versionLine(version) + ")";
    }

    /**
     * Loads the library, initialises MPI and finds the nodes.
     * @param world what the launcher said, read from {@code env}
     * @param env   where the library and the process manager's address are looked up
     */
    public static MpiTransport start(Options options, World world, Map<String, String> env) {
        Native lib = MpiLibrary.open(MpiLibrary.candidates(options.library(), env));
        Mpi mpi = Mpi.open(lib);
        mpi.initThread();
        long comm = mpi.abi.commWorld();
        mpi.errorsReturn(comm);
        int rank = mpi.rank(comm);
        int size = mpi.size(comm);
        OptionalInt promised = world.size();
        if (size == 1 && promised.orElse(1) > 1) {
            mpi.finalizeMpi();
            throw new NodecastException(ExitCode.MPI, Hosts.localName() + ": " + lib.path() + " (" + mpi.abi.family()
                    + ") started a world of 1 rank, but the launcher started " + promised.getAsInt()
                    + ": the library does not belong to this launcher; name the job's MPI with --mpi-lib or NODECAST_MPI_LIB");
        }
        int simulated = world.simulatedNodes().orElse(0);
        long node = simulated > 0
                ? mpi.split(comm, (int) ((long) rank * Math.min(simulated, size) / size), rank)
                : mpi.splitShared(comm, rank);
        mpi.errorsReturn(node);
        boolean leader = mpi.rank(node) == 0;
        long leadersComm = mpi.split(comm, leader ? 0 : Abi.UNDEFINED, rank);
        int[] where = {0, 0};
        if (leader) {
            mpi.errorsReturn(leadersComm);
            where[0] = mpi.rank(leadersComm);
            where[1] = mpi.size(leadersComm);
        }
        MemorySegment w = mpi.arena().allocate(ValueLayout.JAVA_INT, 2);
        w.setAtIndex(ValueLayout.JAVA_INT, 0, where[0]);
        w.setAtIndex(ValueLayout.JAVA_INT, 1, where[1]);
        mpi.bcast(w, 2, mpi.abi.intType(), 0, node);
        int nodeIndex = w.getAtIndex(ValueLayout.JAVA_INT, 0);
        int nodes = w.getAtIndex(ValueLayout.JAVA_INT, 1);
        String host = Hosts.localName() + (simulated > 0 ? "-n" + nodeIndex : "");
        List<String> hosts = leader ? exchangeHosts(mpi, leadersComm, host, nodes) : List.of();
        String version = mpi.libraryVersion();
        Departure departure = new Departure.Finalize();
        if (Mpi.finalizeMayHang(version)) {
            // Only a rank alone on its host may leave without MPI_Finalize: a launcher's proxy ends the host-mates of a
            // rank that left without it (hydra: "EXIT CODE: 9"), so several ranks per host must finalize, and between
            // hosts that can hang. Refuse that layout before any work, all ranks together, rather than hang at the end.
            long realHost = mpi.splitShared(comm, rank);
            int onThisHost = mpi.size(realHost);
            boolean crowded = onThisHost > 1 && onThisHost < size;
            if (anyRank(mpi, comm, crowded)) {
                NodecastException why = new NodecastException(ExitCode.MPI, Mpi.versionLine(version).replaceAll("MPICH Version:\\s*", "MPICH ") + " over UCX (ch4:ucx) "
                        + "can hang in MPI_Finalize when a job that spans hosts runs several ranks on one (fixed in MPICH 4.2, "
                        + "pmodels/mpich#6596): start this step with one rank per host (mpiexec -ppn 1, srun --ntasks-per-node=1; "
                        + "the launcher given to activate.sh), or use MPICH 4.2 or newer");
                if (rank == 0) {
                    sayThenAbort(mpi, comm, "nodecast: " + Hosts.localName() + " (rank 0): " + why.getMessage(), why.exitCode().code());
                } else {
                    // rank 0 says why and ends the job; an abort from here could end it before the message is out
                    MemorySegment never = mpi.requestSlot();
                    mpi.ibarrier(comm, never);
                    mpi.awaitPolitely(never);
                }
                throw why;
            }
            if (onThisHost == 1) departure = new Departure.Leave(PmiFarewell.of(env));
        }
        return new MpiTransport(mpi, new Topology(rank, size, nodeIndex, nodes, leader, host), comm, leadersComm, options,
                hosts, version, departure);
    }

    /** Whether {@code flag} is true on any rank of {@code comm}. */
    private static boolean anyRank(Mpi mpi, long comm, boolean flag) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_LONG, flag ? 1 : 0);
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            mpi.allreduce(in, out, 1, mpi.abi.longType(), mpi.abi.opSum(), comm);
            return out.get(ValueLayout.JAVA_LONG, 0) > 0;
        }
    }

    /** Every leader learns every node's name once, so messages about a peer can name it. */
    private static List<String> exchangeHosts(Mpi mpi, long leaders, String host, int nodes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mine = a.allocate(HOST_BYTES);
            byte[] b = host.getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(b, 0, mine, ValueLayout.JAVA_BYTE, 0, Math.min(b.length, HOST_BYTES - 1));
            MemorySegment all = a.allocate((long) HOST_BYTES * nodes);
            mpi.allgather(mine, all, HOST_BYTES, leaders);
            List<String> out = new ArrayList<>(nodes);
            for (int i = 0; i < nodes; i++) out.add(all.asSlice((long) i * HOST_BYTES, HOST_BYTES).getString(0));
            return List.copyOf(out);
        }
    }

    @Override
    public Topology topology() {
        return topology;
    }

    @Override
    public List<String> leaderHosts() {
        return leaderHosts;
    }

    @Override
    public byte[] shareFromRoot(byte[] rootData) {
        return share(rootData, leaders, false, Integer.MAX_VALUE);
    }

    @Override
    public byte[] shareWithAll(byte[] rootData, int maxBytes) {
        return share(rootData, world, true, maxBytes);
    }

    /**
     * Rank 0's length, then its bytes. Over the world the ranks that are not leaders wait in MPI_Ibcast and poll
     * politely: a blocking MPI_Bcast spins in most libraries, on cores the leader's unpacking needs.
     */
    private byte[] share(byte[] rootData, long comm, boolean politely, int maxBytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            if (topology.root()) {
                if (rootData.length > maxBytes) throw new IllegalArgumentException(rootData.length + " bytes to share, at most " + maxBytes);
                len.set(ValueLayout.JAVA_INT, 0, rootData.length);
            }
            bcast(len, 4, comm, politely);
            int n = len.get(ValueLayout.JAVA_INT, 0);
            if (n == 0) return new byte[0];
            MemorySegment data = a.allocate(n);
            if (topology.root()) MemorySegment.copy(rootData, 0, data, ValueLayout.JAVA_BYTE, 0, n);
            bcast(data, n, comm, politely);
            return data.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private void bcast(MemorySegment buf, int bytes, long comm, boolean politely) {
        if (!politely) {
            mpi.bcast(buf, bytes, mpi.abi.byteType(), 0, comm);
            return;
        }
        mpi.ibcast(buf, bytes, mpi.abi.byteType(), 0, comm, requests[0]);
        mpi.awaitPolitely(requests[0]);
    }

    @Override
    public byte[] gatherFromLeaders(byte[] record, int recordBytes) {
        if (record.length > recordBytes) throw new IllegalArgumentException(record.length + " bytes in a record of " + recordBytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mine = a.allocate(recordBytes);
            MemorySegment.copy(record, 0, mine, ValueLayout.JAVA_BYTE, 0, record.length);
            MemorySegment all = a.allocate((long) recordBytes * topology.nodes());
            mpi.allgather(mine, all, recordBytes, leaders);
            return all.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    @Override
    public double[] maxOverLeaders(double[] values) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_DOUBLE, values);
            return allreduce(a, in, ValueLayout.JAVA_DOUBLE, values.length, mpi.abi.doubleType(), mpi.abi.opMax()).toArray(ValueLayout.JAVA_DOUBLE);
        }
    }

    @Override
    public long[] sumOverLeaders(long[] values) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_LONG, values);
            return allreduce(a, in, ValueLayout.JAVA_LONG, values.length, mpi.abi.longType(), mpi.abi.opSum()).toArray(ValueLayout.JAVA_LONG);
        }
    }

    private MemorySegment allreduce(Arena a, MemorySegment in, ValueLayout layout, int count, long type, long op) {
        MemorySegment out = a.allocate(layout, count);
        mpi.allreduce(in, out, count, type, op, leaders);
        return out;
    }

    /**
     * The receivers and node 0 get a communicator of their own when not every leader takes part (MPI_Comm_split,
     * ordered by node, so node 0 is its rank 0); the stream runs on it and it is freed after.
     */
    @Override
    public String stream(BitSet receivers, long totalBytes, ChunkSource source, ChunkSink sink) throws IOException {
        int[] members = members(receivers, topology.nodes());
        boolean everyone = members.length == topology.nodes();
        boolean in = topology.node() == 0 || receivers.get(topology.node());
        long comm = everyone ? leaders : mpi.split(leaders, in ? 0 : Abi.UNDEFINED, topology.node());
        if (!in) return "not taking part";
        try {
            if (!everyone) mpi.errorsReturn(comm);
            int me = mpi.rank(comm);
            BroadcastPlan plan = BroadcastPlan.choose(options.algorithm(), members.length, totalBytes, options.chunkBytes());
            if (totalBytes > 0) {
                // buffers as large as this bundle's segments, not the largest chunk (a small bundle needs no more); a
                // later, larger bundle gets larger ones
                int need = Math.clamp(plan.segmentBytes(), 4096, options.chunkBytes());
                if (pipeline == null || pipeline.capacity() < need) pipeline = new PipelinedBroadcast(mpi, need);
                if (plan.algorithm() == BroadcastAlgorithm.IBCAST) {
                    ibcastStream(comm, plan, source, sink, members);
                } else {
                    pipeline.run(comm, me, plan, source, sink, options.stall(), r -> leaderHosts.get(members[r]));
                }
            }
            return plan.describe();
        } finally {
            if (!everyone) mpi.commFree(comm);
        }
    }

    /** The nodes taking part, in order: node 0 and the receivers. */
    static int[] members(BitSet receivers, int nodes) {
        BitSet all = (BitSet) receivers.clone();
        all.set(0);
        all.clear(nodes, Math.max(nodes, all.length()));
        return all.stream().toArray();
    }

    /**
     * The library's broadcast, double-buffered: while the sink works on chunk k, the broadcast of chunk k+1 is
     * already posted. Chunk sizes follow from the total, so every leader knows them without being told.
     */
    private void ibcastStream(long comm, BroadcastPlan plan, ChunkSource source, ChunkSink sink, int[] members) throws IOException {
        long chunks = plan.segments();
        post(comm, plan, source, 0);
        for (long k = 0; k < chunks; k++) {
            int cur = (int) (k & 1);
            Patience patience = new Patience(options.stall());
            while (!mpi.test(requests[cur])) {
                if (!patience.idle()) {
                    throw new Broken("the broadcast (MPI_Ibcast) stalled for " + patience.idleSeconds() + " s at chunk " + k + " of "
                            + chunks + " among " + members.length + " nodes: a node stopped or died");
                }
            }
            if (k + 1 < chunks) post(comm, plan, source, k + 1);
            sink.accept(pipeline.buffer(cur).asSlice(0, plan.length(k)).asByteBuffer());
        }
    }

    private void post(long comm, BroadcastPlan plan, ChunkSource source, long k) throws IOException {
        int len = plan.length(k);
        MemorySegment buf = pipeline.buffer((int) (k & 1));
        if (topology.root()) {
            ByteBuffer bb = buf.asSlice(0, len).asByteBuffer();
            while (bb.hasRemaining()) {
                if (source.fill(bb) == 0) throw new IOException("bundle ended early, at chunk " + k);
            }
        }
        mpi.ibcast(buf, len, mpi.abi.byteType(), 0, comm, requests[(int) (k & 1)]);
    }

    @Override
    public void abort(NodecastException why) {
        sayThenAbort(mpi, world, "nodecast: " + topology.host() + " (rank " + topology.rank() + "): " + why.getMessage(),
                why.exitCode().code());
    }

    /**
     * The launcher forwards a rank's standard error through its proxy, and MPI_Abort has the proxies kill every
     * rank: hydra now and then ended the job before it had forwarded the line that says why (the exit code came
     * through, the message did not). A moment between the two lets the line out.
     */
    private static void sayThenAbort(Mpi mpi, long world, String line, int code) {
        System.err.println(line);
        System.err.flush();
        try {
            Thread.sleep(300);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        mpi.abort(world, code);
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (mpi.isFinalized()) return;
        // every message has arrived everywhere once all ranks are here: what MPI_Finalize adds is tidying
        mpi.ibarrier(world, requests[0]);
        mpi.awaitPolitely(requests[0]);
        switch (departure) {
            case Departure.Finalize() -> mpi.finalizeMpi();
            case Departure.Leave(Optional<PmiFarewell> farewell) -> farewell.flatMap(PmiFarewell::say).ifPresent(why -> System.err.println(
                    "nodecast: " + topology.host() + " (rank " + topology.rank() + "): left without MPI_Finalize and the launcher "
                    + "was not told (" + why + "); it may report this rank as failed"));
        }
    }

    /** How a rank leaves MPI once the step is over. */
    private sealed interface Departure {
        /** {@code MPI_Finalize}, as every MPI program does. */
        record Finalize() implements Departure {}

        /**
         * Out without {@code MPI_Finalize}, where it can hang (Debian's MPICH 4.0 over UCX) and this rank is alone on
         * its host; the process manager is told, if it listens on a PMI-1 wire, so that it does not take the exit for a
         * crash.
         */
        record Leave(Optional<PmiFarewell> farewell) implements Departure {}
    }
}
