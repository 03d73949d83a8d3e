package io.nodecast.format;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A piece of decompressed tar stream in native memory, shared by the parser and the threads that write file data
 * out of it without copying. It goes back to its pool when the last holder releases it.
 */
public final class Block {
    final ByteBuffer buffer;
    final MemorySegment segment;
    private final BlockPool pool;
    private final AtomicInteger holders = new AtomicInteger();
    int length;

    Block(BlockPool pool, MemorySegment memory) {
        this.pool = pool;
        this.segment = memory;
        this.buffer = memory.asByteBuffer();
    }

    public MemorySegment segment() {
        return segment;
    }

    public int length() {
        return length;
    }

    void claim() {
        holders.set(1);
    }

    public void retain() {
        holders.incrementAndGet();
    }

    public void release() {
        if (holders.decrementAndGet() == 0) pool.giveBack(this);
    }
}
