package io.nodecast.delivery;

import io.nodecast.digest.Sha256;
import io.nodecast.posix.Pages;
import io.nodecast.transport.ChunkSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Rank 0 reading a bundle: hashes as it reads and never throws, because the other leaders are waiting for exactly
 * {@code size} bytes; a read error is recorded and zeros are sent in its place (rank 0's verdict then fails the
 * bundle everywhere).
 */
final class FileSource implements ChunkSource {
    private final MessageDigest digest = Sha256.create();
    private final Path path;
    private final long size;
    /**
     * Reads from the file go through this buffer, 8 MiB at a time, whatever slices the transport asks for: on a
     * parallel file system each read is a request (and with attribute caching off, a revalidation); 1 MiB slices made
     * a 212 MiB bundle cost the emulated metadata server 224 operations instead of 35.
     */
    private static final int READ_AHEAD = 8 << 20;
    private ByteBuffer ahead;
    private FileChannel channel;
    private boolean opened;
    private String error;
    private long nanos;

    FileSource(Path path, long size) {
        this.path = path;
        this.size = size;
    }

    @Override
    public int fill(ByteBuffer into) {
        long t = System.nanoTime();
        int start = into.position();
        try {
            if (error == null && !opened) {
                opened = true;
                // the first chunk is read straight into the transport's buffer: the read-ahead buffer is 8 MiB of
                // fresh memory to touch (37 ms on this machine in 4 KiB pages), which the unpacker's first chunk need
                // not wait for
                channel = FileChannel.open(path, StandardOpenOption.READ);
                while (into.hasRemaining() && channel.read(into) > 0) {
                    // until the chunk is full or the file ends
                }
                if (into.hasRemaining() && channel.position() < size) shorter();
            } else if (error == null) {
                if (ahead == null) ahead = Pages.map(Math.max(1, Math.min(READ_AHEAD, size))).asByteBuffer().flip();
                if (!ahead.hasRemaining()) {
                    ahead.clear();
                    int n = channel.read(ahead);
                    ahead.flip();
                    if (n < 0) shorter();
                }
                int n = Math.min(ahead.remaining(), into.remaining());
                into.put(ahead.slice(ahead.position(), n));
                ahead.position(ahead.position() + n);
            }
        } catch (IOException e) {
            error = "cannot read bundle " + path + ": " + e.getMessage();
        }
        if (error != null) {
            while (into.hasRemaining()) into.put((byte) 0);
        }
        int n = into.position() - start;
        digest.update(into.duplicate().flip().position(start));
        if (into.position() == into.limit() || error != null) closeAtEnd();
        nanos += System.nanoTime() - t;
        return n;
    }

    private void shorter() {
        error = "bundle " + path + " became shorter while it was read (expected " + size + " bytes)";
    }

    private void closeAtEnd() {
        // the transport asks for exactly size bytes; close once the last one is read
        try {
            if (channel != null && channel.position() >= size && (ahead == null || !ahead.hasRemaining())) {
                channel.close();
                channel = null;
            }
        } catch (IOException ignored) {
            // read-only channel: nothing to lose
        }
    }

    /** The checksum of what was sent (call once, after the stream). */
    String sha256() {
        return Sha256.hex(digest);
    }

    Optional<String> error() {
        return Optional.ofNullable(error);
    }

    double seconds() {
        return nanos / 1e9;
    }
}
