package io.nodecast.e2e;

import io.nodecast.bundle.SharedLibraries;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The paper's workflow on one node with the real launcher and the machine's real Python: bundle the prefix,
 * deliver it, reroute, import scipy, and check with strace that the original prefix is never touched.
 */
@Tag("python")
@Tag("strace")
class LocalWorkflowTest {
    @TempDir static Path tmp;
    static Path dest;

    @BeforeAll
    static void deliver() {
        dest = tmp.resolve("local");
        Launcher.Result r = Launcher.run(Map.of(), "bcast", "-t", "-p", dest.toString(), RealPython.bundle().toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("python-prefix.tar.zst");
    }

    @Test
    void scipyImportsFromTheLocalCopyWithoutTouchingTheOriginalPrefix() throws Exception {
        Path trace = tmp.resolve("strace.txt");
        String script = "import numpy, scipy, scipy.linalg; print(numpy.__file__); print(scipy.linalg.det([[2.0, 0.0], [0.0, 3.0]]))";
        Launcher.Result r = Launcher.exec(List.of("env", "-u", "PYTHONPATH",
                "PYTHONHOME=" + dest, "PYTHONUSERBASE=" + dest,
                "PATH=" + dest.resolve("bin") + ":/usr/bin:/bin", "LD_LIBRARY_PATH=" + dest.resolve("lib"),
                "strace", "-f", "-qq", "-e", "trace=%file", "-o", trace.toString(),
                "python3", "-c", script), Map.of());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(dest.resolve("lib").toString()).contains("6.0");
        String prefix = RealPython.prefix().toString();
        List<String> shared = Files.readAllLines(trace).stream().filter(l -> l.contains(prefix)).toList();
        assertThat(shared).as("file-system calls under the original prefix " + prefix).isEmpty();
        assertThat(Files.readAllLines(trace).stream().filter(l -> l.contains(dest.toString())).count())
                .as("the imports happen in the local copy").isGreaterThan(500);
    }

    @Test
    void theInterpretersRunpathPointsIntoTheLocalCopy() throws Exception {
        Launcher.Result r = Launcher.exec(List.of("readelf", "-d", dest.resolve("bin/python3.11").toString()), Map.of());
        assertThat(r.out()).contains("$ORIGIN/../lib").doesNotContain(RealPython.prefix().toString());
    }

    @Test
    void aSecondDeliveryOfTheSameBundleIsSkipped() {
        Launcher.Result r = Launcher.run(Map.of(), "bcast", "-v", "-p", dest.toString(), RealPython.bundle().toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("already unpacked on all 1 node(s); not sent");
    }

    @Test
    void theSystemBundleServesEveryLibraryButGlibcFromTheLocalCopy() throws Exception {
        Path sys = tmp.resolve("syslibs.tar.zst");
        Launcher.Result b = Launcher.run(Map.of(), "bundle", "syslibs", "-o", sys.toString());
        assertThat(b.exit()).as(b.err()).isZero();
        assertThat(b.out()).contains("libssl.so.3", "libcrypto.so.3").doesNotContain(" libc.so.6");
        // a DEST of its own: a later bundle in the shared one would make the other tests' re-delivery unskippable
        Path dest = tmp.resolve("with-syslibs");
        assertThat(Launcher.run(Map.of(), "bcast", "-p", dest.toString(), RealPython.bundle().toString(), sys.toString()).exit()).isZero();
        String maps = "import ssl, sqlite3, numpy, scipy.linalg\n"
                + "print('\\n'.join(sorted({l.split()[-1] for l in open('/proc/self/maps') if '.so' in l})))";
        Launcher.Result r = Launcher.exec(List.of("env", "-u", "PYTHONPATH", "PYTHONHOME=" + dest,
                "PATH=" + dest.resolve("bin") + ":/usr/bin:/bin", "LD_LIBRARY_PATH=" + dest.resolve("lib"), "python3", "-c", maps), Map.of());
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> loaded = r.out().lines().toList();
        assertThat(loaded).contains(dest.resolve("lib/libssl.so.3").toString(), dest.resolve("lib/libcrypto.so.3").toString());
        assertThat(loaded).as("libraries from outside the local copy").filteredOn(l -> !l.startsWith(dest.toString()))
                .allSatisfy(l -> assertThat(SharedLibraries.NODE_OWN).contains(Path.of(l).getFileName().toString()));
    }
}
