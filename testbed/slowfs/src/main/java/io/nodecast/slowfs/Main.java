package io.nodecast.slowfs;

import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.cryptomator.jfuse.api.FuseMountFailedException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The slow file system's daemon: mounts the pass-through, then every 100 ms rewrites its counters to the stats
 * file until the mount goes away (fusermount3 -u, umount -l, testbed/down) or it is sent SIGTERM. Exit codes:
 * 0 done, 2 bad arguments, 3 could not mount.
 */
public final class Main {
    static final long PERIOD_MILLIS = 100;

    private Main() {}

    public static void main(String[] args) throws Exception {
        Settings s;
        try {
            s = Settings.parse(List.of(args));
        } catch (Settings.UsageException e) {
            System.err.println("slowfs: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (!Files.isDirectory(s.backing())) {
            System.err.println("slowfs: backing directory " + s.backing() + " does not exist");
            System.exit(2);
        }
        FuseBuilder builder = Fuse.builder();
        if (s.libfuse() != null) builder.setLibraryPath(s.libfuse());
        Meter meter = new Meter(new TokenBucket(s.rate(), s.burst()), Math.round(s.delayMillis() * 1e6));
        long pid = ProcessHandle.current().pid();
        long started = System.currentTimeMillis();
        Fuse fuse = builder.build(new PassThrough(s.backing(), meter, builder.errno()));

        AtomicBoolean closed = new AtomicBoolean();
        Runnable close = () -> {
            if (!closed.compareAndSet(false, true)) return;
            try {
                fuse.close();   // unmounts if still mounted, ends the loop
            } catch (TimeoutException | RuntimeException e) {
                System.err.println("slowfs: closing: " + e);
            }
            writeStats(s.statsFile(), meter.json(s, pid, false, started));
        };
        Runtime.getRuntime().addShutdownHook(new Thread(close, "slowfs-close"));

        try {
            fuse.mount("slowfs", s.mountpoint(), "-o", String.join(",",
                    "allow_other",            // hosts in other namespaces (same uid) use it too
                    "entry_timeout=0", "attr_timeout=0", "negative_timeout=0",   // every lookup reaches us
                    "fsname=slowfs", "subtype=slowfs",
                    "max_threads=" + s.threads()));   // concurrent callers queue on the bucket, not on a thread
        } catch (FuseMountFailedException | IllegalArgumentException e) {
            System.err.println("slowfs: cannot mount " + s.mountpoint() + ": " + e.getMessage());
            closed.set(true);
            System.exit(3);
        }
        System.err.printf("slowfs: mounted %s on %s (rate %s ops/s, burst %d, delay %s ms, pid %d)%n",
                s.backing(), s.mountpoint(), s.rate(), s.burst(), s.delayMillis(), pid);

        String mountpoint = MountInfo.escape(s.mountpoint().toString());
        while (MountInfo.mounted(mountpoint)) {
            writeStats(s.statsFile(), meter.json(s, pid, true, started));
            Thread.sleep(PERIOD_MILLIS);
        }
        System.err.println("slowfs: " + s.mountpoint() + " was unmounted; exiting");
        close.run();
        System.exit(0);
    }

    /** Rewrites the stats file whole (a reader never sees half of it). */
    static void writeStats(Path file, String json) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            System.err.println("slowfs: cannot write " + file + ": " + e);
        }
    }
}
