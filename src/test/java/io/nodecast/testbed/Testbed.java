package io.nodecast.testbed;

import io.nodecast.bundle.Checksums;
import io.nodecast.core.FileTrees;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The namespaced cluster of testbed/: bring it up, run on its hosts, take it down. Its configuration is the one
 * the scripts read: testbed/testbed.conf, or the file NODECAST_TESTBED_CONF names (a second bed beside the
 * default one).
 */
public final class Testbed {
    public static final Path DIR = Launcher.home().resolve("testbed");
    private static final List<String> CONF = readConf();
    public static final Path SHARED = Path.of(CONF.get(0));
    public static final Path STATE = Path.of(CONF.get(1));
    static final String HEAD = CONF.get(2);
    public static final List<String> COMPUTE = List.of(CONF.get(3).trim().split("\\s+"));
    /** Whether the bed runs Slurm (TB_SLURM=yes). */
    static final boolean SLURM = CONF.get(4).equals("yes");
    /** The start of the bed's namespace names. */
    public static final String PREFIX = CONF.get(5);
    static final Path BUNDLES = SHARED.resolve("bundles");

    private Testbed() {}

    /**
     * The compute hosts as the scripts see them now: those of the bed that is up, else those the configuration
     * (or NODECAST_TESTBED_NODES in {@code env}) would bring up.
     */
    public static List<String> computeHosts(Map<String, String> env) {
        Launcher.Result r = Launcher.exec(List.of("bash", "-c", "source \"$1/lib.sh\" && echo $TB_COMPUTE", "conf", DIR.toString()), env);
        if (r.exit() != 0) throw new AssertionError("cannot read the test bed's configuration: " + r.err());
        return List.of(r.out().trim().split("\\s+"));
    }

    /** The configuration as lib.sh sees it, so the tests and the scripts never disagree. */
    private static List<String> readConf() {
        Launcher.Result r = Launcher.exec(List.of("bash", "-c", """
                source "$1/lib.sh" || exit 1
                printf '%s\\n' "$TB_SHARED" "$TB_STATE" "$TB_HEAD" "$TB_COMPUTE" "${TB_SLURM:-no}" "$TB_PREFIX"
                """, "conf", DIR.toString()), Map.of());
        List<String> lines = Arrays.asList(r.out().split("\n"));
        if (r.exit() != 0 || lines.size() < 6) throw new AssertionError("cannot read the test bed's configuration: " + r.err());
        return lines;
    }

    static void up() {
        Launcher.Result down = script("down");
        Launcher.Result r = script("up");
        if (r.exit() != 0) throw new AssertionError("testbed/up failed: " + r.err() + r.out() + down.err());
    }

    static void down() {
        script("down");
    }

    private static Launcher.Result script(String name) {
        return Launcher.exec(List.of(DIR.resolve(name).toString()), Map.of());
    }

    static Launcher.Result on(String host, Map<String, String> env, String... cmd) {
        List<String> full = new ArrayList<>(List.of(DIR.resolve("run").toString(), host));
        full.addAll(List.of(cmd));
        return Launcher.exec(full, env);
    }

    public static Launcher.Result on(String host, String... cmd) {
        return on(host, Map.of(), cmd);
    }

    /**
     * What the paper's job scripts deliver, on the shared directory: tier 1, the machine's Python 3.11 prefix with
     * numpy and scipy ({@code bundles/py311-tier1.tar.zst}); tier 2, Debian's mpi4py ({@code bundles/mpi4py-tier2.tar.zst},
     * built for CPython 3.11 and the system's Open MPI) and a user base with a package {@code mine}; tier 3, an
     * application ({@code mytestapp/bin/main.py}) that prints, per rank, its host and where numpy and mine came from:
     * {@code rank R of N on HOST: numpy PATH mine PATH} (mine is {@code -} when it is not importable).
     */
    /** Where the paper job's application leaves one line per rank. */
    static final Path REPORTS = SHARED.resolve("reports");

    /** The lines the paper job's ranks left, in rank order. */
    static String reports() throws IOException {
        StringBuilder all = new StringBuilder();
        try (var files = Files.list(REPORTS)) {
            for (Path f : files.sorted().toList()) all.append(Files.readString(f));
        }
        return all.toString();
    }

    static void stagePapersJob() throws IOException {
        Files.createDirectories(BUNDLES);
        Files.copy(RealPython.bundle(), BUNDLES.resolve("py311-tier1.tar.zst"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(Checksums.sidecar(RealPython.bundle()), BUNDLES.resolve("py311-tier1.tar.zst.sha256"),
                StandardCopyOption.REPLACE_EXISTING);
        // tier 2: Debian's mpi4py placed as pip would
        Path stage = SHARED.resolve("stage/lib/python3.11/site-packages");
        FileTrees.delete(SHARED.resolve("stage"));
        Files.createDirectories(stage);
        Launcher.exec(List.of("cp", "-a", "/usr/lib/python3/dist-packages/mpi4py", stage.toString()), Map.of());
        Launcher.Result b = Launcher.run(Map.of(), "bundle", "dir", SHARED.resolve("stage").toString(), "lib", "-q",
                "-o", BUNDLES.resolve("mpi4py-tier2.tar.zst").toString());
        if (b.exit() != 0) throw new AssertionError("bundling mpi4py failed: " + b.err());
        Path userbase = Files.createDirectories(SHARED.resolve("userbase/lib/python3.11/site-packages/mine"));
        Files.writeString(userbase.resolve("__init__.py"), "WHERE = __file__\n");
        Path app = Files.createDirectories(SHARED.resolve("mytestapp/bin"));
        Files.createDirectories(SHARED.resolve("mytestapp/testapp"));
        Files.writeString(SHARED.resolve("mytestapp/testapp/__init__.py"), "");
        // each rank also leaves its line in the shared directory: a launcher's output forwarding may drop the last
        // lines of a rank that exits at once, and what is checked is where the ranks ran, not the forwarding
        FileTrees.delete(REPORTS);
        Files.createDirectories(REPORTS);
        Files.writeString(app.resolve("main.py"), """
                import socket, numpy, scipy, scipy.linalg
                from mpi4py import MPI
                try:
                    import mine
                    where = mine.WHERE
                except ImportError:
                    where = "-"
                c = MPI.COMM_WORLD
                line = f"rank {c.Get_rank()} of {c.Get_size()} on {socket.gethostname()}: numpy {numpy.__file__} mine {where}"
                print(line, flush=True)
                with open(f"%s/rank-{c.Get_rank()}.txt", "w") as f:
                    f.write(line + "\\n")
                """.formatted(REPORTS));
    }
}
