package io.nodecast.netdelay;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How late packets leave compared with arrival + delay: a histogram in powers of two microseconds (bucket k holds
 * [2^(k-1), 2^k) us; bucket 0 under 1 us). Written by the delay thread, read by the stats writer.
 */
final class Lateness {
    static final int BUCKETS = 24;
    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private volatile long maxNanos, recentMaxNanos;

    void record(long lateNanos) {
        long us = Math.max(0, lateNanos) / 1000;
        int b = Math.min(BUCKETS - 1, 64 - Long.numberOfLeadingZeros(us));
        counts.lazySet(b, counts.get(b) + 1);   // one writer
        if (lateNanos > maxNanos) maxNanos = lateNanos;
        if (lateNanos > recentMaxNanos) recentMaxNanos = lateNanos;
    }

    /** The most late since the last call, in microseconds (the reader resets it; a racing record may be lost). */
    long takeRecentMaxMicros() {
        long m = recentMaxNanos;
        recentMaxNanos = 0;
        return m / 1000;
    }

    long count() {
        long n = 0;
        for (int b = 0; b < BUCKETS; b++) n += counts.get(b);
        return n;
    }

    long maxMicros() {
        return maxNanos / 1000;
    }

    /** An upper bound, in microseconds, below which the fraction {@code q} of packets left. */
    long quantileMicros(double q) {
        long n = count();
        if (n == 0) return 0;
        long need = (long) Math.ceil(q * n), seen = 0;
        for (int b = 0; b < BUCKETS; b++) {
            seen += counts.get(b);
            if (seen >= need) return b == 0 ? 1 : 1L << b;
        }
        return maxMicros();
    }
}
