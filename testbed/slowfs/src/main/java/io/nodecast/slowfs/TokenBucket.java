package io.nodecast.slowfs;

import java.util.concurrent.locks.LockSupport;

/**
 * One token bucket for every caller: at most {@code burst} operations back to back, then one each
 * {@code 1/rate} seconds. Callers that find it empty are served in the order they asked (each reserves the next
 * free slot under a short lock, then sleeps outside it), so hosts queue fairly instead of racing.
 * <p>
 * It is the virtual-scheduling form of the generic cell rate algorithm: {@code due} is when the next token would
 * be earned if no burst were allowed; a caller may go up to {@code burst - 1} intervals ahead of it.
 */
final class TokenBucket {
    private final long intervalNanos;   // 0: unlimited
    private final long aheadNanos;      // how far ahead of the steady rate a burst may run
    private long due = Long.MIN_VALUE;  // guarded by this

    TokenBucket(double opsPerSecond, int burst) {
        if (opsPerSecond < 0 || burst < 1) throw new IllegalArgumentException("rate " + opsPerSecond + ", burst " + burst);
        this.intervalNanos = opsPerSecond == 0 ? 0 : Math.max(1, Math.round(1e9 / opsPerSecond));
        this.aheadNanos = (burst - 1) * intervalNanos;
    }

    boolean unlimited() {
        return intervalNanos == 0;
    }

    /** Takes one token, sleeping until it is earned; returns the nanoseconds slept (0 if one was at hand). */
    long take() {
        if (unlimited()) return 0;
        long now = System.nanoTime();
        long start;
        synchronized (this) {
            if (due == Long.MIN_VALUE || due - now < 0) due = now;
            start = due - aheadNanos;
            due += intervalNanos;
        }
        long wait = start - now;
        if (wait <= 0) return 0;
        sleepUntil(start);
        return System.nanoTime() - now;
    }

    static void sleepUntil(long deadlineNanos) {
        for (long left; (left = deadlineNanos - System.nanoTime()) > 0; ) {
            LockSupport.parkNanos(left);   // FUSE worker threads are never interrupted; spurious wake-ups loop
        }
    }
}
