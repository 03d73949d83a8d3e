package io.nodecast.slowfs;

import org.cryptomator.jfuse.api.FuseOperations.Operation;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * What makes the file system slow, and what it counts: every metadata operation takes a token from the shared
 * bucket and then waits the fixed delay; data operations (read, write) and closes only count.
 */
final class Meter {
    private final TokenBucket bucket;
    private final long delayNanos;
    private final Map<Operation, LongAdder> served = new EnumMap<>(Operation.class);
    private final LongAdder throttled = new LongAdder();
    private final LongAdder waitedNanos = new LongAdder();
    private final LongAdder delayedNanos = new LongAdder();

    Meter(TokenBucket bucket, long delayNanos) {
        this.bucket = bucket;
        this.delayNanos = delayNanos;
        for (Operation op : Operation.values()) served.put(op, new LongAdder());
    }

    /** A metadata operation: counted, then charged one token and the fixed delay. */
    void metadata(Operation op) {
        served.get(op).increment();
        long waited = bucket.take();
        if (waited > 0) {
            throttled.increment();
            waitedNanos.add(waited);
        }
        if (delayNanos > 0) {
            long t0 = System.nanoTime();
            TokenBucket.sleepUntil(t0 + delayNanos);
            delayedNanos.add(System.nanoTime() - t0);
        }
    }

    /** A data operation or a close: counted, never slowed. */
    void free(Operation op) {
        served.get(op).increment();
    }

    /** The counters now, as a small JSON object (no library: the daemon has one dependency, the binding). */
    String json(Settings settings, long pid, boolean running, long startedMillis) {
        StringBuilder ops = new StringBuilder();
        long total = 0;
        for (var e : served.entrySet()) {
            long n = e.getValue().sum();
            total += n;
            if (n == 0) continue;
            if (!ops.isEmpty()) ops.append(", ");
            ops.append('"').append(name(e.getKey())).append("\": ").append(n);
        }
        long now = System.currentTimeMillis();
        return String.format(Locale.ROOT, """
                {"mountpoint": "%s", "backing": "%s", "pid": %d, "running": %b,
                 "rate_ops_per_s": %s, "burst": %d, "delay_ms": %s,
                 "ops_per_stat": 2, "snapshot_ms": %d, "uptime_s": %.3f,
                 "total": %d, "throttled": %d, "waited_s": %.6f, "delayed_s": %.6f,
                 "ops": {%s}}
                """, escape(settings.mountpoint().toString()), escape(settings.backing().toString()), pid, running,
                plain(settings.rate()), settings.burst(), plain(settings.delayMillis()),
                now, (now - startedMillis) / 1e3,
                total, throttled.sum(), waitedNanos.sum() / 1e9, delayedNanos.sum() / 1e9, ops);
    }

    /** getattr, readdir, opendir...: the names of libfuse's struct fuse_operations. */
    static String name(Operation op) {
        return op.name().toLowerCase(Locale.ROOT).replace("_", "");
    }

    private static String plain(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }
}
