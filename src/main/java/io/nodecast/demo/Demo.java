package io.nodecast.demo;

import io.nodecast.bundle.BundleSummary;
import io.nodecast.bundle.Bundles;
import io.nodecast.bundle.Excludes;
import io.nodecast.bundle.PycMode;
import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.NodecastException;
import io.nodecast.core.Units;
import io.nodecast.delivery.BundleRef;
import io.nodecast.delivery.Delivery;
import io.nodecast.delivery.DeliveryReport;
import io.nodecast.env.Language;
import io.nodecast.trace.Trace;
import io.nodecast.trace.TraceReport;
import io.nodecast.transport.LocalTransport;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The main job on one machine: bundle this machine's Python, deliver it to node-local storage, and show side by
 * side what a start from the shared copy and from the local copy cost.
 */
public final class Demo {

    /** What to run the demo with; progress is shown while bundling. */
    public record Options(String python, Path work, String destination, int runs, PrintWriter out, Progress progress) {}

    /** A progress display for a long step, provided by whoever prints. */
    public interface Progress {
        void start(String task, long total);

        void step(long done);

        void end();
    }

    /** One way of starting the app: its environment, and what it cost. */
    public record Start(String name, long calls, long underPrefix, long failed, double medianSeconds, String numpyFrom) {}

    public record Result(Path prefix, BundleSummary bundle, DeliveryReport delivery, Start shared, Start local) {}

    private final Options o;

    public Demo(Options options) {
        this.o = options;
    }

    public Result run() {
        PrintWriter out = o.out();
        Interpreter py = Interpreter.probe(o.python());
        out.printf("1. This machine's Python: %s (prefix %s)%s%n", py.executable(), py.prefix(),
                py.hasScipy() ? ", with numpy and scipy" : ", without numpy/scipy: the app imports the standard library only");
        Path work = o.work();
        Path dest = Path.of(o.destination());
        try {
            Files.createDirectories(work);
            Path bundle = work.resolve("tier1.tar.zst");
            out.printf("2. Bundling the prefix (tier 1) into %s ...%n", bundle);
            out.flush();
            o.progress().start("bundling", treeBytes(py.prefix()));
            BundleSummary summary;
            try {
                summary = Bundles.prefix(py.prefix(), Excludes.of(true, List.of()), PycMode.COMPILE, Optional.of(py.executable()),
                        new Bundles.Output(bundle, 0, Runtime.getRuntime().availableProcessors(), o.progress()::step));
            } finally {
                o.progress().end();
            }
            out.println("   " + summary.line());

            Path app = writeApp(work.resolve("app"), py.hasScipy());
            out.printf("3. Delivering it and the app (tier 3, mirrored) to %s ...%n", dest);
            out.flush();
            DeliveryReport report;
            try (LocalTransport t = new LocalTransport(8 << 20)) {
                report = new Delivery(t, new Delivery.Options(dest.toString(), 8 << 20, null, n -> { }))
                        .deliver(() -> List.of(new BundleRef.File(bundle), new BundleRef.Tree(app, List.of(Path.of("bin")), 50L << 20)), 0);
            }
            if (!report.ok()) {
                throw new NodecastException(report.failures().getFirst().code(), report.failures().getFirst().toString());
            }
            out.printf("   %s in %.2f s (%s unpacked)%n", Units.bytes(report.bundles().getFirst().bytes()), report.totalSeconds(),
                    Units.bytes(report.bundles().getFirst().unpackedBytes()));

            out.println("4. Starting the app both ways (file-system calls counted with strace; wall time: median of " + o.runs() + " runs) ...");
            out.flush();
            Map<String, String> sharedEnv = new LinkedHashMap<>(System.getenv());
            sharedEnv.put("PYTHONPATH", fakeModulePath(work, 10));
            Start shared = measure("from the shared prefix", List.of(py.executable().toString(), app.resolve("bin/main.py").toString()),
                    sharedEnv, py.prefix());
            Map<String, String> localEnv = new Language.Python().apply(dest, System.getenv());
            Start local = measure("from the local copy", List.of(dest.resolve("bin/python3").toString(), dest.resolve("bin/main.py").toString()),
                    localEnv, py.prefix());
            Result r = new Result(py.prefix(), summary, report, shared, local);
            out.print(table(r));
            return r;
        } catch (IOException e) {
            throw new NodecastException(ExitCode.FAILURE, "demo: " + e.getMessage(), e);
        } finally {
            FileTrees.deleteQuietly(dest);
            FileTrees.deleteQuietly(work);
        }
    }

    private Start measure(String name, List<String> cmd, Map<String, String> env, Path prefix) throws IOException {
        TraceReport t = Trace.run(cmd, env, List.of(prefix), ProcessBuilder.Redirect.DISCARD);
        if (t.exitCode() != 0) throw new NodecastException(ExitCode.TOOL, "demo: the app failed when started " + name);
        List<Double> times = new ArrayList<>();
        String printed = "";
        for (int i = 0; i < o.runs(); i++) {
            long t0 = System.nanoTime();
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().putAll(env);
            Process p = pb.start();
            printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NodecastException(ExitCode.FAILURE, "interrupted", e);
            }
            times.add((System.nanoTime() - t0) / 1e9);
        }
        times.sort(Double::compare);
        return new Start(name, t.calls(), t.underShared().values().iterator().next(), t.failed(), times.get(times.size() / 2), printed);
    }

    static String table(Result r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%n%-34s %22s %22s%n", "", r.shared().name(), r.local().name()));
        row(b, "file-system calls", r.shared().calls(), r.local().calls());
        row(b, "  of them under " + shorten(r.prefix().toString(), 18), r.shared().underPrefix(), r.local().underPrefix());
        row(b, "  failed lookups (ENOENT...)", r.shared().failed(), r.local().failed());
        b.append(String.format(Locale.ROOT, "%-34s %20.3f s %20.3f s%n", "wall time to import", r.shared().medianSeconds(), r.local().medianSeconds()));
        b.append(String.format(Locale.ROOT, "%nthe app's first import was loaded from%n  %-22s %s%n  %-22s %s%n",
                r.shared().name() + ":", r.shared().numpyFrom(), r.local().name() + ":", r.local().numpyFrom()));
        b.append(String.format(Locale.ROOT, "%nOn a cluster every rank of every node makes the left column's calls to the shared file system;%n"
                + "after nodecast, %d of them reach it, and the bcast step (%.2f s here) reads each bundle once.%n",
                r.local().underPrefix(), r.delivery().totalSeconds()));
        return b.toString();
    }

    private static void row(StringBuilder b, String label, long a, long c) {
        b.append(String.format(Locale.ROOT, "%-34s %22d %22d%n", label, a, c));
    }

    private static String shorten(String s, int n) {
        return s.length() <= n ? s : "..." + s.substring(s.length() - n + 3);
    }

    /** Ten empty directories on PYTHONPATH, as a site with a module per package would have (the paper's Figure 1). */
    private static String fakeModulePath(Path work, int n) throws IOException {
        List<String> dirs = new ArrayList<>();
        for (int i = 0; i < n; i++) dirs.add(Files.createDirectories(work.resolve("modules/pkg" + i + "/lib/python/site-packages")).toString());
        return String.join(":", dirs);
    }

    private static long treeBytes(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static Path writeApp(Path app, boolean scipy) throws IOException {
        Files.createDirectories(app.resolve("bin"));
        String imports = scipy ? "import numpy, scipy, scipy.linalg, scipy.sparse\nwhere = numpy.__file__\n"
                : "import json, decimal, email.parser, http.client\nwhere = json.__file__\n";
        Files.writeString(app.resolve("bin/main.py"), "# the demo's application: imports what a real one does\n"
                + imports + "print(where)\n", StandardCharsets.UTF_8);
        return app;
    }
}
