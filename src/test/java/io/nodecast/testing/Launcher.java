package io.nodecast.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the real launcher, bin/nodecast, as a user would: a separate process, its exit code and output. */
public final class Launcher {
    private Launcher() {}

    public static Path home() {
        return Path.of(System.getProperty("nodecast.home", ".")).toAbsolutePath().normalize();
    }

    public static Path nodecast() {
        return home().resolve("bin/nodecast");
    }

    public record Result(int exit, String out, String err) {}

    public static Result run(Map<String, String> env, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(nodecast().toString());
        cmd.addAll(List.of(args));
        return exec(cmd, env);
    }

    public static Result exec(List<String> cmd, Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().putAll(env);
            Path errFile = java.nio.file.Files.createTempFile("nodecast-err", ".txt");
            pb.redirectError(errFile.toFile());
            Process p = pb.start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError(cmd + " did not finish in 15 minutes");
            }
            String err = java.nio.file.Files.readString(errFile);
            java.nio.file.Files.delete(errFile);
            return new Result(p.exitValue(), out, err);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
