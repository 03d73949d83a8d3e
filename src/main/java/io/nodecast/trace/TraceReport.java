package io.nodecast.trace;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A command's file-system calls, counted.
 *
 * @param calls       every traced call
 * @param failed      calls that returned an error (ENOENT for most: the cost of a long search path)
 * @param bySyscall   calls per system call
 * @param byPrefix    calls per path prefix (a --shared path, else the first two components)
 * @param underShared calls under each --shared path (0 is the goal after rerouting)
 * @param exitCode    the command's exit status
 */
public record TraceReport(long calls, long failed, Map<String, Long> bySyscall, Map<String, Long> failedBySyscall,
                          Map<String, Long> byPrefix, Map<String, Long> underShared, int exitCode) {

    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%,d file-system calls, %,d failed%n", calls, failed));
        if (!underShared.isEmpty()) {
            b.append(String.format("%nunder the shared paths:%n"));
            underShared.forEach((p, n) -> b.append(String.format(Locale.ROOT, "  %8d  %s%n", n, p)));
        }
        b.append(String.format("%nby path prefix:%n"));
        top(byPrefix, 15).forEach((p, n) -> b.append(String.format(Locale.ROOT, "  %8d  %s%n", n, p)));
        b.append(String.format("%nby system call:           calls   failed%n"));
        top(bySyscall, 20).forEach((s, n) -> b.append(String.format(Locale.ROOT, "  %-20s %8d %8d%n", s, n,
                failedBySyscall.getOrDefault(s, 0L))));
        return b.toString();
    }

    public String json() {
        return "{\"calls\": " + calls + ", \"failed\": " + failed + ", \"exit_code\": " + exitCode
                + ", \"under_shared\": " + map(underShared) + ", \"by_prefix\": " + map(byPrefix)
                + ", \"by_syscall\": " + map(bySyscall) + ", \"failed_by_syscall\": " + map(failedBySyscall) + "}\n";
    }

    private static Map<String, Long> top(Map<String, Long> m, int n) {
        return m.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, c) -> a, LinkedHashMap::new));
    }

    private static String map(Map<String, Long> m) {
        return m.entrySet().stream().map(e -> quote(e.getKey()) + ": " + e.getValue()).collect(Collectors.joining(", ", "{", "}"));
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
