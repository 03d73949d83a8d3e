package io.nodecast.transport.mpi;

import io.nodecast.core.ExitCode;
import io.nodecast.core.Hosts;
import io.nodecast.core.NodecastException;
import io.nodecast.transport.ChunkSink;
import io.nodecast.transport.ChunkSource;
import io.nodecast.transport.NodeFailure;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The job's own MPI as the transport: one leader per node (the ranks that share memory), a communicator of
 * leaders for the bundles, the world for the final agreement. All MPI calls happen on the thread that created it.
 */
public final class MpiTransport implements Transport {
    /** A failure as it travels between leaders: host, rank, code and message in a fixed record. */
    private static final int RECORD = 1024;
    /** The failure list rank 0 sends to every rank: enough for a few dozen failed nodes, the rest summarised. */
    private static final int VERDICT = 64 << 10;

    private final Mpi mpi;
    private final Topology topology;
    private final long world;
    private final long leaders;
    private final int chunkBytes;
    private final MemorySegment[] buffers;
    private final MemorySegment[] requests;
    private final String description;
    private final boolean skipFinalize;
    private boolean closed;

    private MpiTransport(Mpi mpi, Topology topology, long world, long leaders, int chunkBytes, String version, boolean skipFinalize) {
        this.skipFinalize = skipFinalize;
        this.mpi = mpi;
        this.topology = topology;
        this.world = world;
        this.leaders = leaders;
        this.chunkBytes = chunkBytes;
        this.buffers = topology.leader()
                ? new MemorySegment[] {mpi.arena().allocate(chunkBytes, 4096), mpi.arena().allocate(chunkBytes, 4096)}
                : new MemorySegment[0];
        this.requests = new MemorySegment[] {mpi.arena().allocate(8), mpi.arena().allocate(8)};
        this.description = "mpi (" + mpi.abi.family() + ": " + Mpi.versionLine(version) + ")";
    }

    /**
     * Loads the library, initialises MPI and finds the nodes.
     * @param library an explicit library (path or soname), else chosen from the launcher's environment
     */
    public static MpiTransport start(Optional<String> library, int chunkBytes, Map<String, String> env) {
        Native lib = MpiLibrary.open(MpiLibrary.candidates(library, env));
        Mpi mpi = Mpi.open(lib);
        mpi.initThread();
        long world = mpi.abi.commWorld();
        mpi.errorsReturn(world);
        int rank = mpi.rank(world);
        int size = mpi.size(world);
        Optional<Integer> promised = MpiLibrary.launcherSize(env);
        if (size == 1 && promised.orElse(1) > 1) {
            mpi.finalizeMpi();
            throw new NodecastException(ExitCode.MPI, Hosts.localName() + ": " + lib.path() + " (" + mpi.abi.family()
                    + ") started a world of 1 rank, but the launcher started " + promised.get()
                    + ": the library does not belong to this launcher; name the job's MPI with --mpi-lib or NODECAST_MPI_LIB");
        }
        int simulated = env.containsKey("NODECAST_SIMULATE_NODES") ? Integer.parseInt(env.get("NODECAST_SIMULATE_NODES").strip()) : 0;
        long node = simulated > 0
                ? mpi.split(world, (int) ((long) rank * Math.min(simulated, size) / size), rank)
                : mpi.splitShared(world, rank);
        mpi.errorsReturn(node);
        boolean leader = mpi.rank(node) == 0;
        long leadersComm = mpi.split(world, leader ? 0 : Abi.UNDEFINED, rank);
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
        // Only a rank alone on its node may leave without MPI_Finalize: hydra's proxy then ends no other process
        // (it kills a finished rank's node-mates), and the launcher still sees the exit code.
        String version = mpi.libraryVersion();
        boolean skipFinalize = Mpi.finalizeMayHang(version) && "1".equals(env.get("MPI_LOCALNRANKS"));
        return new MpiTransport(mpi, new Topology(rank, size, nodeIndex, nodes, leader, host), world, leadersComm, chunkBytes,
                version, skipFinalize);
    }

    @Override
    public Topology topology() {
        return topology;
    }

    @Override
    public byte[] shareFromRoot(byte[] rootData) {
        MemorySegment len = mpi.arena().allocate(ValueLayout.JAVA_INT);
        if (topology.root()) len.set(ValueLayout.JAVA_INT, 0, rootData.length);
        mpi.bcast(len, 1, mpi.abi.intType(), 0, leaders);
        int n = len.get(ValueLayout.JAVA_INT, 0);
        MemorySegment data = n <= chunkBytes && buffers.length > 0 ? buffers[0] : mpi.arena().allocate(Math.max(1, n));
        if (topology.root()) MemorySegment.copy(rootData, 0, data, ValueLayout.JAVA_BYTE, 0, n);
        if (n > 0) mpi.bcast(data, n, mpi.abi.byteType(), 0, leaders);
        return data.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    @Override
    public boolean anyLeader(boolean flag) {
        return sumOverLeaders(new long[] {flag ? 1 : 0})[0] > 0;
    }

    @Override
    public double[] maxOverLeaders(double[] values) {
        MemorySegment in = mpi.arena().allocateFrom(ValueLayout.JAVA_DOUBLE, values);
        MemorySegment out = mpi.arena().allocate(ValueLayout.JAVA_DOUBLE, values.length);
        mpi.allreduce(in, out, values.length, mpi.abi.doubleType(), mpi.abi.opMax(), leaders);
        return out.toArray(ValueLayout.JAVA_DOUBLE);
    }

    @Override
    public long[] sumOverLeaders(long[] values) {
        MemorySegment in = mpi.arena().allocateFrom(ValueLayout.JAVA_LONG, values);
        MemorySegment out = mpi.arena().allocate(ValueLayout.JAVA_LONG, values.length);
        mpi.allreduce(in, out, values.length, mpi.abi.longType(), mpi.abi.opSum(), leaders);
        return out.toArray(ValueLayout.JAVA_LONG);
    }

    /**
     * Double-buffered: while the sink works on chunk k (decompression and writing happen on other threads, fed
     * by the sink), the broadcast of chunk k+1 is already posted. Chunk sizes follow from totalBytes, so every
     * leader knows them without being told.
     */
    @Override
    public void stream(ChunkSource source, long totalBytes, ChunkSink sink) throws IOException {
        long chunks = (totalBytes + chunkBytes - 1) / chunkBytes;
        if (chunks == 0) return;
        post(source, 0, totalBytes);
        for (long k = 0; k < chunks; k++) {
            int cur = (int) (k & 1);
            mpi.await(requests[cur]);
            if (k + 1 < chunks) post(source, k + 1, totalBytes);
            int len = length(k, totalBytes);
            sink.accept(buffers[cur].asSlice(0, len).asByteBuffer());
        }
    }

    private void post(ChunkSource source, long k, long total) throws IOException {
        int len = length(k, total);
        MemorySegment buf = buffers[(int) (k & 1)];
        if (topology.root()) {
            ByteBuffer bb = buf.asSlice(0, len).asByteBuffer();
            while (bb.hasRemaining()) {
                if (source.fill(bb) == 0) throw new IOException("bundle ended early, at chunk " + k);
            }
        }
        mpi.ibcast(buf, len, mpi.abi.byteType(), 0, leaders, requests[(int) (k & 1)]);
    }

    private int length(long k, long total) {
        return (int) Math.min(chunkBytes, total - k * chunkBytes);
    }

    /**
     * Leaders exchange their failures (a fixed record each); rank 0 sends the list to every rank. Non-leaders wait
     * for it without spinning. A non-leader has no work that can fail, so its own argument is only logged locally.
     */
    @Override
    public List<NodeFailure> agree(Optional<NodeFailure> mine) {
        MemorySegment verdict = mpi.arena().allocate(VERDICT);
        if (topology.leader()) {
            MemorySegment record = mpi.arena().allocate(RECORD);
            byte[] enc = encode(mine.map(List::of).orElse(List.of()), RECORD);
            MemorySegment.copy(enc, 0, record, ValueLayout.JAVA_BYTE, 0, enc.length);
            MemorySegment all = mpi.arena().allocate((long) RECORD * topology.nodes());
            mpi.allgather(record, all, RECORD, leaders);
            if (topology.root()) {
                List<NodeFailure> failures = new ArrayList<>();
                for (int i = 0; i < topology.nodes(); i++) {
                    failures.addAll(decode(all.asSlice((long) i * RECORD, RECORD).toArray(ValueLayout.JAVA_BYTE)));
                }
                byte[] v = encode(failures, VERDICT);
                MemorySegment.copy(v, 0, verdict, ValueLayout.JAVA_BYTE, 0, v.length);
            }
        }
        mpi.ibcastWorld(verdict, VERDICT, world, requests[0]);
        mpi.awaitPolitely(requests[0]);
        return decode(verdict.toArray(ValueLayout.JAVA_BYTE));
    }

    /** Failures as length-prefixed records, cut to fit: the last ones are summarised in a count. */
    static byte[] encode(List<NodeFailure> failures, int capacity) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            int room = capacity - 8;
            List<byte[]> records = new ArrayList<>();
            for (NodeFailure f : failures) {
                ByteArrayOutputStream one = new ByteArrayOutputStream();
                try (DataOutputStream o = new DataOutputStream(one)) {
                    o.writeUTF(cut(f.host(), 200));
                    o.writeInt(f.rank());
                    o.writeInt(f.code().ordinal());
                    o.writeUTF(cut(f.message(), Math.max(16, Math.min(capacity - 240, 4000))));
                }
                byte[] r = one.toByteArray();
                if (r.length > room) break;
                room -= r.length;
                records.add(r);
            }
            out.writeInt(records.size());
            out.writeInt(failures.size() - records.size());
            for (byte[] r : records) out.write(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static List<NodeFailure> decode(byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int n = in.readInt();
            int more = in.readInt();
            List<NodeFailure> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(new NodeFailure(in.readUTF(), in.readInt(), ExitCode.values()[in.readInt()], in.readUTF()));
            }
            if (more > 0) {
                out.add(new NodeFailure("(" + more + " more nodes)", -1, out.getLast().code(), "failed too; their messages did not fit"));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String cut(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return b.length <= max ? s : new String(b, 0, max, StandardCharsets.UTF_8) + "...";
    }

    @Override
    public void abort(int code) {
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
        if (skipFinalize) return;
        mpi.finalizeMpi();
    }
}
