package io.nodecast.cli;

import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Small things several commands need: their arguments as given, report files, tree sizes. */
final class CliSupport {
    private CliSupport() {}

    /** nodecast's own arguments, as given: what the ranks of one step have in common (their JVM options may differ). */
    static List<String> arguments(CommandSpec spec) {
        return spec.root().commandLine().getParseResult().originalArgs();
    }

    /** Writes a report file whole or not at all. */
    static void writeReport(Path file, String text) {
        try {
            Path tmp = file.toAbsolutePath().resolveSibling("." + file.getFileName() + ".partial");
            Files.writeString(tmp, text);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new io.nodecast.core.NodecastException(io.nodecast.core.ExitCode.FAILURE, "cannot write report " + file + ": " + e.getMessage(), e);
        }
    }

    /** Total size of the regular files under dir, for a progress bar's maximum; 0 if it cannot be read. */
    static long treeBytes(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
