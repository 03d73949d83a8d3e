package io.nodecast.slowfs;

import java.nio.file.Path;
import java.util.List;

/**
 * What the daemon is asked to do. Parsed from the arguments testbed/slowfs/run passes; that script checks the
 * user's input and prints the usage, so a bad argument here is a script bug, reported and exit 2.
 */
record Settings(Path backing, Path mountpoint, double rate, int burst, double delayMillis, int threads,
                Path statsFile, String libfuse) {

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static Settings parse(List<String> args) throws UsageException {
        Path backing = null, mountpoint = null, stats = null;
        double rate = 0, delay = 0;
        int burst = 10, threads = 32;
        String libfuse = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) {
                if (backing == null) backing = Path.of(a);
                else if (mountpoint == null) mountpoint = Path.of(a);
                else throw new UsageException("unexpected argument '" + a + "'");
                continue;
            }
            if (i + 1 >= args.size()) throw new UsageException(a + " needs a value");
            String v = args.get(++i);
            switch (a) {
                case "--rate" -> rate = number(a, v, 0, 1e9);
                case "--burst" -> burst = (int) number(a, v, 1, 1_000_000);
                case "--delay-ms" -> delay = number(a, v, 0, 600_000);
                case "--threads" -> threads = (int) number(a, v, 1, 10_000);
                case "--stats" -> stats = Path.of(v);
                case "--libfuse" -> libfuse = v;
                default -> throw new UsageException("unknown option " + a);
            }
        }
        if (backing == null || mountpoint == null || stats == null) {
            throw new UsageException("usage: slowfs BACKING MOUNTPOINT --stats FILE [--rate OPS_PER_S] [--burst N]"
                    + " [--delay-ms D] [--threads N] [--libfuse PATH]");
        }
        return new Settings(backing.toAbsolutePath().normalize(), mountpoint.toAbsolutePath().normalize(), rate, burst,
                delay, threads, stats, libfuse);
    }

    private static double number(String option, String value, double min, double max) throws UsageException {
        double d;
        try {
            d = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UsageException(option + " takes a number, not '" + value + "'");
        }
        if (!(d >= min && d <= max)) throw new UsageException(option + " must be in [" + min + ", " + max + "], not " + value);
        return d;
    }
}
