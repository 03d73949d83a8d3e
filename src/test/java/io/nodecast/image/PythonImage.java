package io.nodecast.image;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The machine's Python prefix as an image bundle, made once per build by the real launcher (as RealPython's tar). */
public final class PythonImage {
    private PythonImage() {}

    public static synchronized Path image() {
        Path out = Launcher.home().resolve("target/test-fixtures/python-prefix.sqfs");
        if (Files.exists(out)) return out;
        Launcher.Result r = Launcher.run(Map.of(), "bundle", "prefix", RealPython.prefix().toString(), "-q", "-o", out.toString());
        if (r.exit() != 0) throw new AssertionError("making the image of the Python prefix failed: " + r.err());
        return out;
    }
}
