package io.nodecast.transport.mpi;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * Waiting on MPI requests without holding a core, and noticing when a wait has no end. The MPI thread polls
 * (MPI_Test) while the node's unpacking threads need the cores, so between polls that found nothing it sleeps,
 * a little longer each time up to {@link #MAX_SLEEP}; any progress resets it. A peer that has sent or taken
 * nothing for the stall timeout has died or stopped: {@link #exhausted} says so, and the caller names it.
 */
final class Patience {
    /** Short enough that a 1 Gbit/s link loses little between polls; the socket buffers carry the rest. */
    static final long MAX_SLEEP = Duration.ofMillis(1).toNanos();
    private static final long MIN_SLEEP = Duration.ofNanos(20_000).toNanos();

    private final long stallNanos;
    private long idleSince = System.nanoTime();
    private long sleep = MIN_SLEEP;

    Patience(Duration stall) {
        this.stallNanos = stall.toNanos();
    }

    void progressed() {
        idleSince = System.nanoTime();
        sleep = MIN_SLEEP;
    }

    /** Nothing happened: sleep a little. @return false once nothing has happened for the whole stall timeout */
    boolean idle() {
        if (exhausted()) return false;
        LockSupport.parkNanos(sleep);
        sleep = Math.min(sleep * 2, MAX_SLEEP);
        return true;
    }

    boolean exhausted() {
        return System.nanoTime() - idleSince > stallNanos;
    }

    long idleSeconds() {
        return (System.nanoTime() - idleSince) / 1_000_000_000L;
    }
}
