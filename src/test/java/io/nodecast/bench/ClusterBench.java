package io.nodecast.bench;

import io.nodecast.core.FileTrees;
import io.nodecast.env.Shell;
import io.nodecast.testing.Launcher;
import io.nodecast.testing.RealPython;
import io.nodecast.testbed.Testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The benchmarks that need the namespaced cluster of testbed/ (root): delivery to 1 to 3 hosts with and without
 * shaped links, the bcast step's fixed cost across hosts, and start-up at scale against a shared file system
 * with a metadata-rate cap (testbed/slowfs). Brings the bed up if it is down and takes it down again after.
 */
final class ClusterBench {
    private static final Path TB = Testbed.DIR;
    private static final Path SHARED = Testbed.SHARED;
    private static final List<String> COMPUTE = Testbed.COMPUTE;

    private final boolean quick;
    private final int runs;
    private final Consumer<Emitted> emit;
    private final Path out;

    record Emitted(String name, String title, Table table, String note) {}

    ClusterBench(boolean quick, int runs, Path out, Consumer<Emitted> emit) {
        this.out = out;
        this.quick = quick;
        this.runs = runs;
        this.emit = emit;
    }

    /** Runs body on the bed, which is brought up first if needed and left as found. */
    void onBed(Body body) throws IOException {
        boolean wasUp = Files.exists(Testbed.STATE.resolve(COMPUTE.getFirst() + ".pid"));
        Launcher.Result up = sh(List.of(TB.resolve("up").toString()));
        if (up.exit() != 0) throw new IllegalStateException("testbed/up: " + up.err());
        try {
            body.run();
        } finally {
            sh(List.of(TB.resolve("shape").toString(), "--off"));
            if (!wasUp) sh(List.of(TB.resolve("down").toString()));
        }
    }

    interface Body {
        void run() throws IOException;
    }

    // ---------------------------------------------------------------- tools

    private static Launcher.Result sh(List<String> cmd) {
        return Launcher.exec(cmd, Map.of());
    }

    private static Launcher.Result on(String host, String script) {
        return Testbed.on(host, "bash", "-c", script);
    }

    private static void must(Launcher.Result r, String what) {
        if (r.exit() != 0) throw new IllegalStateException(what + " failed (" + r.exit() + "): " + r.err() + r.out());
    }

    /** Seconds of wall time of a script on the head host, median of runs, with a clean-up before each. */
    private double timed(String script, String before, int n) {
        List<Double> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!before.isEmpty()) must(on("head", before), "clean-up");
            long t0 = System.nanoTime();
            must(on("head", script), script);
            all.add((System.nanoTime() - t0) / 1e9);
        }
        all.sort(Double::compare);
        return all.get(all.size() / 2);
    }

    private static String hosts(int count, int perHost) {
        List<String> h = new ArrayList<>();
        for (String c : COMPUTE.subList(0, count)) h.add(c + ":" + perHost);
        return String.join(",", h);
    }

    private static String openmpi(int count, int perHost) {
        return q(TB.resolve("mpirun-openmpi")) + " -np " + count * perHost + " --host " + hosts(count, perHost);
    }

    private static String purgeAll(String dest) {
        StringBuilder s = new StringBuilder();
        for (String h : COMPUTE) s.append(q(TB.resolve("run"))).append(' ').append(h).append(" rm -rf ").append(q(dest)).append("; ");
        return s.toString();
    }

    /** A path in a shell command, quoted: the checkout may be anywhere, a space in its path included. */
    private static String q(Object path) {
        return Shell.quote(path.toString());
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /** The tier-1 bundle on the shared directory: the real prefix, or in quick mode two of its packages. */
    private Path sharedBundle() throws IOException {
        return sharedBundle(quick);
    }

    private Path sharedBundle(boolean small) throws IOException {
        Path dir = Files.createDirectories(SHARED.resolve("bench"));
        Path b = dir.resolve(small ? "quick.tar.zst" : "py311-tier1.tar.zst");
        if (Files.exists(b)) return b;
        if (small) {
            Launcher.Result r = Launcher.run(Map.of(), "bundle", "dir", RealPython.prefix().toString(), "lib/python3.11/json",
                    "lib/python3.11/email", "-q", "-o", b.toString());
            must(r, "bundling");
        } else {
            Files.copy(RealPython.bundle(), b);
        }
        return b;
    }

    // ---------------------------------------------------------------- delivery across hosts

    void delivery() throws IOException {
        Path bundle = sharedBundle();
        String dest = "/dev/shm/nodecast-bench";
        String clean = purgeAll(dest);
        long unpacked = 0;
        Table t = new Table("method", "links", "hosts", "seconds (median)", "MB/s per host", "leader peak MiB", "vs GNU tar");
        Map<String, double[][]> series = new LinkedHashMap<>();
        int n = quick ? 1 : runs;
        double tar = timed(q(TB.resolve("run")) + " n1 sh -c " + q("mkdir -p " + q(dest) + " && tar --zstd -xf " + q(bundle) + " -C " + q(dest)), clean, n);
        must(on("n1", "du -sb --exclude=.nodecast " + q(dest) + " | cut -f1 > /dev/shm/nodecast-bench-size"), "du");
        unpacked = Long.parseLong(on("n1", "cat /dev/shm/nodecast-bench-size").out().strip());
        t.row("GNU tar --zstd -xf, on n1", "-", 1, f2(tar), String.format(Locale.ROOT, "%.0f", unpacked / 1e6 / tar), "-", "1.00");
        List<String[]> shapes = quick ? List.<String[]>of(new String[] {"unshaped", ""})
                : List.of(new String[] {"unshaped", ""}, new String[] {"1 Gbit/s", "--rate 1gbit"},
                        new String[] {"1 Gbit/s + 5 ms", "--rate 1gbit --delay-ms 5"}, new String[] {"100 Mbit/s", "--rate 100mbit"});
        for (String[] shape : shapes) {
            must(sh(List.of(TB.resolve("shape").toString(), "--off")), "shape --off");
            if (!shape[1].isEmpty()) {
                List<String> cmd = new ArrayList<>(List.of(TB.resolve("shape").toString()));
                cmd.addAll(List.of(shape[1].split(" ")));
                must(sh(cmd), "testbed/shape " + shape[1]);
            }
            List<double[]> pts = new ArrayList<>();
            for (int count : quick ? List.of(1, 3) : List.of(1, 2, 3)) {
                String peakFile = "/dev/shm/nodecast-bench-peak";
                String script = openmpi(count, 1) + " /usr/bin/time -f %M -o " + peakFile + " " + q(Launcher.nodecast()) + " bcast -p " + q(dest)
                        + " " + q(bundle);
                double s = timed(script, clean, shape[1].contains("100mbit") ? 1 : n);
                long peak = 0;
                for (String h : COMPUTE.subList(0, count)) {
                    String kib = on(h, "cat " + peakFile + " 2>/dev/null || echo 0").out().strip();
                    peak = Math.max(peak, Long.parseLong(kib.isEmpty() ? "0" : kib.lines().reduce((a, b) -> b).orElse("0")));
                }
                t.row("nodecast bcast, Open MPI", shape[0], count, f2(s), String.format(Locale.ROOT, "%.0f", unpacked / 1e6 / s),
                        peak / 1024, f2(s / tar));
                pts.add(new double[] {count, s});
            }
            series.put(shape[0], pts.toArray(double[][]::new));
        }
        must(sh(List.of(TB.resolve("shape").toString(), "--off")), "shape --off");
        on("head", clean + " rm -f /dev/shm/nodecast-bench-size");
        emit.accept(new Emitted("cluster-delivery", "Delivery to the test bed's hosts (" + (unpacked >> 20) + " MiB unpacked), "
                + "against GNU tar on one host", t,
                "The bundle is on the shared directory (page cache warm); each host unpacks into its own /dev/shm. All hosts share "
                        + "this machine's 2 cores, so unpacking on 3 hosts takes 3 times the CPU of one; on a cluster each node "
                        + "has its own. Links shaped with testbed/shape (tbf; the delay held by netdelay). Leader peak MiB: GNU time's %M "
                        + "of the largest leader JVM."));
        Plot.lines(out.resolve("cluster-delivery.png"), "Delivery time against hosts, by link", "hosts", "seconds", series);
    }

    // ---------------------------------------------------------------- fixed cost across hosts

    void fixedCost() throws IOException {
        Path empty = SHARED.resolve("bench/empty.tar");
        Files.createDirectories(empty.getParent());
        Files.write(empty, new byte[10240]);
        String dest = "/dev/shm/nodecast-bench-fixed";
        String clean = purgeAll(dest);
        Table t = new Table("ranks per host", "hosts", "ranks", "step seconds (median)", "the launcher alone: mpirun /bin/true",
                "nodecast's own share");
        Map<String, double[][]> series = new LinkedHashMap<>();
        for (int perHost : quick ? List.of(1) : List.of(1, 2, 4)) {
            List<double[]> pts = new ArrayList<>();
            for (int count : quick ? List.of(2) : List.of(1, 2, 3)) {
                double s = timed(openmpi(count, perHost) + " " + q(Launcher.nodecast()) + " bcast -p " + q(dest) + " " + q(empty), clean, quick ? 1 : runs);
                double bare = timed(openmpi(count, perHost) + " /bin/true", "", quick ? 1 : runs);
                t.row(perHost, count, count * perHost, f2(s), f2(bare), f2(s - bare));
                pts.add(new double[] {count, s});
            }
            series.put(perHost + " rank(s) per host", pts.toArray(double[][]::new));
        }
        on("head", clean);
        emit.accept(new Emitted("cluster-fixed", "Fixed cost of the bcast step across the test bed's hosts (an empty bundle)", t,
                "The whole `mpirun ... nodecast bcast` command: Open MPI's launch over the bed's ssh stand-in, JVM start (with the "
                        + "AOT cache), MPI initialisation, the agreement and finalisation. 2 cores serve every JVM."));
        Plot.lines(out.resolve("cluster-fixed.png"), "bcast step with an empty bundle", "hosts", "seconds", series);
    }

    // ---------------------------------------------------------------- start-up at scale

    void startup(int rate) throws IOException {
        Path bundle = sharedBundle(false); // an interpreter to start, even in quick mode
        Path backing = SHARED.resolve("bench/pfs-backing");
        Path pfs = SHARED.resolve("pfs");
        String prefixDir = "py311";
        Files.createDirectories(pfs);
        if (!Files.exists(backing.resolve(prefixDir + "/bin/python3"))) {
            Files.createDirectories(backing.resolve(prefixDir));
            // the interpreter as installed on the shared file system: the bundle unpacked (its RUNPATHs are $ORIGIN-relative)
            must(sh(List.of("tar", "--zstd", "-xf", bundle.toString(), "-C", backing.resolve(prefixDir).toString())), "tar");
        }
        Files.copy(bundle, backing.resolve("tier1.tar.zst"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        must(sh(List.of(TB.resolve("slowfs/run").toString(), "unmount", pfs.toString())), "slowfs unmount");
        must(sh(List.of(TB.resolve("slowfs/run").toString(), "mount", backing.toString(), pfs.toString(), "--rate", String.valueOf(rate),
                "--burst", "20")), "slowfs mount");
        String code = quick ? "import json" : "import numpy, scipy, scipy.linalg";
        String dest = "/dev/shm/local";
        String clean = purgeAll(dest);
        Table t = new Table("ranks N", "direct from the shared FS, s", "metadata ops", "nodecast: bcast + run, s", "metadata ops",
                "local starts only, s", "speed-up", "vs local starts");
        Map<String, double[][]> series = new LinkedHashMap<>();
        List<double[]> direct = new ArrayList<>(), nodecast = new ArrayList<>(), local = new ArrayList<>();
        for (int ranks : quick ? List.of(3) : List.of(3, 6, 12, 24)) {
            int perHost = ranks / COMPUTE.size();
            String run = openmpi(COMPUTE.size(), perHost);
            long ops0 = ops(pfs);
            double d = timed(run + " " + q(pfs.resolve(prefixDir + "/bin/python3")) + " -c " + q(code), "", 1);
            long ops1 = ops(pfs);
            String job = openmpi(COMPUTE.size(), 1) + " " + q(Launcher.nodecast()) + " bcast -p " + q(dest) + " " + q(pfs.resolve("tier1.tar.zst"))
                    + " && " + run + " " + q(dest + "/bin/python3") + " -c " + q(code);
            double b = timed(job, clean, 1);
            long ops2 = ops(pfs);
            double l = timed(run + " " + q(dest + "/bin/python3") + " -c " + q(code), "", 1);
            t.row(ranks, f2(d), ops1 - ops0, f2(b), ops2 - ops1, f2(l), f2(d / b) + "x", f2(b / l) + "x");
            direct.add(new double[] {ranks, d});
            nodecast.add(new double[] {ranks, b});
            local.add(new double[] {ranks, l});
        }
        on("head", clean);
        must(sh(List.of(TB.resolve("slowfs/run").toString(), "unmount", pfs.toString())), "slowfs unmount");
        series.put("direct from the shared FS (" + rate + " metadata ops/s)", direct.toArray(double[][]::new));
        series.put("nodecast: bcast + run from /dev/shm", nodecast.toArray(double[][]::new));
        series.put("local starts only (no bcast, no FS limit)", local.toArray(double[][]::new));
        emit.accept(new Emitted("startup", "Start-up at scale: `" + code + "` on N ranks over 3 hosts, shared FS capped at " + rate
                + " metadata ops/s", t,
                "Direct: every rank runs the interpreter installed on the shared file system (testbed/slowfs, one token bucket for all "
                        + "hosts, kernel caches off). nodecast: one `bcast` of the tier-1 bundle from the same file system (only rank 0 "
                        + "reads it), then the ranks run from their host's /dev/shm; the bcast step's time is included. Local starts: "
                        + "the same ranks from the delivered copy with no bcast. Metadata ops are the daemon's own counts (reads and writes excluded: they are not charged)."));
        Plot.lines(out.resolve("startup.png"), "Start-up time against ranks", "ranks", "seconds", series);
    }

    // ---------------------------------------------------------------- nodecast's own footprint on the shared file system

    /**
     * What starting nodecast itself asks of the shared file system, per node, for one bcast step: the distribution
     * (target/nodecast-VERSION.tar.gz, with its jlink runtime and AOT cache) unpacked on the slow file system as a centre
     * installs it, beside the same jar started with a whole JDK 25 from the same file system. The bundle is off that file
     * system and empty, so every operation counted is nodecast's own.
     */
    void footprint(int rate) throws IOException {
        Path tarball = distribution().orElseThrow(
                () -> new IllegalStateException("no target/nodecast-VERSION.tar.gz: run 'mvn package' first (bench/run does)"));
        Path backing = SHARED.resolve("bench/pfs-backing");
        Path pfs = SHARED.resolve("pfs");
        Files.createDirectories(pfs);
        Path install = backing.resolve("apps");
        FileTrees.delete(install);
        Files.createDirectories(install);
        must(sh(List.of("tar", "-xzf", tarball.toString(), "-C", install.toString())), "tar");
        String dist;
        try (var s = Files.list(install)) {
            dist = s.findFirst().orElseThrow().getFileName().toString();
        }
        // the JDK this benchmark runs on, copied beside it: "a JDK on the shared file system"
        Path jdk = Path.of(System.getProperty("java.home"));
        must(sh(List.of("cp", "-a", jdk.toString(), install.resolve("jdk").toString())), "copying the JDK");
        Path empty = SHARED.resolve("bench/empty.tar");
        Files.write(empty, new byte[10240]);
        must(sh(List.of(TB.resolve("slowfs/run").toString(), "unmount", pfs.toString())), "slowfs unmount");
        must(sh(List.of(TB.resolve("slowfs/run").toString(), "mount", backing.toString(), pfs.toString(), "--rate", String.valueOf(rate),
                "--burst", "20")), "slowfs mount");
        String dest = "/dev/shm/nodecast-bench-footprint";
        String clean = purgeAll(dest);
        Path launcher = pfs.resolve("apps/" + dist + "/bin/nodecast");
        Table t = new Table("nodecast started from", "hosts", "metadata ops per node", "file-system calls on the install, per process",
                "step seconds");
        List<String[]> kinds = List.of(new String[] {"the distribution: its runtime (jlink), AOT cache, launcher", ""},
                new String[] {"the same jar on a whole JDK 25 (NODECAST_JAVA_HOME)", "env NODECAST_JAVA_HOME=" + q(pfs.resolve("apps/jdk")) + " "},
                new String[] {"the distribution, staged on each node (NODECAST_STAGE=/dev/shm)", "env NODECAST_STAGE=/dev/shm/nodecast-bench-stage "});
        for (String[] kind : kinds) {
            // a first run on every host, uncounted: the JDK case makes its AOT cache beside the jar, staging unpacks the runtime
            must(on("head", clean + openmpi(COMPUTE.size(), 1) + " " + kind[1] + q(launcher) + " bcast -p " + q(dest) + " " + q(empty)), "warm-up");
            for (int count : quick ? List.of(1) : List.of(1, 3)) {
                long before = ops(pfs);
                double s = timed(openmpi(count, 1) + " " + kind[1] + q(launcher) + " bcast -p " + q(dest) + " " + q(empty), clean, 1);
                long per = (ops(pfs) - before) / count;
                // the same step under strace on one host: the calls that name a path on the install
                String trace = "/dev/shm/nodecast-bench-footprint.strace";
                must(on("n1", "rm -rf " + q(dest) + "; strace -f -qq -e trace=%file -o " + trace + " " + kind[1] + q(launcher) + " bcast -p "
                        + q(dest) + " " + q(empty) + " >/dev/null"), "strace");
                String calls = on("n1", "grep -c -F " + q(pfs.resolve("apps").toString()) + " " + trace + "; rm -f " + trace + "; rm -rf "
                        + q(dest)).out().strip();
                t.row(kind[0], count, per, calls, f2(s));
            }
        }
        on("head", clean + purgeAll("/dev/shm/nodecast-bench-stage"));
        must(sh(List.of(TB.resolve("slowfs/run").toString(), "unmount", pfs.toString())), "slowfs unmount");
        FileTrees.delete(install);
        emit.accept(new Emitted("footprint", "nodecast's own footprint on the shared file system: a bcast step of an empty bundle, "
                + "the install on testbed/slowfs (" + (rate == 0 ? "unlimited" : rate + " metadata ops/s") + ")", t,
                "Metadata ops: the slow file system's own count of everything but reads and writes, divided by the hosts (one rank each, "
                        + "Open MPI). It serves every lookup (kernel caches off), so a call on a path costs one operation per component "
                        + "below the mount point: more than on a parallel file system whose clients cache directory entries. File-system "
                        + "calls: strace's count of the calls that name a path on the install, for one process on n1."));
    }

    /** The distribution 'mvn package' made, if it did. */
    private static java.util.Optional<Path> distribution() throws IOException {
        Path target = Launcher.home().resolve("target");
        if (!Files.isDirectory(target)) return java.util.Optional.empty();
        try (var s = Files.list(target)) {
            return s.filter(p -> p.getFileName().toString().matches("nodecast-.*\\.tar\\.gz")).findFirst();
        }
    }

    static boolean distributionBuilt() throws IOException {
        return distribution().isPresent();
    }

    /** Data operations are counted by slowfs but not charged: what loads a metadata server is the rest. */
    private static final java.util.Set<String> DATA_OPS = java.util.Set.of("read", "write", "flush", "release", "releasedir", "fsync");

    /** Metadata operations the slow file system has served since it was mounted. */
    private static long ops(Path mount) {
        Launcher.Result r = sh(List.of(TB.resolve("slowfs/run").toString(), "stats", mount.toString(), "--json"));
        must(r, "slowfs stats");
        String json = r.out();
        int at = json.indexOf("\"ops\"");
        if (at < 0) throw new IllegalStateException("slowfs stats: no ops in " + json);
        long metadata = 0;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"(\\w+)\"\\s*:\\s*(\\d+)").matcher(json.substring(at + 5));
        while (m.find()) {
            if (!DATA_OPS.contains(m.group(1))) metadata += Long.parseLong(m.group(2));
        }
        return metadata;
    }
}
