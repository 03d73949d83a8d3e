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
 * shaped links, by nodecast's pipelined broadcast and by MPI_Ibcast; delivery and fixed cost against 1 to 8 hosts;
 * a bundle that some hosts already have; the bcast step's fixed cost across hosts; and start-up at scale against a
 * shared file system with a metadata-rate cap (testbed/slowfs). Brings the bed up if it is down (with as many hosts
 * as the benchmarks need) and takes it down again after.
 */
final class ClusterBench {
    private static final Path TB = Testbed.DIR;
    private static final Path SHARED = Testbed.SHARED;
    /** The broadcasts compared side by side: nodecast's choice (a pipelined chain or tree) and the library's. */
    static final List<String> ALGORITHMS = List.of("auto", "ibcast");

    /** The bed's compute hosts, once it is up. */
    private List<String> compute = Testbed.COMPUTE;

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

    /**
     * Runs body on the bed, which is brought up first if needed (with at least {@code hosts} compute hosts) and left
     * as found.
     */
    void onBed(int hosts, Body body) throws IOException {
        boolean wasUp = Files.exists(Testbed.STATE.resolve("compute"));
        Map<String, String> env = Map.of("NODECAST_TESTBED_NODES", String.valueOf(Math.max(hosts, Testbed.COMPUTE.size())));
        if (wasUp && Testbed.computeHosts(env).size() < hosts) {
            throw new IllegalStateException("these benchmarks need " + hosts + " compute hosts and the test bed is up with "
                    + Testbed.computeHosts(env).size() + ": take it down (testbed/down), they bring it up with " + hosts);
        }
        Launcher.Result up = Launcher.exec(List.of(TB.resolve("up").toString()), env);
        if (up.exit() != 0) throw new IllegalStateException("testbed/up: " + up.err());
        compute = Testbed.computeHosts(env);
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

    private String hosts(int count, int perHost) {
        List<String> h = new ArrayList<>();
        for (String c : compute.subList(0, count)) h.add(c + ":" + perHost);
        return String.join(",", h);
    }

    private String openmpi(int count, int perHost) {
        return q(TB.resolve("mpirun-openmpi")) + " -np " + count * perHost + " --host " + hosts(count, perHost);
    }

    private String purgeAll(String dest) {
        StringBuilder s = new StringBuilder();
        for (String h : compute) s.append(q(TB.resolve("run"))).append(' ').append(h).append(" rm -rf ").append(q(dest)).append("; ");
        return s.toString();
    }

    /** A path in a shell command, quoted: the checkout may be anywhere, a space in its path included. */
    private static String q(Object path) {
        return Shell.quote(path.toString());
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.0f%%", share * 100);
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

    /**
     * One bcast on the head: the step's wall time, the report rank 0 wrote, the largest leader's peak memory and the
     * CPU time (user and system) of the bcast processes of all hosts together.
     */
    record Bcast(double stepSeconds, double deliverySeconds, double initSeconds, String how, long peakKiB, double cpuSeconds) {
        /** The share of this machine's cores the hosts' nodecast processes kept busy over the step. */
        double coresBusy() {
            return cpuSeconds / (stepSeconds * Runtime.getRuntime().availableProcessors());
        }
    }

    private static final Path REPORT = SHARED.resolve("bench/report.json");

    /** A bcast of {@code bundle} to the first {@code count} hosts, median of {@code n} runs by step time. */
    private Bcast bcast(int count, String algorithm, Path bundle, String dest, String before, int n) {
        return bcast(count, algorithm, List.of(bundle), 0, dest, before, n);
    }

    /**
     * A bcast of {@code bundles} in one step to the first {@code count} hosts, median of {@code n} runs by step time;
     * the delivery is that of bundle {@code measured} (a later one finds every JVM warm).
     */
    private Bcast bcast(int count, String algorithm, List<Path> bundles, int measured, String dest, String before, int n) {
        List<Bcast> all = new ArrayList<>();
        String peakFile = "/dev/shm/nodecast-bench-peak";
        for (int i = 0; i < n; i++) {
            if (!before.isEmpty()) must(on("head", before), "clean-up");
            String script = openmpi(count, 1) + " /usr/bin/time -f '%M %U %S' -o " + peakFile + " " + q(Launcher.nodecast()) + " bcast --bcast-algorithm "
                    + algorithm + " --report " + q(REPORT) + " -p " + q(dest) + " "
                    + String.join(" ", bundles.stream().map(ClusterBench::q).toList());
            long t0 = System.nanoTime();
            must(on("head", script), script);
            double step = (System.nanoTime() - t0) / 1e9;
            String json;
            try {
                json = Files.readString(REPORT);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            long peak = 0;
            double cpu = 0;
            for (String h : compute.subList(0, count)) {
                // GNU time's last line: "peak-KiB user-s system-s" (a line before it if the command failed)
                String[] f = on(h, "tail -n 1 " + peakFile + " 2>/dev/null || echo 0 0 0").out().strip().split("\\s+");
                if (f.length < 3) continue;
                peak = Math.max(peak, Long.parseLong(f[0]));
                cpu += Double.parseDouble(f[1]) + Double.parseDouble(f[2]);
            }
            all.add(new Bcast(step, number(json, "bundles." + measured + ".total_seconds"), number(json, "init_seconds"), text(json, "how"), peak, cpu));
        }
        all.sort(java.util.Comparator.comparingDouble(Bcast::stepSeconds));
        return all.get(all.size() / 2);
    }

    /** A number from the report: bundle i's field ({@code bundles.1.total_seconds}), or a top-level field. */
    private static double number(String json, String key) {
        java.util.regex.Matcher b = java.util.regex.Pattern.compile("bundles\\.(\\d+)\\.(.+)").matcher(key);
        String field = b.matches() ? b.group(2) : key;
        int from = 0;
        if (b.matches()) {
            from = json.indexOf("\"bundles\"");
            for (int i = 0; i <= Integer.parseInt(b.group(1)) && from >= 0; i++) from = json.indexOf("{\"bundle\"", from + 1);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field + "\": ([0-9.]+)").matcher(json);
        if (from < 0 || !m.find(from)) throw new IllegalStateException("no " + key + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    private static String text(String json, String field) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field + "\": \"([^\"]*)\"").matcher(json);
        return m.find() ? m.group(1) : "?";
    }

    private void shape(String how) {
        must(sh(List.of(TB.resolve("shape").toString(), "--off")), "shape --off");
        if (how.isEmpty()) return;
        List<String> cmd = new ArrayList<>(List.of(TB.resolve("shape").toString()));
        cmd.addAll(List.of(how.split(" ")));
        must(sh(cmd), "testbed/shape " + how);
    }

    private static String label(String algorithm) {
        return algorithm.equals("auto") ? "pipelined (nodecast)" : "MPI_Ibcast";
    }

    void delivery() throws IOException {
        Path bundle = sharedBundle();
        String dest = "/dev/shm/nodecast-bench";
        String clean = purgeAll(dest);
        long unpacked = 0;
        Table t = new Table("broadcast", "links", "hosts", "seconds (median)", "MB/s per host", "leader peak MiB", "vs GNU tar",
                "vs 2 hosts");
        Map<String, double[][]> series = new LinkedHashMap<>();
        int n = quick ? 1 : runs;
        double tar = timed(q(TB.resolve("run")) + " n1 sh -c " + q("mkdir -p " + q(dest) + " && tar --zstd -xf " + q(bundle) + " -C " + q(dest)), clean, n);
        must(on("n1", "du -sb --exclude=.nodecast " + q(dest) + " | cut -f1 > /dev/shm/nodecast-bench-size"), "du");
        unpacked = Long.parseLong(on("n1", "cat /dev/shm/nodecast-bench-size").out().strip());
        t.row("GNU tar --zstd -xf, on n1", "-", 1, f2(tar), String.format(Locale.ROOT, "%.0f", unpacked / 1e6 / tar), "-", "1.00", "-");
        List<String[]> shapes = quick ? List.<String[]>of(new String[] {"unshaped", ""})
                : List.of(new String[] {"unshaped", ""}, new String[] {"1 Gbit/s", "--rate 1gbit"},
                        new String[] {"1 Gbit/s + 5 ms", "--rate 1gbit --delay-ms 5"}, new String[] {"100 Mbit/s", "--rate 100mbit"});
        for (String[] link : shapes) {
            shape(link[1]);
            for (String alg : ALGORITHMS) {
                List<double[]> pts = new ArrayList<>();
                double two = 0;
                for (int count : quick ? List.of(1, 3) : List.of(1, 2, 3)) {
                    Bcast b = bcast(count, alg, bundle, dest, clean, link[1].contains("100mbit") ? 1 : n);
                    if (count == 2) two = b.stepSeconds();
                    t.row(label(alg), link[0], count, f2(b.stepSeconds()), String.format(Locale.ROOT, "%.0f", unpacked / 1e6 / b.stepSeconds()),
                            b.peakKiB() / 1024, f2(b.stepSeconds() / tar), two > 0 ? f2(b.stepSeconds() / two) : "-");
                    pts.add(new double[] {count, b.stepSeconds()});
                }
                series.put(label(alg) + ", " + link[0], pts.toArray(double[][]::new));
            }
        }
        shape("");
        on("head", clean + " rm -f /dev/shm/nodecast-bench-size");
        emit.accept(new Emitted("cluster-delivery", "Delivery to the test bed's hosts (" + (unpacked >> 20) + " MiB unpacked), "
                + "nodecast's pipelined broadcast and MPI_Ibcast, against GNU tar on one host", t,
                "The whole `mpirun ... nodecast bcast` step, `--bcast-algorithm auto` (a pipelined chain here) or `ibcast`. The bundle is on "
                        + "the shared directory (page cache warm); each host unpacks into its own /dev/shm. All hosts share this "
                        + "machine's 2 cores, so unpacking on 3 hosts takes 3 times the CPU of one; on a cluster each node has its own. "
                        + "Links shaped with testbed/shape (tbf; the delay held by netdelay). Leader peak MiB: GNU time's %M of the "
                        + "largest leader JVM. At 100 Mbit/s one run per point."));
        Plot.lines(out.resolve("cluster-delivery.png"), "Delivery time against hosts, by broadcast and link", "hosts", "seconds", series);
    }

    // ---------------------------------------------------------------- flat as hosts are added

    /**
     * The synthetic bundle of the scaling runs: {@code mb} files of 1 MB of random bytes, so unpacking costs the 2 cores
     * little (blob50.tar; blob10.tar warms the JVMs up).
     */
    private Path blobBundle(int mbs) throws IOException {
        Path b = Files.createDirectories(SHARED.resolve("bench")).resolve("blob" + mbs + ".tar");
        if (Files.exists(b)) return b;
        Path dir = Files.createDirectories(SHARED.resolve("bench/blob" + mbs));
        java.util.Random r = new java.util.Random(mbs);
        byte[] mb = new byte[1_000_000];
        for (int i = 0; i < mbs; i++) {
            r.nextBytes(mb);
            Files.write(dir.resolve(String.format("f%02d.bin", i)), mb);
        }
        must(sh(List.of("tar", "-cf", b.toString(), "-C", dir.toString(), ".")), "tar");
        return b;
    }

    /** Hosts the scaling benchmark needs on the bed. */
    static final int SCALING_HOSTS = 8;

    /**
     * Delivery time and fixed cost against 1 to 8 hosts at 100 Mbit/s, both broadcasts: the figures the scale model is
     * fitted to (cluster-scaling.csv, read by {@code bench/run model}).
     */
    void scaling() throws IOException {
        Path bundle = quick ? sharedBundle() : blobBundle(50);
        Path warmUp = quick ? sharedBundle() : blobBundle(10);
        Path empty = SHARED.resolve("bench/empty.tar");
        Files.write(empty, new byte[10240]);
        String dest = "/dev/shm/nodecast-bench-scaling";
        String clean = purgeAll(dest);
        String rate = quick ? "" : "--rate 100mbit";
        shape(rate);
        List<Integer> counts = quick ? List.of(1, 2) : java.util.stream.IntStream.rangeClosed(1, SCALING_HOSTS).boxed().toList();
        Table t = new Table("hosts", "pipelined: delivery s", "MPI_Ibcast: delivery s", "pipelined: step s", "MPI_Ibcast: step s",
                "fixed cost s (empty bundle)", "pipelined delivery vs 2 hosts", "pipelined, JVMs warm: delivery s", "JVMs warm vs 2 hosts",
                "cores busy (pipelined step)", "cores busy (empty bundle)", "pipelined broadcast");
        StringBuilder csv = new StringBuilder("hosts,algorithm,bundle_bytes,delivery_seconds,step_seconds,init_seconds,fixed_seconds,how,cpu_seconds,warm_delivery_seconds\n");
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (String alg : ALGORITHMS) series.put(label(alg) + ": delivery", new ArrayList<>());
        series.put("pipelined, JVMs warm: delivery", new ArrayList<>());
        series.put("fixed cost (empty bundle)", new ArrayList<>());
        long size = Files.size(bundle);
        double two = 0, twoWarm = 0;
        for (int count : counts) {
            Map<String, Bcast> by = new LinkedHashMap<>();
            for (String alg : ALGORITHMS) by.put(alg, bcast(count, alg, bundle, dest, clean, quick ? 1 : runs));
            Bcast fixed = bcast(count, "auto", empty, dest, clean, quick ? 1 : runs);
            // the same bundle after a smaller one in the same step: every JVM has started, compiled and run a stream
            Bcast warm = bcast(count, "auto", List.of(warmUp, bundle), 1, dest, clean, quick ? 1 : runs);
            Bcast p = by.get("auto"), ib = by.get("ibcast");
            if (count == 2) {
                two = p.deliverySeconds();
                twoWarm = warm.deliverySeconds();
            }
            t.row(count, f2(p.deliverySeconds()), f2(ib.deliverySeconds()), f2(p.stepSeconds()), f2(ib.stepSeconds()),
                    f2(fixed.stepSeconds()), two > 0 ? f2(p.deliverySeconds() / two) : "-", f2(warm.deliverySeconds()),
                    twoWarm > 0 ? f2(warm.deliverySeconds() / twoWarm) : "-", percent(p.coresBusy()), percent(fixed.coresBusy()), p.how());
            for (String alg : ALGORITHMS) {
                Bcast b = by.get(alg);
                series.get(label(alg) + ": delivery").add(new double[] {count, b.deliverySeconds()});
                csv.append(String.format(Locale.ROOT, "%d,%s,%d,%.4f,%.4f,%.4f,%.4f,%s,%.2f,%.4f%n", count, alg, size, b.deliverySeconds(),
                        b.stepSeconds(), b.initSeconds(), fixed.stepSeconds(), b.how().replace(',', ';'), b.cpuSeconds(),
                        alg.equals("auto") ? warm.deliverySeconds() : Double.NaN));
            }
            series.get("pipelined, JVMs warm: delivery").add(new double[] {count, warm.deliverySeconds()});
            series.get("fixed cost (empty bundle)").add(new double[] {count, fixed.stepSeconds()});
        }
        shape("");
        on("head", clean);
        Files.writeString(out.resolve("cluster-scaling.csv"), csv);
        Map<String, double[][]> plot = new LinkedHashMap<>();
        series.forEach((k, v) -> plot.put(k, v.toArray(double[][]::new)));
        emit.accept(new Emitted("cluster-scaling", "Delivery and fixed cost against hosts" + (quick ? " (quick mode)"
                : ", 50 MB bundle, links at 100 Mbit/s"), t,
                "Delivery: the bundle's time in rank 0's report (from the first leader's start of the round to the last leader's "
                        + "end of unpacking, the slowest node); step: the whole `mpirun ... nodecast bcast` command; fixed cost: "
                        + "the same step with an empty bundle. The bundle: 50 files of 1 MB of random bytes in a .tar, so unpacking "
                        + "costs the 2 shared cores little and the link is what is measured. Median of " + (quick ? 1 : runs)
                        + " runs. Cores busy: the CPU time (user and system) of every host's nodecast process over the step's wall "
                        + "time and this machine's " + Runtime.getRuntime().availableProcessors() + " cores; near 100% the hosts "
                        + "wait for cores, not for the links. JVMs warm: the same bundle's delivery when it follows a 10 MB one "
                        + "in the same step, so no host's JVM is still starting, loading classes and compiling while it flows (on "
                        + "the bed every host's JVM shares the same cores; on a cluster each node has its own). The raw figures: "
                        + "cluster-scaling.csv."));
        Plot.lines(out.resolve("cluster-scaling.png"), "Delivery against hosts (50 MB, 100 Mbit/s links)", "hosts", "seconds", plot);
    }

    // ---------------------------------------------------------------- nothing sent twice

    /** Bytes each host's eth0 has received so far. */
    private long received(String host) {
        return Long.parseLong(on(host, "cat /sys/class/net/eth0/statistics/rx_bytes").out().strip());
    }

    /**
     * The Python bundle to 3 hosts of which 2 already have it, against the same to 1 host and to 3 fresh hosts, with the
     * bytes each host received.
     */
    void skip() throws IOException {
        Path bundle = sharedBundle();
        String dest = "/dev/shm/nodecast-bench-skip";
        String clean = purgeAll(dest);
        shape(quick ? "" : "--rate 100mbit");
        Table t = new Table("case", "step s", "delivery s", "MB received by n1", "n2", "n3", "skipped");
        Map<String, Double> bars = new LinkedHashMap<>();
        String[][] cases = {{"to n1, nothing there before", "1", ""}, {"to n1..n3, nothing there before", "3", ""},
                {"to n1..n3, n1 and n2 have it", "3", "2"}};
        for (String[] c : cases) {
            List<Double> steps = new ArrayList<>();
            long[] rx = new long[3];
            Bcast last = null;
            for (int i = 0; i < (quick ? 1 : runs); i++) {
                must(on("head", clean), "clean-up");
                if (!c[2].isEmpty()) bcast(Integer.parseInt(c[2]), "auto", bundle, dest, "", 1);
                long[] before = {received(compute.get(0)), received(compute.get(1)), received(compute.get(2))};
                last = bcast(Integer.parseInt(c[1]), "auto", bundle, dest, "", 1);
                steps.add(last.stepSeconds());
                for (int h = 0; h < 3; h++) rx[h] = received(compute.get(h)) - before[h];
            }
            steps.sort(Double::compare);
            double step = steps.get(steps.size() / 2);
            String json = Files.readString(REPORT);
            t.row(c[0], f2(step), f2(last.deliverySeconds()), f1(rx[0] / 1e6), f1(rx[1] / 1e6), f1(rx[2] / 1e6),
                    (int) number(json, "skipped_nodes") + " of " + c[1]);
            bars.put(c[0], step);
        }
        shape("");
        on("head", clean);
        emit.accept(new Emitted("cluster-skip", "Nothing sent twice: the Python bundle to hosts that already have it" + (quick ? " (quick mode)" : ", 100 Mbit/s"),
                t, "The whole `mpirun ... nodecast bcast` step (median of " + (quick ? 1 : runs) + "), and the bytes each host's eth0 received "
                        + "during it (the launcher's and MPI's own traffic included). The hosts that have the bundle take no part in its "
                        + "stream: rank 0 sends only to the others."));
        Plot.bars(out.resolve("cluster-skip.png"), "bcast step, seconds", "seconds", bars);
    }

    private static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
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

    /** Start-up at scale runs over three hosts, whatever the bed has. */
    private static final int STARTUP_HOSTS = 3;

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
            int perHost = ranks / STARTUP_HOSTS;
            String run = openmpi(STARTUP_HOSTS, perHost);
            long ops0 = ops(pfs);
            double d = timed(run + " " + q(pfs.resolve(prefixDir + "/bin/python3")) + " -c " + q(code), "", 1);
            long ops1 = ops(pfs);
            String job = openmpi(STARTUP_HOSTS, 1) + " " + q(Launcher.nodecast()) + " bcast -p " + q(dest) + " " + q(pfs.resolve("tier1.tar.zst"))
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
        Path backing = SHARED.resolve("bench/pfs-backing");
        Path pfs = SHARED.resolve("pfs");
        Files.createDirectories(pfs);
        Path install = backing.resolve("apps");
        String dist = install(install).orElseThrow(
                () -> new IllegalStateException("no target/nodecast-VERSION.tar.gz newer than target/classes: run 'mvn package' first (bench/run does)"))
                .getFileName().toString();
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
            must(on("head", clean + openmpi(compute.size(), 1) + " " + kind[1] + q(launcher) + " bcast -p " + q(dest) + " " + q(empty)), "warm-up");
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

    /**
     * The distribution 'mvn package' made, if it did and nothing was compiled after it: in a working tree, the quick
     * benchmarks of 'mvn verify' run before its package phase, and a distribution older than the classes measures old code.
     */
    private static java.util.Optional<Path> distribution() throws IOException {
        Path target = Launcher.home().resolve("target");
        if (!Files.isDirectory(target)) return java.util.Optional.empty();
        java.util.Optional<Path> tarball;
        try (var s = Files.list(target)) {
            tarball = s.filter(p -> p.getFileName().toString().matches("nodecast-.*\\.tar\\.gz")).findFirst();
        }
        if (tarball.isEmpty() || !Files.isDirectory(target.resolve("classes"))) return tarball;
        java.nio.file.attribute.FileTime made = Files.getLastModifiedTime(tarball.get());
        // class files only: every Maven run copies the filtered resources again (version.properties)
        try (var newer = Files.find(target.resolve("classes"), Integer.MAX_VALUE,
                (c, a) -> c.getFileName().toString().endsWith(".class") && a.lastModifiedTime().compareTo(made) > 0)) {
            return newer.findAny().isPresent() ? java.util.Optional.empty() : tarball;
        }
    }

    /** The distribution unpacked into {@code into}, emptied first, as a centre installs it; its folder there, if one is built. */
    static java.util.Optional<Path> install(Path into) throws IOException {
        java.util.Optional<Path> tarball = distribution();
        if (tarball.isEmpty()) return java.util.Optional.empty();
        FileTrees.delete(into);
        Files.createDirectories(into);
        must(sh(List.of("tar", "-xzf", tarball.get().toString(), "-C", into.toString())), "tar");
        try (var s = Files.list(into)) {
            return s.findFirst();
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
