package io.nodecast.format;

import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A fixed set of blocks: memory per unpacking is {@code count × size} whatever the bundle, and a slow disk
 * holds back decompression (and through it the broadcast) instead of filling memory.
 */
public final class BlockPool {
    private final BlockingQueue<Block> free;
    private final int blockSize;

    /** @param blockSize a multiple of 512, so tar headers never straddle two blocks of a well-formed archive */
    public BlockPool(int count, int blockSize) {
        if (blockSize % 512 != 0) throw new IllegalArgumentException("block size must be a multiple of 512");
        this.blockSize = blockSize;
        this.free = new ArrayBlockingQueue<>(count);
        for (int i = 0; i < count; i++) free.add(new Block(this, blockSize));
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
            Block b;
            while ((b = free.poll(50, TimeUnit.MILLISECONDS)) == null) {
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

    void giveBack(Block b) {
        free.offer(b);
    }
}
