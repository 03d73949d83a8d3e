package io.nodecast.transport;

import io.nodecast.core.Hosts;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/** One node, one rank, no MPI: the embedded default. The delivery code runs unchanged on it. */
public final class LocalTransport implements Transport {
    private final Topology topology;
    private final int chunkBytes;

    public LocalTransport(int chunkBytes) {
        this(Topology.single(Hosts.localName()), chunkBytes);
    }

    public LocalTransport(Topology topology, int chunkBytes) {
        this.topology = topology;
        this.chunkBytes = chunkBytes;
    }

    @Override
    public Topology topology() {
        return topology;
    }

    @Override
    public byte[] shareFromRoot(byte[] rootData) {
        return rootData;
    }

    @Override
    public boolean anyLeader(boolean flag) {
        return flag;
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
    public void stream(ChunkSource source, long totalBytes, ChunkSink sink) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(chunkBytes);
        long done = 0;
        while (done < totalBytes) {
            buffer.clear();
            buffer.limit((int) Math.min(chunkBytes, totalBytes - done));
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
    }

    @Override
    public List<NodeFailure> agree(Optional<NodeFailure> mine) {
        return mine.map(List::of).orElse(List.of());
    }

    @Override
    public void abort(int code) {
        Runtime.getRuntime().halt(code);
    }

    @Override
    public String describe() {
        return "local";
    }

    @Override
    public void close() {}
}
