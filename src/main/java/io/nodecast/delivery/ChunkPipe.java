package io.nodecast.delivery;

import io.nodecast.format.ChunkInput;
import io.nodecast.posix.Pages;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Hands chunks from the thread that receives them (the MPI thread) to the thread that decompresses them, in
 * direct buffers the decompressor reads without another copy. A fixed number of buffers circulate, so a slow disk
 * holds back the broadcast instead of filling memory. If the reader gives up (a failed unpack), writes are dropped
 * so the broadcast can finish in step with the other nodes.
 */
final class ChunkPipe implements ChunkInput {
    private static final ByteBuffer EOF = ByteBuffer.allocate(0);

    private final BlockingQueue<ByteBuffer> full;
    private final BlockingQueue<ByteBuffer> free;
    private final int chunkBytes, buffers;
    /** Buffers are made as the writer first needs them: the reader's first chunk waits for one, not for all. */
    private int made;
    /** All the buffers' memory, mapped with the first and touched as each is used. */
    private MemorySegment slab;
    private volatile boolean abandoned;
    private ByteBuffer current;

    ChunkPipe(int chunkBytes, int buffers) {
        this.full = new ArrayBlockingQueue<>(buffers + 1);
        this.free = new ArrayBlockingQueue<>(buffers);
        this.chunkBytes = chunkBytes;
        this.buffers = buffers;
    }

    /** A free buffer, a new one while fewer than {@code buffers} exist, or null after 50 ms. */
    private ByteBuffer freeBuffer() throws InterruptedException {
        ByteBuffer buf = free.poll();
        if (buf != null) return buf;
        if (made < buffers) {
            if (slab == null) slab = Pages.map((long) buffers * chunkBytes);
            return slab.asSlice((long) made++ * chunkBytes, chunkBytes).asByteBuffer();
        }
        return free.poll(50, TimeUnit.MILLISECONDS);
    }

    /** Writer side: copies the chunk (in pieces if it is larger than a buffer); the caller may reuse it after. */
    void write(ByteBuffer chunk) throws IOException {
        if (abandoned) return;  // at once: waiting for a buffer the reader will never give back slows every node's stream
        ByteBuffer src = chunk.duplicate();
        try {
            while (src.hasRemaining()) {
                ByteBuffer buf;
                while ((buf = freeBuffer()) == null) {
                    if (abandoned) return;
                }
                if (abandoned) return;
                buf.clear();
                int n = Math.min(buf.remaining(), src.remaining());
                buf.put(src.slice(src.position(), n)).flip();
                src.position(src.position() + n);
                full.put(buf);
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

    /** Reader side: stop accepting data; the writer drops what it receives from now on. */
    void abandon() {
        abandoned = true;
        full.clear();
    }

    @Override
    public ByteBuffer next() throws IOException {
        if (current == EOF) return null;
        if (current != null) free.offer(current);
        try {
            current = full.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException();
        }
        return current == EOF ? null : current;
    }
}
