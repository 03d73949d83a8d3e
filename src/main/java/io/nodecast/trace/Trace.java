package io.nodecast.trace;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts a command's file-system calls with strace, as the paper's Figure 1 did ({@code strace -f -e trace=%file}):
 * every call that names a path, failed lookups included, since each is a request to a metadata server.
 */
public final class Trace {
    // "1234 openat(AT_FDCWD, "/x", O_RDONLY) = 3" ; "1234 stat("/y", 0x7f..) = -1 ENOENT (No such file...)"
    private static final Pattern CALL = Pattern.compile("^(\\d+)\\s+(\\w+)\\((.*)\\)\\s+=\\s+(-?\\d+|\\?)(?:\\s+(E[A-Z0-9]+))?.*$");
    private static final Pattern UNFINISHED = Pattern.compile("^(\\d+)\\s+(\\w+)\\((.*) <unfinished \\.\\.\\.>$");
    private static final Pattern RESUMED = Pattern.compile("^(\\d+)\\s+<\\.\\.\\. (\\w+) resumed>(.*)\\)\\s+=\\s+(-?\\d+|\\?)(?:\\s+(E[A-Z0-9]+))?.*$");
    private static final Pattern FIRST_PATH = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"");

    private Trace() {}

    /** Runs cmd under strace with exactly env and counts; its output goes where {@code output} says. */
    public static TraceReport run(List<String> cmd, Map<String, String> env, List<Path> shared, ProcessBuilder.Redirect output) {
        Path log = null;
        try {
            log = Files.createTempFile("nodecast-trace-", ".txt", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            String strace = System.getenv().getOrDefault("NODECAST_STRACE", "strace");
            List<String> full = new ArrayList<>(List.of(strace, "-f", "-qq", "-e", "trace=%file", "-o", log.toString(), "--"));
            full.addAll(cmd);
            ProcessBuilder pb = new ProcessBuilder(full).redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectOutput(output).redirectError(output);
            pb.environment().clear();
            pb.environment().putAll(env);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new NodecastException(ExitCode.TOOL, "strace is needed to trace file-system calls and could not be started ("
                        + strace + ": " + e.getMessage() + "); install it (Debian: apt-get install strace) or set NODECAST_STRACE");
            }
            int code = p.waitFor();
            if (code != 0 && Files.size(log) == 0) {
                throw new NodecastException(ExitCode.TOOL, "strace could not trace " + cmd.getFirst() + " (exit " + code
                        + "): is ptrace allowed here?");
            }
            try (BufferedReader r = Files.newBufferedReader(log, StandardCharsets.UTF_8)) {
                return parse(r, shared, code);
            }
        } catch (IOException e) {
            throw new NodecastException(ExitCode.TOOL, "tracing " + cmd.getFirst() + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        } finally {
            if (log != null) {
                try {
                    Files.deleteIfExists(log);
                } catch (IOException ignored) {
                    // a private temporary file
                }
            }
        }
    }

    /** Parses strace -f output; exposed for tests that feed it real strace logs. */
    static TraceReport parse(BufferedReader r, List<Path> shared, int exitCode) throws IOException {
        Map<String, String[]> pending = new HashMap<>();
        Counter c = new Counter(shared);
        String line;
        while ((line = r.readLine()) != null) {
            Matcher m;
            if ((m = UNFINISHED.matcher(line)).matches()) {
                pending.put(m.group(1), new String[] {m.group(2), m.group(3)});
            } else if ((m = RESUMED.matcher(line)).matches()) {
                String[] start = pending.remove(m.group(1));
                String args = start != null ? start[1] + m.group(3) : m.group(3);
                c.add(m.group(2), args, m.group(4), m.group(5));
            } else if ((m = CALL.matcher(line)).matches()) {
                c.add(m.group(2), m.group(3), m.group(4), m.group(5));
            }
        }
        return c.report(exitCode);
    }

    private static final class Counter {
        final List<String> shared;
        long calls, failed;
        final Map<String, Long> bySyscall = new TreeMap<>();
        final Map<String, Long> failedBySyscall = new TreeMap<>();
        final Map<String, Long> byPrefix = new TreeMap<>();
        final Map<String, Long> underShared = new LinkedHashMap<>();

        Counter(List<Path> shared) {
            this.shared = shared.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList();
            this.shared.forEach(s -> underShared.put(s, 0L));
        }

        void add(String syscall, String args, String ret, String errno) {
            calls++;
            bySyscall.merge(syscall, 1L, Long::sum);
            if (errno != null || ret.startsWith("-")) {
                failed++;
                failedBySyscall.merge(syscall, 1L, Long::sum);
            }
            Matcher m = FIRST_PATH.matcher(args);
            String path = m.find() ? m.group(1) : "";
            String prefix = null;
            for (String s : shared) {
                if (path.equals(s) || path.startsWith(s.endsWith("/") ? s : s + "/")) {
                    underShared.merge(s, 1L, Long::sum);
                    prefix = s;
                    break;
                }
            }
            byPrefix.merge(prefix != null ? prefix : group(path), 1L, Long::sum);
        }

        static String group(String path) {
            if (path.isEmpty()) return "(no path)";
            if (!path.startsWith("/")) return "(relative to the working directory)";
            String[] parts = path.substring(1).split("/");
            return parts.length <= 2 ? path : "/" + parts[0] + "/" + parts[1];
        }

        TraceReport report(int exitCode) {
            return new TraceReport(calls, failed, bySyscall, failedBySyscall, byPrefix, underShared, exitCode);
        }
    }
}
