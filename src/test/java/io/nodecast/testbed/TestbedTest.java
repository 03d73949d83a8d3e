package io.nodecast.testbed;

import io.nodecast.core.ExitCode;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * nodecast on the namespaced cluster: three compute hosts with their own /dev/shm, a shared directory, MPI
 * across virtual Ethernet. The paper's job script runs as it is, with only paths and node counts changed.
 */
@Tag("cluster")
class TestbedTest {
    static final Path BUNDLES = Testbed.BUNDLES;

    @BeforeAll
    static void up() throws Exception {
        Testbed.up();
        Testbed.stagePapersJob();
    }

    @AfterAll
    static void down() {
        Testbed.down();
    }

    @Test
    void hostsHaveTheirOwnNamesAndMemoryAndShareOneDirectory() throws Exception {
        assertThat(Testbed.on("n1", "hostname").out().strip()).isEqualTo("n1");
        Testbed.on("n1", "sh", "-c", "echo private > /dev/shm/mark");
        assertThat(Testbed.on("n1", "cat", "/dev/shm/mark").out()).contains("private");
        assertThat(Testbed.on("n2", "ls", "/dev/shm").out()).doesNotContain("mark");
        Testbed.on("n1", "rm", "/dev/shm/mark");
        Files.writeString(Testbed.SHARED.resolve("seen-by-all"), "shared");
        assertThat(Testbed.on("n3", "cat", Testbed.SHARED.resolve("seen-by-all").toString()).out()).isEqualTo("shared");
    }

    @Test
    void thePapersJobScriptRunsAsItIsOnOpenMpi() throws Exception {
        // the bed's mpirun found on PATH: RUN is split into words, as in the paper's script, and the checkout's path may have a space
        Launcher.Result r = Testbed.on("head", Map.of("PYTHONUSERBASE", Testbed.SHARED.resolve("userbase").toString(),
                        "PBCAST", Launcher.home().toString(), "SHARED", Testbed.SHARED.toString(),
                        "PATH", Testbed.DIR + ":" + System.getenv("PATH"), "LAUNCH", "mpirun-openmpi -np 3", "RUN", "mpirun-openmpi -np 6"),
                "bash", Testbed.DIR.resolve("jobs/paper-generic.sh").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Matcher m = Pattern.compile("rank (\\d) of 6 on (n\\d): numpy (\\S+) mine (\\S+)").matcher(Testbed.reports());
        int ranks = 0;
        java.util.Set<String> hosts = new java.util.TreeSet<>();
        while (m.find()) {
            ranks++;
            hosts.add(m.group(2));
            assertThat(m.group(3)).startsWith("/dev/shm/local/lib/python3.11/site-packages/numpy/");
            assertThat(m.group(4)).startsWith("/dev/shm/local/lib/python3.11/site-packages/mine/");
        }
        assertThat(ranks).as("ranks that reported, in:%n%s%nand the job printed:%n%s", Testbed.reports(), r.out()).isEqualTo(6);
        assertThat(hosts).containsExactly("n1", "n2", "n3");
        for (String h : List.of("head", "n1", "n2", "n3")) {
            assertThat(Testbed.on(h, "ls", "-A", "/dev/shm").out().strip()).as("/dev/shm on " + h + " after the job").isEmpty();
        }
    }

    @Test
    void onlyTheComputeHostsGetTheBundlesAndTheAppNeverTouchesTheSharedFileSystem() {
        // paths as arguments, so that a checkout anywhere (a space in its path included) works
        String script = """
                source "$1/activate.sh" /dev/shm/local "'$1/testbed/mpirun-openmpi' -np 3"
                bcast "$2/py311-tier1.tar.zst" || exit 11
                for h in head n1 n2 n3; do echo "$h: $("$1/testbed/run" $h ls /dev/shm)"; done
                "$1/testbed/mpirun-openmpi" -np 1 "$1/bin/nodecast" trace --json --shared "$3" --shared "$4" -- \\
                    python3 -c 'import numpy, scipy, scipy.linalg'
                """;
        Launcher.Result r = Testbed.on("head", "bash", "-c", script, "bash", Launcher.home().toString(), BUNDLES.toString(),
                Testbed.SHARED.toString(), RealPython.prefix().toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("head: \n", "n1: local", "n2: local", "n3: local");
        assertThat(r.out()).contains("\"under_shared\": {\"" + Testbed.SHARED + "\": 0, \"" + RealPython.prefix() + "\": 0}");
    }

    @Test
    void aFullDevShmOnOneHostFailsTheJobNamingIt() {
        Testbed.on("n2", "fallocate", "-l", "1900M", "/dev/shm/filler");
        try {
            Launcher.Result r = Testbed.on("head", Testbed.DIR.resolve("mpirun-openmpi").toString(), "-np", "3",
                    Launcher.nodecast().toString(), "bcast", "-p", "/dev/shm/local", BUNDLES.resolve("py311-tier1.tar.zst").toString());
            assertThat(r.exit()).isEqualTo(ExitCode.NO_SPACE.code());
            assertThat(r.err()).contains("n2 (rank", "is full").doesNotContain("n1 (rank").doesNotContain("n3 (rank");
        } finally {
            Testbed.on("n2", "rm", "-f", "/dev/shm/filler");
            for (String h : Testbed.COMPUTE) Testbed.on(h, "rm", "-rf", "/dev/shm/local");
        }
    }

    @Test
    void mpichDeliversAcrossTheHostsToo() {
        Launcher.Result r = Testbed.on("head", Testbed.DIR.resolve("mpirun-mpich").toString(), "-np", "3",
                Launcher.nodecast().toString(), "bcast", "-t", "-p", "/dev/shm/local", BUNDLES.resolve("mpi4py-tier2.tar.zst").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("3 ranks on 3 nodes", "MPICH");
        for (String h : Testbed.COMPUTE) {
            assertThat(Testbed.on(h, "ls", "/dev/shm/local/lib/python3.11/site-packages").out()).contains("mpi4py");
        }
        Launcher.Result purge = Testbed.on("head", Testbed.DIR.resolve("mpirun-mpich").toString(), "-np", "3",
                Launcher.nodecast().toString(), "purge", "-p", "/dev/shm/local");
        assertThat(purge.exit()).as(purge.err()).isZero();
        for (String h : Testbed.COMPUTE) assertThat(Testbed.on(h, "ls", "-A", "/dev/shm").out().strip()).isEmpty();
    }
}
