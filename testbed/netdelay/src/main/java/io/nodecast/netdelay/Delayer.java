package io.nodecast.netdelay;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The delay loop, on one thread: wait (ppoll, to the nanosecond) until the socket has packets or the oldest held
 * packet is due, read what arrived, release what is due with one batch verdict. Started at real-time priority so
 * the machine's other work does not make packets late; the loop allocates nothing.
 */
final class Delayer implements Runnable {
    /** Longest sleep with nothing held: how soon a stop request is noticed. */
    private static final long IDLE_NANOS = 50_000_000L;

    private final Settings settings;
    private final Lateness lateness = new Lateness();
    private final DelayLine line;
    private volatile boolean stopping;
    private volatile boolean ready;
    private volatile long packets, verdicts, held, maxHeld, overruns;
    /** Diagnostics, nanoseconds: the longest verdict call, read (with its callbacks), and oversleep of a timeout. */
    private volatile long maxVerdictNanos, maxReadNanos, maxOversleepNanos;
    private volatile String priorityNote = "";
    private long arrival;

    record Settings(int queue, long delayNanos, int maxlen, boolean gso, int rtPriority) {}

    Delayer(Settings settings) {
        this.settings = settings;
        this.line = new DelayLine(settings.delayNanos(), 4096, lateness);
    }

    void stop() {
        stopping = true;
    }

    boolean ready() {
        return ready;
    }

    @Override
    public void run() {
        Nfq nfq = Nfq.load();
        if (settings.rtPriority() > 0) {
            try {
                Libc.realtime(settings.rtPriority());
                priorityNote = "SCHED_FIFO " + settings.rtPriority();
            } catch (NativeException e) {
                priorityNote = "normal priority (" + e.getMessage() + ")";
            }
        }
        Libc.timerSlack(1);
        try (Arena arena = Arena.ofConfined();
             PacketQueue q = PacketQueue.open(nfq, settings.queue(), settings.maxlen(), settings.gso(), this::arrived)) {
            Libc.setReceiveBuffer(q.fd(), 8 << 20);
            MemorySegment state = arena.allocate(Libc.CALL_STATE);
            MemorySegment pollfd = arena.allocate(Libc.POLLFD);
            VarHandle fdVh = Libc.POLLFD.varHandle(MemoryLayout.PathElement.groupElement("fd"));
            VarHandle eventsVh = Libc.POLLFD.varHandle(MemoryLayout.PathElement.groupElement("events"));
            fdVh.set(pollfd, 0L, q.fd());
            eventsVh.set(pollfd, 0L, Libc.POLLIN);
            MemorySegment timeout = arena.allocate(Libc.TIMESPEC);
            ready = true;
            while (!stopping) {
                long now = System.nanoTime();
                release(q, now);
                long wait = line.isEmpty() ? IDLE_NANOS : Math.min(IDLE_NANOS, line.nextDue() - now);
                if (wait > 0) {
                    timeout.set(JAVA_LONG, 0, wait / 1_000_000_000L);
                    timeout.set(JAVA_LONG, 8, wait % 1_000_000_000L);
                    long before = System.nanoTime();
                    int r = Libc.ppoll(state, pollfd, 1, timeout);
                    if (r < 0 && r != -Libc.EINTR) throw new NativeException("ppoll", -r);
                    if (r == 0) {   // timed out: something is due
                        long over = System.nanoTime() - before - wait;
                        if (over > maxOversleepNanos) maxOversleepNanos = over;
                    }
                    if (r <= 0) continue;
                }
                // drain the socket, releasing between reads so a burst of arrivals does not make held packets late
                for (int reads = 0; reads < 64; reads++) {
                    arrival = System.nanoTime();
                    if (!q.readAvailable()) break;
                    long read = System.nanoTime() - arrival;
                    if (read > maxReadNanos) maxReadNanos = read;
                    release(q, arrival);
                }
                overruns = q.overruns();
                maxHeld = line.maxSize();
            }
            long last = line.releaseAll();   // stopping: let everything held go now rather than drop it
            if (last != DelayLine.NONE) q.acceptUpTo((int) last);
        }
    }

    private void arrived(int id) {
        line.add(id, arrival);
        packets++;
    }

    private void release(PacketQueue q, long now) {
        long last = line.releaseDue(now);
        if (last != DelayLine.NONE) {
            long t = System.nanoTime();
            q.acceptUpTo((int) last);
            t = System.nanoTime() - t;
            if (t > maxVerdictNanos) maxVerdictNanos = t;
            verdicts++;
        }
        held = line.size();
    }

    /** The most a packet was late since the last call, in microseconds. */
    long takeRecentMaxLateMicros() {
        return lateness.takeRecentMaxMicros();
    }

    /** One line for people: what the loop has done and how punctual it was. */
    String statsLine() {
        return "packets %d verdicts %d held %d max-held %d netlink-overruns %d late-us p50<=%d p99<=%d p99.9<=%d max %d longest-us verdict %d read %d oversleep %d priority %s"
                .formatted(packets, verdicts, held, maxHeld, overruns, lateness.quantileMicros(0.5),
                        lateness.quantileMicros(0.99), lateness.quantileMicros(0.999), lateness.maxMicros(), maxVerdictNanos / 1000, maxReadNanos / 1000, maxOversleepNanos / 1000, priorityNote);
    }
}
