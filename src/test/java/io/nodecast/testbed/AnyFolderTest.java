package io.nodecast.testbed;

import io.nodecast.core.FileTrees;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The test bed and the paper's job scripts from a copy of nodecast in a place its hosts cannot see by themselves: under
 * /tmp (each host has its own), in a directory whose name has a space, with no PBCAST or SHARED given to the jobs. The
 * bed's up makes the copy visible to every host at its own path; the job scripts find nodecast from where they lie
 * and the shared directory from the bed's configuration.
 */
@Tag("cluster")
class AnyFolderTest {
    static Path copy;

    @BeforeAll
    static void copyAndUp() throws Exception {
        Testbed.down();
        Path base = Files.createTempDirectory(Path.of("/tmp"), "nodecast any folder ");
        copy = base.resolve("nodecast checkout");
        Files.createDirectories(copy.resolve("lib"));
        for (String part : List.of("bin", "site", "activate.sh", "testbed")) {
            Trees.run(Launcher.home(), "cp", "-a", "--", part, copy.resolve(part).toString());
        }
        // the jar where a distribution has it, so bin/nodecast in the copy runs it without building
        Trees.run(Launcher.home(), "cp", "-p", "--", Launcher.home().resolve("target/nodecast.jar").toString(), copy.resolve("lib").toString());
        Testbed.stagePapersJob();
        Launcher.Result up = Launcher.exec(List.of(copy.resolve("testbed/up").toString()), Map.of());
        assertThat(up.exit()).as(up.err()).isZero();
    }

    @AfterAll
    static void downAndRemove() throws Exception {
        Launcher.exec(List.of(copy.resolve("testbed/down").toString()), Map.of());
        FileTrees.delete(copy.getParent());
    }

    static Launcher.Result on(String host, Map<String, String> env, String... cmd) {
        List<String> full = new ArrayList<>(List.of(copy.resolve("testbed/run").toString(), host));
        full.addAll(List.of(cmd));
        return Launcher.exec(full, env);
    }

    @Test
    void everyHostSeesTheCopyAtItsOwnPathAndTheSharedDirectoryHoldsNoTraceOfIt() {
        for (String h : Testbed.COMPUTE) {
            Launcher.Result r = on(h, Map.of(), "ls", copy.resolve("bin").toString());
            assertThat(r.out()).as(h + ": " + r.err()).contains("nodecast");
        }
        assertThat(Launcher.exec(List.of("findmnt", "-rn", "-o", "TARGET"), Map.of()).out().lines())
                .noneMatch(t -> t.startsWith(Testbed.SHARED.toString()) && !t.equals(Testbed.SHARED.toString()));
    }

    @Test
    void thePapersJobScriptsRunFromTheCopyUnderSbatchAndMpirunWithoutBeingToldWhereThingsAre() throws Exception {
        Path out = Testbed.SHARED.resolve("slurm-jobs/any-folder.out");
        Files.createDirectories(out.getParent());
        Files.deleteIfExists(out);
        Map<String, String> env = new HashMap<>(Map.of("PYTHONUSERBASE", Testbed.SHARED.resolve("userbase").toString()));
        Launcher.Result sbatch = on(Testbed.HEAD, env, "sbatch", "--wait", "--time=10", "--output=" + out,
                copy.resolve("testbed/jobs/paper-generic.sh").toString());
        String job = Files.exists(out) ? Files.readString(out) : "";
        assertThat(sbatch.exit()).as(sbatch.err() + job).isZero();
        assertSixRanksOnTheComputeHosts(Testbed.reports());

        // the bed's mpirun from the copy, found on PATH (RUN is split into words, as in the paper's script)
        env.putAll(Map.of("PATH", copy.resolve("testbed") + ":" + System.getenv("PATH"), "LAUNCH", "mpirun-openmpi -np 3",
                "RUN", "mpirun-openmpi -np 6"));
        Launcher.Result bash = on(Testbed.HEAD, env, "bash", copy.resolve("testbed/jobs/paper-generic.sh").toString());
        assertThat(bash.exit()).as(bash.err() + bash.out()).isZero();
        assertSixRanksOnTheComputeHosts(Testbed.reports());
    }

    private static void assertSixRanksOnTheComputeHosts(String reports) {
        Matcher m = Pattern.compile("rank (\\d) of 6 on (n\\d): numpy (\\S+)").matcher(reports);
        Set<String> ranks = new TreeSet<>(), hosts = new TreeSet<>();
        while (m.find()) {
            ranks.add(m.group(1));
            hosts.add(m.group(2));
            assertThat(m.group(3)).startsWith("/dev/shm/local/lib/python3.11/site-packages/numpy/");
        }
        assertThat(ranks).as(reports).hasSize(6);
        assertThat(hosts).containsExactlyElementsOf(Testbed.COMPUTE);
    }
}
