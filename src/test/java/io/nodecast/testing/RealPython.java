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

    /** Its version, as platform.python_version() says ("3.11.7"). */
    public static String version() {
        return ask("import platform; print(platform.python_version())");
    }

    /** The bundle of the prefix, made with the real launcher; reused while the prefix is unchanged. */
    public static synchronized Path bundle() {
        Path out = Launcher.home().resolve("target/test-fixtures/python-prefix.tar.zst");
        if (Files.exists(out) && firstEntry(out).equals(".nodecast-bundle")) return out;
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "prefix", prefix().toString(), "-o", out.toString(), "-q");
        if (r.exit() != 0) throw new AssertionError("bundling the Python prefix failed: " + r.err());
        return out;
    }

    /** A fixture made before bundles carried their relocation list is made again. */
    private static String firstEntry(Path bundle) {
        try (var in = new java.io.BufferedInputStream(Files.newInputStream(bundle));
             var tar = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                     io.nodecast.format.Compression.ZSTD.decompress(in))) {
            var e = tar.getNextEntry();
            return e == null ? "" : e.getName();
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static String ask(String code) {
        Launcher.Result r = Launcher.exec(List.of("python3", "-c", code), Map.of());
        if (r.exit() != 0 || r.out().isBlank()) {
            throw new AssertionError("these tests need python3 with numpy and scipy: " + r.err());
        }
        return r.out().strip();
    }
}
