package io.nodecast.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The machine's own Python 3.11 with numpy and scipy (pyenv here), bundled once per test run and shared by the
 * test classes that need a real tier-1 bundle: bundling a ~1 GB prefix is the slow part.
 */
public final class RealPython {
    private RealPython() {}

    public static Path prefix() {
        return Path.of(ask("import sys; print(sys.base_prefix)"));
    }

    /** The bundle of the prefix, made with the real launcher; reused while the prefix is unchanged. */
    public static synchronized Path bundle() {
        Path out = Launcher.home().resolve("target/test-fixtures/python-prefix.tar.zst");
        if (Files.exists(out)) return out;
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "prefix", prefix().toString(), "-o", out.toString(), "-q");
        if (r.exit() != 0) throw new AssertionError("bundling the Python prefix failed: " + r.err());
        return out;
    }

    private static String ask(String code) {
        Launcher.Result r = Launcher.exec(List.of("python3", "-c", code), Map.of());
        if (r.exit() != 0 || r.out().isBlank()) {
            throw new AssertionError("these tests need python3 with numpy and scipy: " + r.err());
        }
        return r.out().strip();
    }
}
