package io.nodecast.image;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import io.nodecast.trace.Trace;
import io.nodecast.trace.TraceReport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Python tier 1 as an image, mounted at DEST by the real launcher, with a tier 2 unpacked over it: the
 * environment of {@code nodecast env} runs numpy and scipy from it, and {@code trace} finds no call to the
 * original prefix.
 */
@Tag("images")
@Tag("python")
class ImagePythonTest {
    @TempDir static Path tmp;
    static Path dest;

    @BeforeAll
    static void deliver() throws Exception {
        Images.assumeFuse();
        dest = tmp.resolve("local");
        Path pkg = Files.createDirectories(tmp.resolve("tier2/lib/python3.11/site-packages/mine"));
        Files.writeString(pkg.resolve("__init__.py"), "WHERE = __file__\n");
        Launcher.Result t2 = Launcher.run(Map.of(), "bundle", "dir", tmp.resolve("tier2").toString(), "-q", "-o", tmp.resolve("tier2.tar.zst").toString());
        assertThat(t2.exit()).as(t2.err()).isZero();
        Launcher.Result r = Launcher.run(Map.of(), "bcast", "-t", "-p", dest.toString(), PythonImage.image().toString(), tmp.resolve("tier2.tar.zst").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("python-prefix.sqfs", "tier2.tar.zst");
    }

    @AfterAll
    static void purge() {
        if (dest != null) {
            Launcher.run(Map.of(), "purge", "-p", dest.toString());
            Images.detachAll(tmp);
        }
    }

    @Test
    void scipyAndTheTier2PackageImportFromTheMountedImageWithoutTouchingTheOriginalPrefix() {
        Launcher.Result envOut = Launcher.run(Map.of(), "env", "-p", dest.toString());
        assertThat(envOut.exit()).isZero();
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("PYTHONPATH");
        env.put("PYTHONHOME", dest.toString());
        env.put("PYTHONUSERBASE", dest.toString());
        env.put("PATH", dest.resolve("bin") + ":/usr/bin:/bin");
        env.put("LD_LIBRARY_PATH", dest.resolve("lib").toString());
        assertThat(envOut.out()).contains("export PYTHONHOME='" + dest + "'", "export LD_LIBRARY_PATH='" + dest.resolve("lib") + "'");
        Path prefix = RealPython.prefix();
        TraceReport r = Trace.run(List.of("python3", "-c", "import numpy, scipy, scipy.linalg, mine; print(numpy.__file__, mine.WHERE, "
                + "scipy.linalg.det([[2.0, 0.0], [0.0, 3.0]]))"), env, List.of(prefix, dest), ProcessBuilder.Redirect.DISCARD);
        assertThat(r.exitCode()).isZero();
        assertThat(r.underShared()).containsEntry(prefix.toString(), 0L);
        assertThat(r.underShared().get(dest.toString())).as("the imports happen in the mounted copy").isGreaterThan(500L);
        Launcher.Result py = Launcher.exec(List.of(dest.resolve("bin/python3").toString(), "-c",
                "import numpy, mine; print(numpy.__file__); print(mine.WHERE)"), env);
        assertThat(py.out().lines().toList()).as(py.err()).containsExactly(
                dest.resolve("lib/python3.11/site-packages/numpy/__init__.py").toString(),
                dest.resolve("lib/python3.11/site-packages/mine/__init__.py").toString());
        assertThat(Images.mountsUnder(tmp)).containsExactlyInAnyOrder(dest, ImageStack.storeOf(dest).resolve("layers/1"));
    }

    @Test
    void theMountedImageIsRelocatedLikeAnUnpackedBundle() throws Exception {
        // pip's console script names its interpreter: in the image, the original prefix; at DEST, DEST's
        Path pip = dest.resolve("bin/pip3");
        assertThat(pip).exists();
        String first = Files.readAllLines(pip).getFirst();
        assertThat(first).as("the shebang of the mounted image's pip3").startsWith("#!" + dest.resolve("bin/python3"))
                .doesNotContain(RealPython.prefix().toString());
        Launcher.Result v = Launcher.exec(List.of(pip.toString(), "--version"), Map.of("PATH", "/usr/bin:/bin"));
        assertThat(v.exit()).as(v.err()).isZero();
        assertThat(v.out()).contains(dest.toString());
    }
}
