package io.nodecast.format;

import io.nodecast.posix.Pages;

import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * A fixed set of blocks: memory per unpacking is {@code count × size} whatever the bundle, and a slow disk
 * holds back decompression (and through it the broadcast) instead of filling memory.
 */
public final class BlockPool {
    private final BlockingQueue<Block> free;
    private final int blockSize;
    private final int count;
    private final AtomicInteger made = new AtomicInteger();
    /** All the blocks' memory, mapped at the first and touched as each is used. */
    private MemorySegment slab;

    /**
     * @param count     the most blocks ever made; they are made when first needed, so a small bundle costs one
     * @param blockSize a multiple of 512, so tar headers never straddle two blocks of a well-formed archive
     */
    public BlockPool(int count, int blockSize) {
        if (blockSize % 512 != 0) throw new IllegalArgumentException("block size must be a multiple of 512");
        this.blockSize = blockSize;
        this.count = count;
        this.free = new ArrayBlockingQueue<>(count);
    }

    public int blockSize() {
        return blockSize;
    }

    /**
     * An empty block, held once by the caller. Waits for one to come back; {@code stop} is polled while waiting so
     * that a failure elsewhere ends the wait.
     */
    public Block take(BooleanSupplier stop) throws InterruptedIOException {
        try {
            Block b = free.poll();
            if (b == null) {
                int i = made.getAndIncrement();
                if (i < count) b = new Block(this, slab().asSlice((long) i * blockSize, blockSize));
            }
            while (b == null && (b = free.poll(50, TimeUnit.MILLISECONDS)) == null) {
                if (stop.getAsBoolean()) throw new InterruptedIOException("unpacking stopped");
            }
            b.length = 0;
            b.claim();
            return b;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a buffer");
        }
    }

    private synchronized MemorySegment slab() {
        if (slab == null) slab = Pages.map((long) count * blockSize);
        return slab;
    }

    void giveBack(Block b) {
        free.offer(b);
    }
}
