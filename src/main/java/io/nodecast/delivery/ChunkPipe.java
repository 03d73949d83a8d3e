package io.nodecast.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Hands chunks from the thread that receives them (the MPI thread) to the thread that unpacks them.
 * A fixed number of buffers circulate, so a slow disk holds back the broadcast instead of filling memory.
 * If the reader gives up (a failed unpack), writes are dropped so the broadcast can finish in step with
 * the other nodes.
 */
final class ChunkPipe extends InputStream {
    private record Chunk(byte[] bytes, int length) {}

    private static final Chunk EOF = new Chunk(new byte[0], -1);

    private final BlockingQueue<Chunk> full;
    private final BlockingQueue<byte[]> free;
    private final int chunkBytes;
    private volatile boolean abandoned;
    private Chunk current;
    private int pos;

    ChunkPipe(int chunkBytes, int buffers) {
        this.chunkBytes = chunkBytes;
        this.full = new ArrayBlockingQueue<>(buffers + 1);
        this.free = new ArrayBlockingQueue<>(buffers);
        for (int i = 0; i < buffers; i++) free.add(new byte[chunkBytes]);
    }

    /** Writer side: copies the chunk (in pieces if it is larger than a buffer). */
    void write(ByteBuffer chunk) throws IOException {
        ByteBuffer src = chunk.duplicate();
        try {
            while (src.hasRemaining()) {
                if (abandoned) return;
                byte[] buf = free.take();
                int n = Math.min(buf.length, src.remaining());
                src.get(buf, 0, n);
                full.put(new Chunk(buf, n));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while handing a chunk to the unpacker");
        }
    }

    /** Writer side: no more data. The queue always has room for this: at most {@code buffers} chunks circulate. */
    void finish() {
        if (!abandoned) full.offer(EOF);
    }

    /** Reader side: stop accepting data; the writer drains from now on. */
    void abandon() {
        abandoned = true;
        free.clear();
        for (int i = 0; i < 2; i++) free.offer(new byte[chunkBytes]);
        full.clear();
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) return 0;
        if (current == EOF) return -1;
        try {
            while (current == null || pos == current.length()) {
                if (current != null && current != EOF) free.put(current.bytes());
                current = full.take();
                pos = 0;
                if (current == EOF) return -1;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException();
        }
        int n = Math.min(len, current.length() - pos);
        System.arraycopy(current.bytes(), pos, b, off, n);
        pos += n;
        return n;
    }
}
