package io.nodecast.bundle;

import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.NodecastException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The shared libraries a command really loads, in every process it starts, as the dynamic loader reports them
 * ({@code LD_DEBUG=libs,files}, one file per process through {@code LD_DEBUG_OUTPUT}): no ptrace, no strace, and
 * it sees dlopen as well as what ELF files ask for. glibc's loader only; a static or setuid program reports nothing.
 */
final class LoadedLibraries {
    private static final Pattern FIND = Pattern.compile("^\\s*\\d+:\\s+find library=(\\S+) \\[\\d+\\]; searching$");
    private static final Pattern TRYING = Pattern.compile("^\\s*\\d+:\\s+trying file=(.+)$");
    private static final Pattern MAPPED = Pattern.compile("^\\s*\\d+:\\s+file=(\\S+) \\[\\d+\\];\\s+generating link map$");

    private LoadedLibraries() {}

    /** Runs {@code sh -c command}; the name each library was asked by → the file the loader mapped for it. */
    static Map<String, Path> run(String command) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("nodecast-ld-");
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put("LD_DEBUG", "libs,files");
            pb.environment().put("LD_DEBUG_OUTPUT", dir.resolve("ld").toString());
            Process p = pb.start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            if (code != 0) {
                String last = output.strip().lines().reduce((a, b) -> b).orElse("").strip();
                throw new NodecastException(ExitCode.TOOL, "--run: '" + command + "' exited with " + code
                        + (last.isEmpty() ? "" : ": " + last) + "; it must succeed for what it loads to be trusted");
            }
            Map<String, Path> out = new TreeMap<>();
            try (Stream<Path> logs = Files.list(dir)) {
                for (Path log : logs.toList()) out.putAll(parse(Files.readString(log, StandardCharsets.ISO_8859_1)));
            }
            return out;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.TOOL, "--run: cannot run '" + command + "': " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
        } finally {
            if (dir != null) FileTrees.deleteQuietly(dir);
        }
    }

    /**
     * One process's loader log. A library searched for by name is the file last tried before the loader maps
     * that name; one opened by path is that path.
     */
    static Map<String, Path> parse(String log) {
        Map<String, Path> out = new TreeMap<>();
        Map<String, String> tried = new HashMap<>();
        String searching = null;
        try (BufferedReader r = new BufferedReader(new StringReader(log))) {
            String line;
            while ((line = r.readLine()) != null) {
                Matcher m;
                if ((m = FIND.matcher(line)).matches()) {
                    searching = m.group(1);
                } else if (searching != null && (m = TRYING.matcher(line)).matches()) {
                    tried.put(searching, m.group(1).strip());
                } else if ((m = MAPPED.matcher(line)).matches()) {
                    String name = m.group(1);
                    if (name.startsWith("/")) {
                        out.put(Path.of(name).getFileName().toString(), Path.of(name));
                    } else if (tried.containsKey(name)) {
                        out.put(name, Path.of(tried.get(name)));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
