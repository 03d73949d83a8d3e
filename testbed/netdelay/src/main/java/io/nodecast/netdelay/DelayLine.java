package io.nodecast.netdelay;

/**
 * Packets held for a fixed delay, first in first out. Every packet gets the same delay, so release times rise in
 * arrival order and the line releases a prefix: one batch verdict ("accept all up to id") frees it and the
 * order on the wire is kept. A ring buffer that grows when full; nothing is allocated per packet.
 */
final class DelayLine {
    /** Sentinel of {@link #releaseDue}: nothing was due. Ids are 32-bit, so it lies outside their range. */
    static final long NONE = -1;

    private final long delayNanos;
    private final Lateness lateness;
    private long[] due;
    private int[] ids;
    private int head, size, maxSize;

    DelayLine(long delayNanos, int initialCapacity, Lateness lateness) {
        if (delayNanos < 0) throw new IllegalArgumentException("negative delay: " + delayNanos + " ns");
        this.delayNanos = delayNanos;
        this.lateness = lateness;
        int cap = 16;
        while (cap < initialCapacity) cap <<= 1;
        due = new long[cap];
        ids = new int[cap];
    }

    /** A packet seen at {@code arrivalNanos} (System.nanoTime) leaves at arrival + delay. */
    void add(int id, long arrivalNanos) {
        if (size == ids.length) grow();
        int i = (head + size) & (ids.length - 1);
        ids[i] = id;
        due[i] = arrivalNanos + delayNanos;
        size++;
        if (size > maxSize) maxSize = size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    /** The most packets held at once so far. */
    int maxSize() {
        return maxSize;
    }

    /** When the oldest packet is due; only when not empty. */
    long nextDue() {
        return due[head];
    }

    /**
     * Removes every packet due at or before {@code now} and returns the id of the last one (unsigned, as a long),
     * or {@link #NONE}. Each packet's lateness (now - due) goes to the histogram.
     */
    long releaseDue(long now) {
        long last = NONE;
        int mask = ids.length - 1;
        while (size > 0 && due[head] <= now) {
            lateness.record(now - due[head]);
            last = ids[head] & 0xffff_ffffL;
            head = (head + 1) & mask;
            size--;
        }
        return last;
    }

    /** Removes everything (on shutdown: released at once, undelayed); returns the last id or {@link #NONE}. */
    long releaseAll() {
        if (size == 0) return NONE;
        long last = ids[(head + size - 1) & (ids.length - 1)] & 0xffff_ffffL;
        head = (head + size) & (ids.length - 1);
        size = 0;
        return last;
    }

    private void grow() {
        int n = ids.length;
        long[] d = new long[n * 2];
        int[] s = new int[n * 2];
        for (int k = 0; k < size; k++) {
            d[k] = due[(head + k) & (n - 1)];
            s[k] = ids[(head + k) & (n - 1)];
        }
        due = d;
        ids = s;
        head = 0;
    }
}
