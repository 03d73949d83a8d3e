package io.nodecast.testbed;

import io.nodecast.testing.Launcher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
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
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * nodecast under a real Slurm on the namespaced cluster: the paper's two job scripts submitted with sbatch on the
 * head (the generic one and the facility-integrated one through site/activate.sh), srun with PMIx and Open MPI,
 * salloc, and a test bed that starts and ends only its own daemons.
 */
@Tag("cluster")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SlurmTest {
    static final Path JOBS = Testbed.SHARED.resolve("slurm-jobs");
    static final Path SITE_BUNDLES = Testbed.SHARED.resolve("site-bundles");
    static final Pattern RANK = Pattern.compile("rank (\\d) of (\\d) on (\\S+): numpy (\\S+) mine (\\S+)");
    static String pythonPrefix;

    @BeforeAll
    static void up() throws Exception {
        assumeTrue(Testbed.SLURM, "the test bed's configuration says TB_SLURM=no");
        Testbed.up();
        Testbed.stagePapersJob();
        Files.createDirectories(JOBS);
        // the site's tier-1 bundles for the python3 on PATH, keyed by its prefix: the Python and the MPI stack
        pythonPrefix = Launcher.exec(List.of("python3", "-c", "import os, sys; print(os.path.realpath(sys.prefix))"), Map.of())
                .out().strip();
        Path forPython = Path.of(SITE_BUNDLES + pythonPrefix);
        Files.createDirectories(forPython);
        for (String[] link : new String[][] {{"10-python.tar.zst", "py311-tier1.tar.zst"}, {"20-mpi4py.tar.zst", "mpi4py-tier2.tar.zst"}}) {
            Files.deleteIfExists(forPython.resolve(link[0]));
            Files.createSymbolicLink(forPython.resolve(link[0]), Testbed.BUNDLES.resolve(link[1]));
        }
        Files.writeString(Testbed.SHARED.resolve("site.conf"), "NODECAST_SITE_BUNDLES=" + SITE_BUNDLES + "\n");
        Files.createDirectories(Testbed.SHARED.resolve("no-bundles"));
        Files.writeString(Testbed.SHARED.resolve("site-without-bundles.conf"),
                "NODECAST_SITE_BUNDLES=" + Testbed.SHARED.resolve("no-bundles") + "\n");
    }

    @AfterAll
    static void down() {
        if (Testbed.SLURM) Testbed.down();
    }

    /** The finished job: sbatch's exit code (the job's, with --wait) and its output file. */
    record Job(int exit, String output, String sbatchErr) {}

    static Job sbatch(String name, Map<String, String> env, String script) throws IOException {
        Path out = JOBS.resolve(name + ".out");
        Files.deleteIfExists(out);
        Launcher.Result r = Testbed.on(Testbed.HEAD, env, "sbatch", "--wait", "--time=10", "--job-name=" + name,
                "--output=" + out, Testbed.DIR.resolve("jobs/" + script).toString());
        assertThat(r.out()).as(r.err()).contains("Submitted batch job");
        return new Job(r.exit(), Files.exists(out) ? Files.readString(out) : "", r.err());
    }

    static Map<String, String> jobEnv(String... more) {
        Map<String, String> env = new HashMap<>(Map.of("PBCAST", Launcher.home().toString(), "SHARED", Testbed.SHARED.toString()));
        for (int i = 0; i < more.length; i += 2) env.put(more[i], more[i + 1]);
        return env;
    }

    /** Every rank line of the application: 6 ranks, on all three compute hosts, numpy from node-local memory. */
    static void assertSixRanksOnEveryHost(String output) {
        Matcher m = RANK.matcher(output);
        Set<String> hosts = new TreeSet<>();
        Set<String> rankIds = new TreeSet<>();
        while (m.find()) {
            rankIds.add(m.group(1));
            assertThat(m.group(2)).as("world size").isEqualTo("6");
            hosts.add(m.group(3));
            assertThat(m.group(4)).as("numpy of rank " + m.group(1)).startsWith("/dev/shm/local/lib/python3.11/site-packages/numpy/");
        }
        assertThat(rankIds).as(output).containsExactly("0", "1", "2", "3", "4", "5");
        assertThat(hosts).as(output).containsExactlyElementsOf(Testbed.COMPUTE);
    }

    static void assertDevShmEmptyEverywhere() {
        for (String h : Stream.concat(Stream.of(Testbed.HEAD), Testbed.COMPUTE.stream()).toList()) {
            assertThat(Testbed.on(h, "ls", "-A", "/dev/shm").out().strip()).as("/dev/shm on " + h + " after the job").isEmpty();
        }
    }

    @Test
    @Order(1)
    void theGenericPaperScriptRunsUnderSbatchWithSrun() throws Exception {
        Job job = sbatch("paper-generic", jobEnv("PYTHONUSERBASE", Testbed.SHARED.resolve("userbase").toString()), "paper-generic.sh");
        assertThat(job.exit()).as(job.output() + job.sbatchErr()).isZero();
        assertThat(job.output()).contains("py311-tier1.tar.zst: ", "to 3 node(s)", "mpi4py-tier2.tar.zst: ").containsPattern("real\\s+\\d+m");
        Matcher m = RANK.matcher(job.output());
        int n = 0;
        while (m.find()) {
            n++;
            assertThat(m.group(5)).as("tier 2 from the user base").startsWith("/dev/shm/local/lib/python3.11/site-packages/mine/");
        }
        assertThat(n).isEqualTo(6);
        assertSixRanksOnEveryHost(job.output());
        assertDevShmEmptyEverywhere();
    }

    @Test
    @Order(2)
    void theSiteIntegratedPaperScriptDeliversTheSitesBundleForThePythonOnPath() throws Exception {
        Job job = sbatch("paper-site", jobEnv("NODECAST_SITE_CONF", Testbed.SHARED.resolve("site.conf").toString()), "paper-site.sh");
        assertThat(job.exit()).as(job.output() + job.sbatchErr()).isZero();
        assertSixRanksOnEveryHost(job.output());
        // only the site's bundles and the mirrored application: the user base was not delivered
        Matcher m = RANK.matcher(job.output());
        while (m.find()) assertThat(m.group(5)).isEqualTo("-");
        assertThat(job.output()).doesNotContain("Ignoring --ntasks-per-node");
        assertDevShmEmptyEverywhere();
    }

    @Test
    @Order(3)
    void aPythonTheSiteHasNoBundleForEndsTheJobSayingSo() throws Exception {
        Job job = sbatch("paper-site-nobundle", jobEnv("NODECAST_SITE_CONF", Testbed.SHARED.resolve("site-without-bundles.conf").toString()),
                "paper-site.sh");
        assertThat(job.exit()).isEqualTo(3);
        assertThat(job.output()).contains("nodecast site: this site has no tier-1 bundle for the Python in " + pythonPrefix,
                Testbed.SHARED.resolve("no-bundles") + pythonPrefix);
        assertThat(RANK.matcher(job.output()).find()).as("the application must not start").isFalse();
        assertDevShmEmptyEverywhere();
    }

    @Test
    @Order(4)
    void srunWithPmixStartsOpenMpiRanksAcrossTheHosts() {
        Launcher.Result mpi = Testbed.on(Testbed.HEAD, "srun", "--mpi=pmix", "-N", "3", "-n", "3", "/usr/bin/python3", "-c", """
                import socket
                from mpi4py import MPI
                c = MPI.COMM_WORLD
                print(c.Get_rank(), c.Get_size(), socket.gethostname(), MPI.Get_library_version().split(",")[0], flush=True)
                """);
        assertThat(mpi.exit()).as(mpi.err()).isZero();
        assertThat(mpi.out().lines().sorted().toList()).containsExactly("0 3 n1 Open MPI v4.1.4", "1 3 n2 Open MPI v4.1.4",
                "2 3 n3 Open MPI v4.1.4");
        // nodecast itself under srun: one leader per node, Open MPI chosen from PMIx's variables
        Launcher.Result b = Testbed.on(Testbed.HEAD, "srun", "--mpi=pmix", "-N", "3", "-n", "3", Launcher.nodecast().toString(),
                "bcast", "-t", "-p", "/dev/shm/local", Testbed.BUNDLES.resolve("mpi4py-tier2.tar.zst").toString());
        assertThat(b.exit()).as(b.err()).isZero();
        assertThat(b.out()).contains("3 ranks on 3 nodes", "Open MPI");
        for (String h : Testbed.COMPUTE) {
            assertThat(Testbed.on(h, "ls", "/dev/shm/local/lib/python3.11/site-packages").out()).contains("mpi4py");
        }
        Launcher.Result purge = Testbed.on(Testbed.HEAD, "srun", "-N", "3", "-n", "3", Launcher.nodecast().toString(), "purge",
                "-p", "/dev/shm/local");
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertDevShmEmptyEverywhere();
    }

    @Test
    @Order(4)
    void srunOfSeveralTasksOnOneNodeMeetsWithoutMpi() {
        // Slurm's own variables say it (SLURM_STEP_NUM_NODES=1, the step named by job and step id): no MPI starts;
        // a bed host has 2 cores, so 2 tasks. The task that only waits does so in bin/nodecast, without a JVM: given
        // an option no JVM knows, it would fail if it started one
        Launcher.Result b = Testbed.on(Testbed.HEAD, "srun", "--mpi=pmix", "-w", "n2", "-N", "1", "-n", "2", "/bin/bash", "-c",
                "[ \"$SLURM_PROCID\" = 0 ] || export NODECAST_JAVA_OPTS=-XX:+NodecastNoSuchOption; exec \"$0\" \"$@\"",
                Launcher.nodecast().toString(), "bcast", "-t", "-p", "/dev/shm/one", Testbed.BUNDLES.resolve("mpi4py-tier2.tar.zst").toString());
        assertThat(b.exit()).as(b.err()).isZero();
        assertThat(b.out()).contains("node (2 ranks on one node: MPI not started), 2 ranks on 1 nodes");
        assertThat(Testbed.on("n2", "ls", "/dev/shm/one/lib/python3.11/site-packages").out()).contains("mpi4py");
        Launcher.Result purge = Testbed.on(Testbed.HEAD, "srun", "-w", "n2", "-N", "1", "-n", "2", Launcher.nodecast().toString(), "purge",
                "-p", "/dev/shm/one");
        assertThat(purge.exit()).as(purge.err()).isZero();
        assertDevShmEmptyEverywhere();
    }

    @Test
    @Order(5)
    void sallocGivesAnAllocationTheActivatedShellDeliversInto() {
        String script = """
                source "$1/activate.sh" /dev/shm/local "srun -N $SLURM_JOB_NUM_NODES -n $SLURM_JOB_NUM_NODES"
                bcast "$2/mpi4py-tier2.tar.zst" || exit 11
                srun -N 3 -n 3 sh -c 'echo "on $(hostname): $(ls /dev/shm/local/lib/python3.11/site-packages)"'
                """;
        Launcher.Result r = Testbed.on(Testbed.HEAD, "salloc", "-N", "3", "bash", "-c", script, "bash", Launcher.home().toString(),
                Testbed.BUNDLES.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("Granted job allocation");
        assertThat(r.out().lines().sorted().toList()).containsExactly("on n1: mpi4py", "on n2: mpi4py", "on n3: mpi4py");
        assertDevShmEmptyEverywhere();
    }

    @Test
    @Order(6)
    void upNamesWhatIsMissing() throws Exception {
        // a copy of the scripts and the configuration the unprivileged user can read: the checkout may be in a 0700 home
        Path readable = Files.createTempDirectory("nodecast-up-copy");
        try {
            Files.setPosixFilePermissions(readable, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            for (String f : List.of("up", "lib.sh")) Files.copy(Testbed.DIR.resolve(f), readable.resolve(f), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            Path conf = readable.resolve("testbed.conf");
            Files.copy(Path.of(Launcher.exec(List.of("bash", "-c", "source \"$1/lib.sh\" && echo \"$TB_CONF\"", "bash", Testbed.DIR.toString()),
                    Map.of()).out().strip()), conf);
            Files.setPosixFilePermissions(conf, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            Launcher.Result notRoot = Launcher.exec(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    readable.resolve("up").toString()), Map.of("NODECAST_TESTBED_CONF", conf.toString()));
            assertThat(notRoot.exit()).isNotZero();
            assertThat(notRoot.err()).contains("testbed: must run as root");
        } finally {
            io.nodecast.core.FileTrees.delete(readable);
        }
        // every program on PATH but munged and slurmctld
        Path bin = Files.createTempDirectory("nodecast-path");
        try {
            for (String d : List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
                if (!Files.isDirectory(Path.of(d))) continue;
                try (Stream<Path> s = Files.list(Path.of(d))) {
                    for (Path p : s.toList()) {
                        String name = p.getFileName().toString();
                        if (name.equals("munged") || name.equals("slurmctld") || Files.exists(bin.resolve(name), java.nio.file.LinkOption.NOFOLLOW_LINKS)) continue;
                        Files.createSymbolicLink(bin.resolve(name), p);
                    }
                }
            }
            Launcher.Result missing = Launcher.exec(List.of("/bin/bash", Testbed.DIR.resolve("up").toString()), Map.of("PATH", bin.toString()));
            assertThat(missing.exit()).isNotZero();
            assertThat(missing.err()).contains("testbed: missing: munged slurmctld (Debian: apt-get install -y --no-install-recommends slurm-wlm munge");
        } finally {
            io.nodecast.core.FileTrees.delete(bin);
        }
        // and the bed was left alone
        assertThat(Testbed.on(Testbed.HEAD, "sinfo", "-h", "-N", "-t", "idle", "-o", "%N").out().lines().distinct().sorted().toList())
                .containsExactlyElementsOf(Testbed.COMPUTE);
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void downEndsEveryDaemonItStartedAndLeavesNothingAlsoAfterACrash() throws Exception {
        List<Long> daemons = new ArrayList<>();
        for (String name : Stream.concat(Stream.of("munged", "slurmctld"), Testbed.COMPUTE.stream().map(h -> "slurmd-" + h)).toList()) {
            daemons.add(Long.parseLong(Files.readString(Testbed.STATE.resolve(name + ".pid")).strip()));
        }
        for (long pid : daemons) assertThat(alive(pid)).as("daemon " + pid + " before down").isTrue();
        // a crash: the holder of a compute host is gone, its slurmd is not
        long holder = Long.parseLong(Files.readString(Testbed.STATE.resolve(Testbed.COMPUTE.get(0) + ".pid")).strip());
        Launcher.exec(List.of("kill", "-KILL", Long.toString(holder)), Map.of());

        Launcher.Result down = Launcher.exec(List.of(Testbed.DIR.resolve("down").toString()), Map.of());
        assertThat(down.exit()).as(down.err()).isZero();
        long deadline = System.nanoTime() + 15_000_000_000L;   // ended processes are reaped by init a little later
        while (daemons.stream().anyMatch(SlurmTest::alive) && System.nanoTime() < deadline) Thread.sleep(200);
        for (long pid : daemons) assertThat(alive(pid)).as("daemon " + pid + " after down").isFalse();
        assertThat(Files.exists(Testbed.STATE)).isFalse();
        assertThat(Launcher.exec(List.of("ip", "netns", "list"), Map.of()).out().lines())
                .noneMatch(ns -> ns.startsWith(Testbed.PREFIX + "-"));
        assertThat(Launcher.exec(List.of("findmnt", "-rn", "-o", "TARGET"), Map.of()).out().lines())
                .noneMatch(t -> t.equals(Testbed.SHARED.toString()) || t.startsWith(Testbed.SHARED + "/") || t.startsWith(Testbed.STATE + "/"));
        Launcher.Result again = Launcher.exec(List.of(Testbed.DIR.resolve("down").toString()), Map.of());
        assertThat(again.exit()).as("down is idempotent: " + again.err()).isZero();
    }

    /** A process that exists and is not a zombie. */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }
}
