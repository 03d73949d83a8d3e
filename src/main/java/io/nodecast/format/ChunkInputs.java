package io.nodecast.format;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Ready-made {@link ChunkInput}s: a file read in chunks, bytes in memory. */
public final class ChunkInputs {
    private ChunkInputs() {}

    /** Reads {@code file} in chunks of {@code chunkBytes} into one reused direct buffer; closes it at the end. */
    public static ChunkInput of(Path file, int chunkBytes) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        ByteBuffer buf = ByteBuffer.allocateDirect(chunkBytes);
        return () -> {
            if (!ch.isOpen()) return null;
            buf.clear();
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) break;
            }
            buf.flip();
            if (!buf.hasRemaining()) {
                ch.close();
                return null;
            }
            return buf;
        };
    }

    /** The bytes in chunks of {@code chunkBytes}, each in a direct buffer as a broadcast would deliver them. */
    public static ChunkInput of(byte[] bytes, int chunkBytes) {
        ByteBuffer buf = ByteBuffer.allocateDirect(chunkBytes);
        int[] at = {0};
        return () -> {
            if (at[0] >= bytes.length) return null;
            int n = Math.min(chunkBytes, bytes.length - at[0]);
            buf.clear();
            buf.put(bytes, at[0], n).flip();
            at[0] += n;
            return buf;
        };
    }
}
