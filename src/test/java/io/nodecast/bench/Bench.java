package io.nodecast.bench;

import io.nodecast.core.FileTrees;
import io.nodecast.env.Language;
import io.nodecast.testing.Launcher;
import io.nodecast.trace.Trace;
import io.nodecast.trace.TraceReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * nodecast's benchmarks, each side by side with its baseline in one run: the paper's Figure 1 (file-system calls
 * against PYTHONPATH length, before and after rerouting), delivery against GNU tar, the bcast step's fixed cost,
 * and shipped bytecode against recompiling on every node. --quick runs each in seconds (the test suite does, so
 * they cannot rot); the full run makes the figures in BENCHMARKS.md.
 */
@Command(name = "bench", mixinStandardHelpOptions = true)
public final class Bench implements Callable<Integer> {
    @Option(names = "--quick", description = "Small inputs, one run each.") boolean quick;
    @Option(names = "--out", description = "Where tables and plots go (default bench/results).") Path out;
    @Option(names = "--runs", description = "Timed runs per point (default 3, quick 1).") Integer runs;
    @Option(names = "--rate", description = "startup: the shared file system's metadata operations per second (default 1000).")
    int rate = 1000;
    @Option(names = "--baseline-jar", description = "profile: also profile this older nodecast.jar, side by side.")
    Path baselineJar;
    @Parameters(arity = "0..*", description = "figure1 delivery unpack formats profile fixed bytecode model images, and on the test bed (root): "
            + "cluster-delivery cluster-scaling cluster-skip cluster-fixed startup footprint (default: all that can run here)")
    List<String> which = new ArrayList<>();

    static final List<String> LOCAL = List.of("figure1", "delivery", "unpack", "formats", "profile", "fixed", "bytecode", "model", "images");

    /** Where a benchmark's table and plot go. */
    interface Emitter {
        void emit(String name, String title, Table t, String note) throws IOException;

        Path out();
    }

    private Emitter emitter() {
        return new Emitter() {
            @Override
            public void emit(String name, String title, Table t, String note) throws IOException {
                Bench.this.emit(name, title, t, note);
            }

            @Override
            public Path out() {
                return out;
            }
        };
    }
    static final List<String> CLUSTER = List.of("cluster-delivery", "cluster-scaling", "cluster-skip", "cluster-fixed", "startup", "footprint");

    private final Path home = Launcher.home();
    private Path work;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Bench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (out == null) out = home.resolve("bench/results");
        Files.createDirectories(out);
        work = Files.createDirectories(home.resolve("target/bench-work"));
        if (which.isEmpty() || which.contains("all")) {
            which = new ArrayList<>(LOCAL);
            if (isRoot()) which.addAll(CLUSTER);
            // footprint installs the distribution, which 'mvn package' makes after the tests (bench/run makes it first)
            if (!ClusterBench.distributionBuilt()) {
                which.remove("footprint");
                System.err.println("bench: footprint left out: no target/nodecast-VERSION.tar.gz newer than target/classes (mvn package)");
            }
        }
        System.out.printf("# nodecast benchmarks (%s), %d cores, %s%n%n", quick ? "quick" : "full",
                Runtime.getRuntime().availableProcessors(), java.time.LocalDate.now());
        for (String w : which) {
            switch (w) {
                case "figure1" -> figure1();
                case "delivery" -> delivery();
                case "unpack" -> new UnpackBench(emitter(), quick ? 1 : Math.max(5, runs())).run(
                        bundle(".tar.zst", "compile"), bundle(".tar.gz", "compile"), Path.of("/dev/shm/nodecast-bench-unpack"), work);
                case "formats" -> new UnpackBench(emitter(), quick ? 1 : Math.max(3, runs())).formats(
                        bundle(".tar.zst", "compile"), Path.of("/dev/shm/nodecast-bench-formats"), work);
                case "profile" -> {
                    Map<String, Path> jars = new LinkedHashMap<>();
                    if (baselineJar != null) jars.put("baseline (" + baselineJar.getFileName() + ")", baselineJar);
                    jars.put("this build", home.resolve("target/nodecast.jar"));
                    new UnpackBench(emitter(), 1).profile(bundle(".tar.zst", "compile"), Path.of("/dev/shm/nodecast-bench-profile"), jars);
                }
                case "fixed" -> fixedCost();
                case "bytecode" -> bytecode();
                case "model" -> model();
                case "images" -> new ImageBench(emitter(), quick, runs(), work).run();
                case "cluster-delivery", "cluster-scaling", "cluster-skip", "cluster-fixed", "startup", "footprint" -> { }
                default -> throw new CommandLine.ParameterException(new CommandLine(this), "unknown benchmark " + w);
            }
        }
        List<String> onBed = which.stream().filter(CLUSTER::contains).toList();
        if (!onBed.isEmpty()) {
            if (!isRoot()) throw new CommandLine.ParameterException(new CommandLine(this), onBed + " run on the test bed, as root");
            ClusterBench c = new ClusterBench(quick, runs(), out, e -> {
                try {
                    emit(e.name(), e.title(), e.table(), e.note());
                } catch (IOException x) {
                    throw new java.io.UncheckedIOException(x);
                }
            });
            c.onBed(onBed.contains("cluster-scaling") && !quick ? ClusterBench.SCALING_HOSTS : 3, () -> {
                for (String w : onBed) {
                    switch (w) {
                        case "cluster-delivery" -> c.delivery();
                        case "cluster-scaling" -> c.scaling();
                        case "cluster-skip" -> c.skip();
                        case "cluster-fixed" -> c.fixedCost();
                        case "footprint" -> c.footprint(rate);
                        default -> c.startup(rate);
                    }
                }
            });
        }
        return 0;
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private int runs() {
        return runs != null ? runs : quick ? 1 : 3;
    }

    private void emit(String name, String title, Table t, String note) throws IOException {
        String md = "## " + title + "\n\n" + t.markdown() + (note.isEmpty() ? "" : "\n" + note + "\n");
        System.out.println(md);
        Files.writeString(out.resolve(name + ".md"), md);
    }

    private void model() throws IOException {
        ModelBench.run(out, e -> {
            try {
                emit(e.name(), e.title(), e.table(), e.note());
            } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
        });
    }

    // ---------------------------------------------------------------- python and bundles

    private String python() {
        return ask("import os, sys; print(os.path.realpath(sys.executable))");
    }

    private Path prefix() {
        return Path.of(ask("import sys; print(sys.base_prefix)"));
    }

    private static String ask(String code) {
        Launcher.Result r = Launcher.exec(List.of("python3", "-c", code), Map.of());
        if (r.exit() != 0) throw new IllegalStateException("python3: " + r.err());
        return r.out().strip();
    }

    /** The prefix bundled by nodecast (cached): the real tier 1, or in quick mode its json and email packages only. */
    private Path bundle(String suffix, String pyc) {
        Path b = work.resolve((quick ? "quick-" : "prefix-") + pyc + suffix);
        if (Files.exists(b)) return b;
        List<String> args = quick
                ? List.of("bundle", "dir", prefix().toString(), "lib/python3.11/json", "lib/python3.11/email", "--pyc", pyc, "-q", "-o", b.toString())
                : List.of("bundle", "prefix", prefix().toString(), "--pyc", pyc, "-q", "-o", b.toString());
        Launcher.Result r = Launcher.run(Map.of(), args.toArray(String[]::new));
        if (r.exit() != 0) throw new IllegalStateException("bundling failed: " + r.err());
        return b;
    }

    private Path freshDir(String name) {
        Path d = Path.of("/dev/shm").resolve("nodecast-bench-" + name);
        FileTrees.deleteQuietly(d);
        return d;
    }

    // ---------------------------------------------------------------- Figure 1

    private void figure1() throws IOException {
        List<Integer> lengths = quick ? List.of(0, 5) : List.of(0, 5, 10, 20);
        List<String> imports = quick ? List.of("", "numpy") : List.of("", "numpy", "scipy");
        String python = python();
        Path prefix = prefix();
        Path modules = Files.createDirectories(work.resolve("shared-modules"));
        Path dest = freshDir("fig1");
        Path tier1 = quick ? null : bundle(".tar.zst", "compile");
        if (!quick) {
            Launcher.Result r = Launcher.run(Map.of(), "bcast", "-p", dest.toString(), tier1.toString());
            if (r.exit() != 0) throw new IllegalStateException(r.err());
        }
        Table t = new Table("import", "PYTHONPATH entries", "calls", "to the shared FS", "failed", "after nodecast: calls",
                "to the shared FS", "to node-local storage");
        Map<String, double[][]> series = new LinkedHashMap<>();
        for (String imp : imports) {
            String code = imp.isEmpty() ? "" : "import " + imp;
            String label = imp.isEmpty() ? "python -c ''" : "import " + imp;
            double[][] direct = new double[lengths.size()][];
            double[][] after = new double[lengths.size()][];
            for (int i = 0; i < lengths.size(); i++) {
                int n = lengths.get(i);
                List<String> dirs = new ArrayList<>();
                for (int k = 0; k < n; k++) dirs.add(Files.createDirectories(modules.resolve("pkg" + k + "/site-packages")).toString());
                Map<String, String> env = new HashMap<>(System.getenv());
                env.remove("PYTHONHOME");
                if (n > 0) env.put("PYTHONPATH", String.join(":", dirs)); else env.remove("PYTHONPATH");
                TraceReport d = Trace.run(List.of(python, "-c", code), env, List.of(prefix, modules), ProcessBuilder.Redirect.DISCARD);
                long shared = d.underShared().values().stream().mapToLong(Long::longValue).sum();
                direct[i] = new double[] {n, d.calls()};
                String afterCalls = "-", afterShared = "-", afterLocal = "-";
                if (!quick) {
                    // a job script's PYTHONPATH is what rerouting purges: start from the same one
                    TraceReport a = Trace.run(List.of(dest.resolve("bin/python3").toString(), "-c", code), new Language.Python().apply(dest, env),
                            List.of(prefix, modules, dest), ProcessBuilder.Redirect.DISCARD);
                    afterCalls = String.valueOf(a.calls());
                    afterShared = String.valueOf(a.underShared().get(prefix.toString()) + a.underShared().get(modules.toString()));
                    afterLocal = String.valueOf(a.underShared().get(dest.toString()));
                    after[i] = new double[] {n, Long.parseLong(afterShared)};
                }
                t.row(label, n, d.calls(), shared, d.failed(), afterCalls, afterShared, afterLocal);
            }
            series.put(label + " (shared prefix)", direct);
            if (!quick) series.put(label + " after nodecast: calls to the shared FS", after);
        }
        FileTrees.deleteQuietly(dest);
        emit("figure1", "File-system calls at start-up (the paper's Figure 1), Python 3.11", t,
                "Counted with `nodecast trace` (strace -f -e trace=%file). \"Shared FS\" is the interpreter's prefix and the PYTHONPATH "
                        + "directories; after nodecast, the interpreter runs from the delivered copy with the environment of `nodecast env`.");
        Plot.lines(out.resolve("figure1.png"), "File-system calls per rank at start-up", "PYTHONPATH entries", "calls", series);
    }

    // ---------------------------------------------------------------- delivery

    private void delivery() throws IOException {
        Path zst = bundle(".tar.zst", "compile");
        Path gz = bundle(".tar.gz", "compile");
        Table t = new Table("method", "bundle", "seconds (median)", "MB/s unpacked", "peak MiB", "vs GNU tar --zstd");
        Map<String, Double> bars = new LinkedHashMap<>();
        Path dest = Path.of("/dev/shm/nodecast-bench-delivery");
        long unpacked = 0;
        Runnable clean = () -> FileTrees.deleteQuietly(dest);
        List<Object[]> cases = new ArrayList<>();
        cases.add(new Object[] {"GNU tar --zstd -xf", zst, List.of("sh", "-c", "mkdir -p \"$1\" && tar --zstd -xf \"$2\" -C \"$1\"", "sh", dest.toString(), zst.toString())});
        cases.add(new Object[] {"GNU tar -xzf", gz, List.of("sh", "-c", "mkdir -p \"$1\" && tar -xzf \"$2\" -C \"$1\"", "sh", dest.toString(), gz.toString())});
        cases.add(new Object[] {"nodecast bcast, local", zst, nodecast("bcast", "-p", dest.toString(), zst.toString())});
        cases.add(new Object[] {"nodecast bcast, local", gz, nodecast("bcast", "-p", dest.toString(), gz.toString())});
        for (int nodes : quick ? List.of(1, 2) : List.of(1, 2, 3)) {
            cases.add(new Object[] {"nodecast bcast, Open MPI, " + nodes + " simulated node(s)", zst,
                    mpirun(nodes, nodes, "bcast", "-p", dest + "/%h", zst.toString())});
        }
        double tarZstd = 0;
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked") List<String> cmd = (List<String>) c[2];
            Run r = Run.median(runs(), clean, cmd, Map.of());
            if (unpacked == 0) unpacked = du(dest);
            if (tarZstd == 0) tarZstd = r.seconds();
            String name = c[0] + " (" + ((Path) c[1]).getFileName().toString().replaceAll(".*(\\.tar\\.\\w+)$", "$1") + ")";
            long nodesCount = c[0].toString().contains("simulated") ? Long.parseLong(c[0].toString().replaceAll(".*, (\\d+) simulated.*", "$1")) : 1;
            t.row(name, mib(Files.size((Path) c[1])), r.seconds(), String.format(Locale.ROOT, "%.0f", unpacked * nodesCount / 1e6 / r.seconds()),
                    r.peakKiB() / 1024, String.format(Locale.ROOT, "%.2f", r.seconds() / tarZstd));
            bars.put(name, r.seconds());
        }
        clean.run();
        emit("delivery", "Delivery of " + (quick ? "a small bundle (quick mode)" : "the Python prefix") + " (" + mib(unpacked)
                + " MiB unpacked) against GNU tar", t,
                "Destination /dev/shm; the bundle is in the page cache for every method (only rank 0 reads it). Simulated nodes "
                        + "share this machine's cores and memory bandwidth, so their times add up rather than stay flat; on a cluster "
                        + "each node unpacks with its own cores. Peak MiB is the largest single process (GNU time's %M).");
        Plot.bars(out.resolve("delivery.png"), "Delivery time, seconds (lower is better)", "seconds", bars);
    }

    private List<String> nodecast(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Launcher.nodecast().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private List<String> mpirun(int ranks, int nodes, String... args) {
        return mpirunOf(ranks, nodes, nodecast(args));
    }

    private static List<String> mpirunOf(int ranks, int nodes, List<String> program) {
        List<String> cmd = new ArrayList<>(List.of("mpirun.openmpi", "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader,tcp",
                "-np", String.valueOf(ranks), "-x", "NODECAST_JAVA_OPTS"));
        // one node is this machine as it is: a simulated node would make the ranks meet in MPI
        if (nodes > 1) cmd.addAll(List.of("-x", "NODECAST_SIMULATE_NODES=" + nodes));
        cmd.addAll(program);
        return cmd;
    }

    private static long du(Path dir) {
        if (!Files.exists(dir)) return 0;
        try (var s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/.nodecast/")).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    // ---------------------------------------------------------------- fixed cost

    private void fixedCost() throws IOException {
        Path empty = work.resolve("empty.tar");
        Files.write(empty, new byte[10240]);
        Path dest = Path.of("/dev/shm/nodecast-bench-fixed");
        Runnable clean = () -> FileTrees.deleteQuietly(dest);
        Table t = new Table("launch", "nodes", "ranks", "step seconds (median)", "of which JVM start + MPI init (rank 0)",
                "the launcher alone: mpirun /bin/true", "nodecast's own share");
        Map<String, double[][]> series = new LinkedHashMap<>();
        Run local = Run.median(runs(), clean, nodecast("bcast", "-t", "-p", dest.toString(), empty.toString()), Map.of());
        t.row("local (no MPI)", 1, 1, local.seconds(), "-", "-", local.seconds());
        for (int perNode : quick ? List.of(1) : List.of(1, 2, 4)) {
            List<double[]> pts = new ArrayList<>();
            for (int nodes : quick ? List.of(2) : List.of(1, 2, 3)) {
                Run r = Run.median(runs(), clean, mpirun(nodes * perNode, nodes, "bcast", "-t", "-p", dest + "/%h", empty.toString()), Map.of());
                String init = r.out().lines().filter(l -> l.contains(" init ")).findFirst().map(l -> l.replaceAll(".* init ([0-9.]+) s.*", "$1")).orElse("?");
                Run bare = Run.median(runs(), () -> { }, mpirunOf(nodes * perNode, nodes, List.of("/bin/true")), Map.of());
                t.row("mpirun (Open MPI)", nodes, nodes * perNode, r.seconds(), init, bare.seconds(),
                        String.format(Locale.ROOT, "%.2f", r.seconds() - bare.seconds()));
                pts.add(new double[] {nodes, r.seconds()});
            }
            series.put(perNode + " rank(s) per node", pts.toArray(double[][]::new));
        }
        clean.run();
        emit("fixed", "Fixed cost of the bcast step (an empty bundle)", t,
                "The whole `mpirun ... nodecast bcast` command, launcher start-up included, on 2 cores: with more ranks than cores "
                        + "the JVMs start one after another.");
        Plot.lines(out.resolve("fixed.png"), "bcast step with an empty bundle", "simulated nodes", "seconds", series);
    }

    // ---------------------------------------------------------------- bytecode

    private void bytecode() throws IOException {
        String code = quick ? "import json, email.parser" : "import numpy, scipy, scipy.linalg, scipy.sparse";
        Table t = new Table("bundle", "import seconds (median)", "bundle MiB");
        Map<String, Double> bars = new LinkedHashMap<>();
        for (String pyc : List.of("drop", "keep", "compile")) {
            Path b = bundle(".tar.zst", pyc);
            Path dest = freshDir("pyc-" + pyc);
            Launcher.Result r = Launcher.run(Map.of(), "bcast", "-p", dest.toString(), b.toString());
            if (r.exit() != 0) throw new IllegalStateException(r.err());
            Map<String, String> env = quick ? new HashMap<>(Map.of("PYTHONPATH", dest.resolve("lib/python3.11").toString()))
                    : new HashMap<>(new Language.Python().apply(dest, System.getenv()));
            env.put("PYTHONDONTWRITEBYTECODE", "1");   // ranks that cannot share what they compile: every start compiles again
            String exe = quick ? python() : dest.resolve("bin/python3").toString();
            Run run = Run.median(Math.max(3, runs()), () -> { }, List.of(exe, "-c", code), env);
            t.row("--pyc " + pyc, run.seconds(), mib(Files.size(b)));
            bars.put("--pyc " + pyc, run.seconds());
            FileTrees.deleteQuietly(dest);
        }
        emit("bytecode", "Start-up from a bundle without bytecode (the paper's choice) and with it", t,
                "`" + code + "` from the delivered copy, `PYTHONDONTWRITEBYTECODE=1`: what every rank of every node pays at every start "
                        + "when no bytecode was shipped. `keep` ships the prefix's own; `compile` also compiles what it lacks.");
        Plot.bars(out.resolve("bytecode.png"), "Import time from the node-local copy, seconds", "seconds", bars);
    }
}
