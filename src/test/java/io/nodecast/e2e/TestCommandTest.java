package io.nodecast.e2e;

import io.nodecast.core.FileTrees;
import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's test command on a machine that lacks packages, for a user who cannot install them: it names what is
 * missing in one line and leaves out the groups of tests that need it (a dpkg database of our own stands for the
 * machine's). Runs as root, to become an unprivileged user.
 */
@Tag("root")
class TestCommandTest {
    @Test
    void withoutRootItNamesWhatIsMissingAndLeavesOutWhatNeedsIt() throws Exception {
        Path dir = Files.createTempDirectory("nodecast-run-tests");
        try {
            // a copy the unprivileged user can read: the checkout may be in a 0700 home
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(dir.resolve("bin"));
            for (String f : List.of("run-tests", "test-packages", "jdk.sh")) {
                Files.copy(Launcher.home().resolve("bin/" + f), dir.resolve("bin/" + f), StandardCopyOption.COPY_ATTRIBUTES);
            }
            Path dpkg = Files.createDirectories(dir.resolve("dpkg"));
            StringBuilder status = new StringBuilder();
            for (String p : List.of("maven", "zstd", "binutils", "time", "libssl3", "python3-numpy", "python3-scipy", "zsh")) {
                status.append("Package: ").append(p).append("\nStatus: install ok installed\nMaintainer: x\nVersion: 1\n")
                        .append("Architecture: all\nDescription: x\n\n");
            }
            Files.writeString(dpkg.resolve("status"), status);
            Launcher.Result r = Launcher.exec(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    dir.resolve("bin/run-tests").toString(), "--plan"), Map.of("DPKG_ADMINDIR", dpkg.toString()));
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.err().lines().toList()).hasSize(1).first().asString()
                    .startsWith("run-tests: missing: strace openmpi-bin libopenmpi-dev mpich ")
                    .contains("(as root: apt-get install -y --no-install-recommends strace openmpi-bin ");
            assertThat(r.out()).contains("strace (missing strace)", "mpi (missing openmpi-bin libopenmpi-dev mpich libmpich-dev python3-mpi4py)",
                    "cluster (missing openmpi-bin mpich python3-mpi4py iproute2", "root (needs root)", "lmod (missing lmod)")
                    .doesNotContain("python (").doesNotContain("zsh (").doesNotContain("cluster (needs root)");
            // as root nothing is left out for want of root
            Launcher.Result asRoot = Launcher.exec(List.of(dir.resolve("bin/run-tests").toString(), "--plan"), Map.of("DPKG_ADMINDIR", dpkg.toString()));
            assertThat(asRoot.out()).doesNotContain("needs root");
        } finally {
            FileTrees.delete(dir);
        }
    }
}
