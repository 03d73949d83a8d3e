package io.nodecast.image;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The external programs images need (squashfs-tools-ng, squashfuse, fuse-overlayfs, fusermount3, mount), found on PATH. */
final class Tools {
    private static final long TIMEOUT_SECONDS = 120;

    private Tools() {}

    static Optional<Path> find(String name) {
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    static Path require(String name, String debianPackage) {
        return find(name).orElseThrow(() -> new NodecastException(ExitCode.TOOL,
                name + " is not installed here (Debian package " + debianPackage + ")"));
    }

    /** A finished command: its exit status and the last line it wrote to stderr. */
    record Result(int exit, String error) {
        boolean ok() {
            return exit == 0;
        }
    }

    /**
     * Runs a command with no input and its output discarded. Standard error goes to a file, not a pipe: a FUSE
     * daemon keeps the descriptors it was started with until it detaches, and a pipe would then never end.
     */
    static Result run(List<String> cmd) {
        Path err = null;
        try {
            err = Files.createTempFile("nodecast-image", ".err");
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, String.join(" ", cmd) + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
            String last = Files.readString(err, StandardCharsets.UTF_8).strip().lines()
                    .filter(l -> !l.contains("unknown argument ignored")).reduce((a, b) -> b).orElse("");
            return new Result(p.exitValue(), last);
        } catch (IOException e) {
            return new Result(-1, "cannot run " + cmd.getFirst() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        } finally {
            if (err != null) {
                try {
                    Files.deleteIfExists(err);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
    }
}
