package io.nodecast.e2e;

import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import org.junit.jupiter.api.BeforeAll;
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
}
