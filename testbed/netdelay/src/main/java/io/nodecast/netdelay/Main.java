package io.nodecast.netdelay;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * netdelay: holds every packet of a netfilter queue for a fixed delay, then accepts it.
 * <pre>
 * java -jar netdelay.jar --delay-ms D [--queue 0] [--maxlen 65536] [--rt-priority 50] [--no-gso]
 *                        [--ready FILE] [--stats FILE]
 * </pre>
 * Exit codes: 0 stopped by a signal, 1 a native failure (the message names the call and errno), 2 bad usage.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(List.of(args));
        } catch (IllegalArgumentException e) {
            System.err.println("netdelay: " + e.getMessage());
            System.err.println("usage: netdelay --delay-ms D [--queue N] [--maxlen N] [--rt-priority P] [--no-gso] [--ready FILE] [--stats FILE]");
            System.exit(2);
            return;
        }
        Delayer delayer = new Delayer(new Delayer.Settings(o.queue, Math.round(o.delayMs * 1e6), o.maxlen, o.gso, o.rtPriority));
        Throwable[] failure = new Throwable[1];
        Thread loop = new Thread(() -> {
            try {
                delayer.run();
            } catch (Throwable t) {
                failure[0] = t;
            }
        }, "netdelay");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            delayer.stop();
            try {
                loop.join(3000);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            System.out.println("netdelay: stopped: " + delayer.statsLine());
        }));
        loop.start();
        while (loop.isAlive() && !delayer.ready()) loop.join(10);
        if (delayer.ready()) {
            System.out.printf("netdelay: queue %d, delay %s ms, maxlen %d, gso %s: ready%n", o.queue, o.delayMs, o.maxlen, o.gso);
            if (o.ready != null) Files.writeString(o.ready, "ready\n");
        }
        while (loop.isAlive()) {
            loop.join(1000);
            if (!delayer.ready()) continue;
            if (o.stats != null) writeAtomically(o.stats, delayer.statsLine() + "\n");
            long late = delayer.takeRecentMaxLateMicros();
            if (late >= 1000) System.out.printf("netdelay: %s: a packet left %d us late%n", java.time.LocalTime.now(), late);
        }
        if (failure[0] != null) {
            System.err.println("netdelay: " + failure[0].getMessage());
            if (!(failure[0] instanceof NativeException)) failure[0].printStackTrace();
            System.exit(1);
        }
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    record Options(int queue, double delayMs, int maxlen, int rtPriority, boolean gso, Path ready, Path stats) {
        static Options parse(List<String> args) {
            int queue = 0, maxlen = 65536, rt = 50;
            double delay = -1;
            boolean gso = true;
            Path ready = null, stats = null;
            Deque<String> a = new ArrayDeque<>(args);
            while (!a.isEmpty()) {
                String opt = a.pop();
                switch (opt) {
                    case "--delay-ms" -> delay = number(opt, value(opt, a), 0, 10_000);
                    case "--queue" -> queue = (int) number(opt, value(opt, a), 0, 65535);
                    case "--maxlen" -> maxlen = (int) number(opt, value(opt, a), 1, 1 << 24);
                    case "--rt-priority" -> rt = (int) number(opt, value(opt, a), 0, 99);
                    case "--no-gso" -> gso = false;
                    case "--ready" -> ready = Path.of(value(opt, a));
                    case "--stats" -> stats = Path.of(value(opt, a));
                    default -> throw new IllegalArgumentException("unknown option " + opt);
                }
            }
            if (delay < 0) throw new IllegalArgumentException("--delay-ms is required");
            return new Options(queue, delay, maxlen, rt, gso, ready, stats);
        }

        private static String value(String opt, Deque<String> a) {
            if (a.isEmpty()) throw new IllegalArgumentException(opt + " needs a value");
            return a.pop();
        }

        private static double number(String opt, String v, double min, double max) {
            double d;
            try {
                d = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(opt + ": not a number: " + v);
            }
            if (!(d >= min && d <= max)) throw new IllegalArgumentException(opt + ": " + v + " is outside " + min + ".." + max);
            return d;
        }
    }
}
