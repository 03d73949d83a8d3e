package io.nodecast.transport;

import io.nodecast.core.Hosts;
import io.nodecast.core.NodecastException;
import io.nodecast.posix.Pages;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/** One node, one rank, no MPI: the embedded default. The delivery code runs unchanged on it. */
public final class LocalTransport implements Transport {
    private final Topology topology;
    private final int chunkBytes;
    private final String description;

    public LocalTransport(int chunkBytes) {
        this(Topology.single(Hosts.localName()), chunkBytes, "local");
    }

    /**
     * @param topology    where this process stands (one node, its leader; or, inside {@link NodeTransport}, any rank)
     * @param description what reports call it ("local (a one-rank MPI world: MPI not started)")
     */
    public LocalTransport(Topology topology, int chunkBytes, String description) {
        this.topology = topology;
        this.chunkBytes = chunkBytes;
        this.description = description;
    }

    @Override
    public Topology topology() {
        return topology;
    }

    @Override
    public List<String> leaderHosts() {
        return List.of(topology.host());
    }

    @Override
    public byte[] shareFromRoot(byte[] rootData) {
        return rootData;
    }

    @Override
    public byte[] gatherFromLeaders(byte[] record, int recordBytes) {
        return Arrays.copyOf(record, recordBytes);
    }

    @Override
    public double[] maxOverLeaders(double[] values) {
        return values.clone();
    }

    @Override
    public long[] sumOverLeaders(long[] values) {
        return values.clone();
    }

    @Override
    public String stream(BitSet receivers, long totalBytes, ChunkSource source, ChunkSink sink) throws IOException {
        // nothing travels: a read of 1 MiB at a time is as fast, and memory touched for the first time is dear
        int size = Math.clamp(totalBytes, 1, Math.min(chunkBytes, 1 << 20));
        ByteBuffer buffer = Pages.map(size).asByteBuffer();
        long done = 0;
        while (done < totalBytes) {
            buffer.clear();
            buffer.limit((int) Math.min(size, totalBytes - done));
            while (buffer.hasRemaining()) {
                if (source.fill(buffer) == 0) break;
            }
            buffer.flip();
            if (!buffer.hasRemaining()) {
                throw new IOException("bundle ended after " + done + " of " + totalBytes + " bytes");
            }
            done += buffer.remaining();
            sink.accept(buffer);
        }
        return "local";
    }

    @Override
    public byte[] shareWithAll(byte[] rootData, int maxBytes) {
        return rootData;
    }

    @Override
    public void abort(NodecastException why) {
        System.err.println("nodecast: " + topology.host() + ": " + why.getMessage());
        System.err.flush();
        Runtime.getRuntime().halt(why.exitCode().code());
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {}
}
