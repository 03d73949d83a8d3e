package io.nodecast.transport;

import io.nodecast.core.ExitCode;
import io.nodecast.format.Compression;
import io.nodecast.posix.Identity;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.MpiRun;
import io.nodecast.testing.TarBuilder;
import io.nodecast.testing.Trees;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several ranks of a step on one node meet without MPI ({@link NodeTransport}): under the real launchers, and as
 * separate processes given a launcher's variables, so that rank 0 can be started late, killed, or never started.
 */
class OneNodeStepTest {
    @TempDir Path tmp;

    /** The bundle cut 30 bytes short: rank 0 fails on it with "truncated". */
    private Path truncatedBundle() throws Exception {
        byte[] good = Files.readAllBytes(bundle());
        return Files.write(tmp.resolve("bad.tar.zst"), Arrays.copyOf(good, good.length - 30));
    }

    private Path bundle() throws Exception {
        return new TarBuilder(Compression.ZSTD).dir("lib", 0755).file("lib/a.py", "a = 1\n").file("lib/b.py", "b".repeat(200_000))
                .symlink("lib/c.py", "a.py").writeTo(tmp.resolve("t1.tar.zst"));
    }

    @Tag("mpi")
    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void ranksOnOneNodeWaitForRankZeroWithoutStartingMpi(MpiRun mpi) throws Exception {
        Path dest = tmp.resolve("dest");
        Launcher.Result r = mpi.runOnOneNode(3, "bcast", "-t", "-p", dest.toString(), bundle().toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("node (3 ranks on one node: MPI not started), 3 ranks on 1 nodes");
        assertThat(dest.resolve("lib/b.py")).hasContent("b".repeat(200_000));
        assertThat(Trees.describe(dest)).containsKeys("lib/a.py", "lib/c.py");

        Launcher.Result purge = mpi.runOnOneNode(3, "purge", "-p", dest.toString());
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertThat(dest).doesNotExist();
    }

    @Tag("mpi")
    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void aCorruptBundleFailsEveryRankOfTheNodeAndLeavesNoMarker(MpiRun mpi) throws Exception {
        Path bad = truncatedBundle();
        Path dest = tmp.resolve("dest");
        Launcher.Result r = mpi.runOnOneNode(3, "bcast", "-p", dest.toString(), bad.toString());
        assertThat(r.exit()).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(r.err()).contains("bad.tar.zst", "truncated");
        assertThat(dest.resolve(".nodecast/incomplete")).exists();
        assertThat(dest.resolve(".nodecast/ledger")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyFile());
    }

    @Tag("mpi")
    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void aMisspeltFlagEndsTheStepAtOnceAndLeavesNoMeetingFile(MpiRun mpi) throws Exception {
        Set<Path> before = meetingFiles();
        long start = System.nanoTime();
        Launcher.Result r = mpi.runOnOneNode(3, "bcast", "--no-such-flag", "-p", tmp.resolve("dest").toString(), bundle().toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCode.USAGE.code());
        assertThat(r.err()).contains("Unknown option: '--no-such-flag'");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not the stall time of 60 s").isLessThan(Duration.ofSeconds(30));
        // Open MPI's mpirun ends the others as soon as rank 0 exits: rank 0 removed the file before
        assertThat(meetingFiles()).isSubsetOf(before);
    }

    /**
     * The ranks other than 0 wait in bin/nodecast, in the shell: under both launchers only rank 0 starts a JVM, unless
     * NODECAST_SHELL_WAITERS=0. Counted from the kernel's side: every successful exec of the Java runtime.
     */
    @Tag("mpi")
    @ParameterizedTest
    @EnumSource(MpiRun.class)
    void onlyRankZeroStartsAJvmOnItsNode(MpiRun mpi) throws Exception {
        Path b = bundle();
        Set<Path> before = meetingFiles();
        for (Waiter waiter : Waiter.values()) {
            Path dest = tmp.resolve("dest-" + waiter);
            Path log = tmp.resolve("execs-" + waiter);
            List<String> cmd = new ArrayList<>(List.of("strace", "-f", "--seccomp-bpf", "-qq", "-z", "-v", "-s", "4096",
                    "-e", "trace=execve", "-o", log.toString()));
            cmd.addAll(mpi.commandOnOneNode(3, "bcast", "-p", dest.toString(), b.toString()));
            Launcher.Result r = Launcher.exec(cmd, waiter.env());
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(dest.resolve("lib/b.py")).hasContent("b".repeat(200_000));
            assertThat(jvms(log, "bcast", dest)).as(waiter + " waiters").isEqualTo(waiter == Waiter.SHELL ? 1 : 3);

            cmd.subList(cmd.indexOf(Launcher.nodecast().toString()) + 1, cmd.size()).clear();
            cmd.addAll(List.of("purge", "-p", dest.toString()));
            Launcher.Result purge = Launcher.exec(cmd, waiter.env());
            assertThat(purge.exit()).as(purge.err()).isZero();
            assertThat(dest).doesNotExist();
            assertThat(jvms(log, "purge", dest)).as(waiter + " waiters").isEqualTo(waiter == Waiter.SHELL ? 1 : 3);
            assertThat(meetingFiles()).as("meeting files left").isSubsetOf(before);
        }
    }

    /** This user's meeting files, of any step (a killed rank's may outlive its test by a day). */
    private static Set<Path> meetingFiles() throws Exception {
        String mine = "nodecast-" + Identity.current().uid() + "-";
        try (var s = Files.list(NodeTransport.defaultDirectory())) {
            return s.filter(p -> p.getFileName().toString().startsWith(mine)).collect(Collectors.toSet());
        }
    }

    /**
     * The Java runtimes started for this nodecast command, in strace's log of successful execs (not the one that trains
     * a source checkout's AOT cache after a build, which delivers elsewhere).
     */
    private static long jvms(Path log, String command, Path dest) throws Exception {
        return Files.readAllLines(log).stream().filter(l -> l.contains("/bin/java\"") && l.contains("\"" + command + "\"")
                && l.contains("\"" + dest + "\"")).count();
    }

    /**
     * bin/nodecast names the meeting place as NodeTransport does, or leaves the rank to the JVM when it cannot judge as
     * surely. A rank whose rank 0 never comes names the place in its message; where the shell must judge, a JVM could
     * not even start (an option it does not know).
     */
    @Test
    void theShellNamesTheMeetingPlaceAsTheJvmDoesOrLeavesItToTheJvm() throws Exception {
        record Case(Map<String, String> env, boolean shell, String... args) {}
        String[] plain = {"bcast", "--stall-timeout", "1", "-p", "/tmp/d\tx y\nz", "/tmp/t 1.tar.zst"};
        Map<String, String> ompi = Map.of("OMPI_COMM_WORLD_SIZE", "3", "OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "3");
        List<Case> cases = List.of(
                new Case(with(ompi, "PMIX_NAMESPACE", "prterun-vm-" + UUID.randomUUID() + "@1"), true, plain),
                new Case(with(ompi, "OMPI_MCA_ess_base_jobid", "42" + UUID.randomUUID().hashCode()), true,
                        "mirror", "--transport=AUTO", "--stall-timeout=1", "/srv/app"),
                new Case(Map.of("OMPI_COMM_WORLD_SIZE", "03", "OMPI_COMM_WORLD_RANK", "01", "OMPI_COMM_WORLD_LOCAL_SIZE", "3",
                        "PMIX_NAMESPACE", "n" + UUID.randomUUID()), true, plain),
                new Case(Map.of("SLURM_STEP_NUM_TASKS", "4", "SLURM_PROCID", "3", "SLURM_STEP_NUM_NODES", "1",
                        "SLURM_JOB_ID", String.valueOf(UUID.randomUUID().hashCode() & 0xffffff), "SLURM_STEP_ID", "0"), true, plain),
                // what the shell leaves to the JVM: a space in the step's name, a number with a space
                new Case(with(ompi, "PMIX_NAMESPACE", "job " + UUID.randomUUID()), false, plain),
                new Case(Map.of("OMPI_COMM_WORLD_SIZE", " 3", "OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_LOCAL_SIZE", "3",
                        "PMIX_NAMESPACE", "n" + UUID.randomUUID()), false, plain));
        int uid = Identity.current().uid();
        for (Case c : cases) {
            Map<String, String> env = c.shell() ? with(c.env(), "NODECAST_JAVA_OPTS", "-XX:+NodecastNoSuchOption") : c.env();
            Path place = NodeTransport.place(World.of(c.env(), Optional.empty()), NodeTransport.defaultDirectory(),
                    List.of(c.args()), uid);
            Launcher.Result r = Launcher.run(env, c.args());
            assertThat(r.exit()).as(c.env() + ": " + r.err()).isEqualTo(ExitCode.REMOTE.code());
            assertThat(r.err()).as(c.env().toString()).contains("rank 0 did not start this step within 1 s",
                    "wait for it at " + place + ")");
            assertThat(place).doesNotExist();
        }
    }

    private static Map<String, String> with(Map<String, String> env, String name, String value) {
        Map<String, String> m = new HashMap<>(env);
        m.put(name, value);
        return m;
    }

    /**
     * bin/nodecast starts a rank that its launcher numbers above 0 on its node without the JIT, as one that only
     * waits. One that leads its node all the same (here alone: no MPI world) says so, and delivers.
     */
    @Test
    void aRankStartedAsOneThatWaitsButLeadingItsNodeSaysItRunsInterpreted() throws Exception {
        Path b = bundle();
        Launcher.Result waiter = Launcher.run(Map.of("OMPI_COMM_WORLD_LOCAL_RANK", "1"), "bcast", "-p", tmp.resolve("d1").toString(), b.toString());
        assertThat(waiter.exit()).as(waiter.err()).isZero();
        assertThat(waiter.err()).startsWith("nodecast: warning: ").contains(": rank 0 leads its node but runs interpreted (-Xint)",
                "NODECAST_INTERPRET_WAITERS=0");
        assertThat(tmp.resolve("d1/lib/b.py")).hasContent("b".repeat(200_000));

        // the first variable set speaks, a number or not, as World.localRank reads them (WorldTest)
        List<Map<String, String>> leaders = List.of(Map.of("OMPI_COMM_WORLD_LOCAL_RANK", "0"),
                Map.of("OMPI_COMM_WORLD_LOCAL_RANK", "1", "NODECAST_INTERPRET_WAITERS", "0"),
                Map.of("OMPI_COMM_WORLD_LOCAL_RANK", "x", "SLURM_LOCALID", "1"));
        for (Map<String, String> env : leaders) {
            Path dest = tmp.resolve("d-" + leaders.indexOf(env));
            Launcher.Result r = Launcher.run(env, "bcast", "-p", dest.toString(), b.toString());
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.err()).as(env.toString()).doesNotContain("interpreted");
            assertThat(dest.resolve("lib/b.py")).hasContent("b".repeat(200_000));
        }
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void aRankStartedBeforeRankZeroWaitsForItAndTheMeetingPlaceIsRemoved(Waiter waiter) throws Exception {
        Step step = new Step(2, waiter);
        Path dest = tmp.resolve("dest");
        Path b = bundle();
        Process other = step.start(1, "bcast", "-p", dest.toString(), b.toString());
        Thread.sleep(1500);
        assertThat(other.isAlive()).as("rank 1 waits for rank 0").isTrue();
        Process zero = step.start(0, "bcast", "-p", dest.toString(), b.toString());
        assertThat(step.exit(zero)).as(step.err(0)).isZero();
        assertThat(step.exit(other)).as(step.err(1)).isZero();
        assertThat(dest.resolve("lib/a.py")).hasContent("a = 1\n");
        assertThat(step.meetingPlace()).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void rankZeroKilledEndsTheOtherRanksWithAMessageNotAHang(Waiter waiter) throws Exception {
        Step step = new Step(3, waiter);
        Path dest = tmp.resolve("dest");
        Path b = bundle();
        List<Process> others = List.of(step.start(1, "bcast", "-p", dest.toString(), b.toString()),
                step.start(2, "bcast", "-p", dest.toString(), b.toString()));
        // stopped at once, so that rank 0 cannot finish first; it is killed once it holds the meeting place
        Process zero = step.startRankZeroStopped("bcast", "-p", dest.toString(), b.toString());
        assertThat(step.meetingPlace()).exists();
        Thread.sleep(500);
        assertThat(others).allMatch(Process::isAlive);
        step.kill(zero);
        for (int i = 0; i < others.size(); i++) {
            assertThat(step.exit(others.get(i))).isEqualTo(ExitCode.REMOTE.code());
            assertThat(step.err(i + 1)).contains("rank 0 ended without telling the other ranks of this node how the step ended");
        }
        assertThat(step.meetingPlace()).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void rankZeroFailingAtOnceWaitsForTheOthersSoThatALauncherEndingThemLeavesNoMeetingFile(Waiter waiter) throws Exception {
        // mpirun ends every rank as soon as one fails: a rank 0 gone before the others found the file left it behind
        String[] args = {"bcast", "-p", tmp.resolve("dest").toString(), truncatedBundle().toString()};
        Step step = new Step(3, waiter);
        Process zero = step.start(0, args);
        assertThat(zero.waitFor(3, TimeUnit.SECONDS)).as("rank 0 still waiting for the others").isFalse();
        List<Process> others = List.of(step.start(1, args), step.start(2, args));
        assertThat(step.exit(zero)).as(step.err(0)).isEqualTo(ExitCode.BUNDLE.code());
        for (Process p : others) step.kill(p);
        assertThat(step.err(0)).contains("bad.tar.zst", "truncated");
        assertThat(step.meetingPlace()).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void theOtherRanksExitWithTheCodeOfRankZerosFailureAndLeaveTheMessageToIt(Waiter waiter) throws Exception {
        String[] args = {"bcast", "-p", tmp.resolve("dest").toString(), truncatedBundle().toString()};
        Step step = new Step(3, waiter);
        List<Process> others = List.of(step.start(1, args), step.start(2, args));
        Process zero = step.start(0, args);
        assertThat(step.exit(zero)).as(step.err(0)).isEqualTo(ExitCode.BUNDLE.code());
        assertThat(step.err(0)).contains("bad.tar.zst", "truncated");
        for (int i = 0; i < others.size(); i++) {
            assertThat(step.exit(others.get(i))).as(step.err(i + 1)).isEqualTo(ExitCode.BUNDLE.code());
            assertThat(step.err(i + 1)).isEmpty();
        }
        assertThat(step.meetingPlace()).doesNotExist();
    }

    /**
     * A command line every rank refuses: rank 0 still leaves its word, so that a rank waiting in the shell, which
     * parses nothing, ends at once with the usage code instead of after --stall-timeout (MPICH's mpiexec does not end
     * it when rank 0 fails); a waiting JVM refuses the line itself and reads the word, and the file goes.
     */
    @ParameterizedTest
    @EnumSource(Waiter.class)
    void aCommandLineEveryRankRefusesEndsThemAllAtOnceAndLeavesNoMeetingFile(Waiter waiter) throws Exception {
        String[] args = {"bcast", "--no-such-flag", "-p", tmp.resolve("dest").toString(), bundle().toString()};
        Step step = new Step(3, waiter);
        long start = System.nanoTime();
        List<Process> others = List.of(step.start(1, args), step.start(2, args));
        Process zero = step.start(0, args);
        assertThat(step.exit(zero)).isEqualTo(ExitCode.USAGE.code());
        assertThat(step.err(0)).contains("Unknown option: '--no-such-flag'");
        for (int i = 0; i < others.size(); i++) {
            assertThat(step.exit(others.get(i))).as(step.err(i + 1)).isEqualTo(ExitCode.USAGE.code());
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not the stall time of 60 s").isLessThan(Duration.ofSeconds(30));
        assertThat(step.meetingPlace()).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void aMeetingFileOfAnotherUserIsRefusedNotRead(Waiter waiter) throws Exception {
        Step step = new Step(2, waiter);
        Path dest = tmp.resolve("dest");
        Path b = bundle();
        Process zero = step.startRankZeroStopped("bcast", "-p", dest.toString(), b.toString());
        Path place = step.meetingPlace();
        try {
            // as if another user had put it there first: the name is no secret
            Files.setAttribute(place, "unix:uid", 65534);
            Process other = step.start(1, "bcast", "-p", dest.toString(), b.toString());
            assertThat(step.exit(other)).isEqualTo(ExitCode.REMOTE.code());
            assertThat(step.err(1)).contains(place + " belongs to uid 65534, not to this job's user");
            assertThat(place).exists();
        } finally {
            step.kill(zero);
            Files.deleteIfExists(place);
        }
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void twoCommandsInOneStepMeetApartEvenWhenRankZeroIsAheadOfTheOthers(Waiter waiter) throws Exception {
        // as in srun sh -c 'nodecast bcast A; nodecast bcast B': rank 0 is done with both before rank 1 starts the first
        // (it waits the stall time for rank 1 each time, then leaves the file to it)
        Step step = new Step(2, waiter);
        Path a = bundle();
        Path b = new TarBuilder().file("lib/b.py", "tier 2\n").writeTo(tmp.resolve("t2.tar"));
        Path dest = tmp.resolve("dest");
        assertThat(step.exit(step.start(0, "bcast", "--stall-timeout", "2", "-p", dest.toString(), a.toString()))).isZero();
        assertThat(step.exit(step.start(0, "bcast", "--stall-timeout", "2", "-p", dest.toString(), b.toString()))).isZero();
        assertThat(step.exit(step.start(1, "bcast", "--stall-timeout", "2", "-p", dest.toString(), a.toString()))).as(step.err(1)).isZero();
        assertThat(step.exit(step.start(1, "bcast", "--stall-timeout", "2", "-p", dest.toString(), b.toString()))).as(step.err(1)).isZero();
        assertThat(dest.resolve("lib/b.py")).hasContent("tier 2\n");
        assertThat(step.meetingPlace()).doesNotExist();
    }

    @Test
    void ranksWhoseJvmOptionsDifferStillMeet() throws Exception {
        // a wrapper may give each rank options of its own (a log file per rank): the ranks meet on nodecast's arguments
        Step step = new Step(2, Waiter.JVM);
        Path dest = tmp.resolve("dest");
        String[] args = {"bcast", "--stall-timeout", "20", "-p", dest.toString(), bundle().toString()};
        Process other = step.start(1, Map.of("NODECAST_JAVA_OPTS", "-Dnodecast.test.rank=1 -Xss2m"), args);
        Process zero = step.start(0, args);
        assertThat(step.exit(zero)).as(step.err(0)).isZero();
        assertThat(step.exit(other)).as(step.err(1)).isZero();
        assertThat(dest.resolve("lib/a.py")).hasContent("a = 1\n");
        assertThat(step.meetingPlace()).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void rankZeroRemovesMeetingFilesThatKilledRanksLeftBehindLongAgo(Waiter waiter) throws Exception {
        Path dir = NodeTransport.defaultDirectory();
        String mine = "nodecast-" + Files.getAttribute(Path.of("/proc/self"), "unix:uid") + "-";
        Path old = Files.writeString(dir.resolve(mine + "ompi-test-left-" + UUID.randomUUID()), "nodecast-step-1\n");
        Path recent = Files.writeString(dir.resolve(mine + "ompi-test-left-" + UUID.randomUUID()), "nodecast-step-1\n");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(NodeTransport.STALE).minusSeconds(60)));
        try {
            Step step = new Step(2, waiter);
            Path dest = tmp.resolve("dest");
            Path b = bundle();
            Process zero = step.start(0, "bcast", "-p", dest.toString(), b.toString());
            Process other = step.start(1, "bcast", "-p", dest.toString(), b.toString());
            assertThat(step.exit(zero)).as(step.err(0)).isZero();
            assertThat(step.exit(other)).as(step.err(1)).isZero();
            assertThat(old).doesNotExist();
            assertThat(recent).exists();
        } finally {
            Files.deleteIfExists(old);
            Files.deleteIfExists(recent);
        }
    }

    @ParameterizedTest
    @EnumSource(Waiter.class)
    void aRankWhoseRankZeroNeverComesGivesUpAfterTheStallTime(Waiter waiter) throws Exception {
        Step step = new Step(2, waiter);
        Process other = step.start(1, "bcast", "--stall-timeout", "2", "-p", tmp.resolve("dest").toString(), bundle().toString());
        assertThat(step.exit(other)).isEqualTo(ExitCode.REMOTE.code());
        assertThat(step.err(1)).contains("rank 0 did not start this step within 2 s", step.prefix());
    }

    /** Who a rank other than 0 is: bin/nodecast waiting in the shell, or the JVM's NodeTransport. */
    enum Waiter {
        SHELL, JVM;

        Map<String, String> env() {
            return this == JVM ? Map.of("NODECAST_SHELL_WAITERS", "0") : Map.of();
        }
    }

    /** The ranks of one Open MPI step on this node, started by hand with the variables mpirun gives them. */
    private final class Step {
        final int size;
        final Waiter waiter;
        final String namespace = "test-" + UUID.randomUUID();

        Step(int size, Waiter waiter) {
            this.size = size;
            this.waiter = waiter;
        }

        Process start(int rank, String... args) throws Exception {
            return start(rank, Map.of(), args);
        }

        Process start(int rank, Map<String, String> env, String... args) throws Exception {
            List<String> cmd = new ArrayList<>(List.of(Launcher.nodecast().toString()));
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().putAll(waiter.env());
            pb.environment().putAll(env);
            pb.environment().putAll(Map.of("OMPI_COMM_WORLD_SIZE", String.valueOf(size), "OMPI_COMM_WORLD_RANK", String.valueOf(rank),
                    "OMPI_COMM_WORLD_LOCAL_SIZE", String.valueOf(size), "PMIX_NAMESPACE", namespace));
            pb.redirectOutput(tmp.resolve("out-" + rank).toFile());
            pb.redirectError(tmp.resolve("err-" + rank).toFile());
            return pb.start();
        }

        /** Rank 0, stopped (SIGSTOP) as soon as it holds the meeting place, before it can finish. */
        Process startRankZeroStopped(String... args) throws Exception {
            Process zero = start(0, args);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(meetingPlace()) && System.nanoTime() < deadline) Thread.sleep(5);
            new ProcessBuilder("kill", "-STOP", String.valueOf(zero.pid())).start().waitFor();
            return zero;
        }

        /** SIGKILL, as the launcher or the out-of-memory killer would; it ends a stopped process too. */
        void kill(Process p) throws Exception {
            p.destroyForcibly();
            p.waitFor();
        }

        int exit(Process p) throws Exception {
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("rank ended").isTrue();
            return p.exitValue();
        }

        String err(int rank) throws Exception {
            return Files.readString(tmp.resolve("err-" + rank));
        }

        String prefix() throws Exception {
            return "nodecast-" + Files.getAttribute(Path.of("/proc/self"), "unix:uid") + "-ompi-" + namespace + "-";
        }

        /** The step's meeting file (named after the step and the command line, which the test does not predict). */
        Path meetingPlace() throws Exception {
            String prefix = prefix();
            try (var s = Files.list(NodeTransport.defaultDirectory())) {
                return s.filter(p -> p.getFileName().toString().startsWith(prefix) && !p.getFileName().toString().endsWith(".new"))
                        .findFirst().orElse(NodeTransport.defaultDirectory().resolve(prefix + "(none)"));
            }
        }
    }
}
