package io.nodecast.bench;

import io.nodecast.core.FileTrees;
import io.nodecast.image.ImageStack;
import io.nodecast.testing.Launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Unpack mode against image mode for the Python tier 1, side by side in one run ({@code bench/run images}): the
 * bcast step's time (a cold JVM, one node), the node memory the delivered copy takes (what /dev/shm holds, the
 * page cache the mounts add while Python imports from them, and the FUSE daemons), and {@code import numpy, scipy}
 * from DEST for one rank (the first import after delivery and a warm one) and for N ranks at once.
 *
 * <p>Memory is read from a memory cgroup (v1) that holds the bcast step, the daemons it starts and the imports: what
 * they put in /dev/shm is its {@code shmem}, the page cache of files read through the mounts is the rest of its
 * {@code cache}, the daemons are its {@code rss}. The bundles are copied into /dev/shm first, outside the cgroup,
 * so reading them charges nothing to it.
 */
final class ImageBench {
    private static final Path CGROUPS = Path.of("/sys/fs/cgroup/memory");

    private final Bench.Emitter emit;
    private final boolean quick;
    private final int runs;
    private final Path work;

    ImageBench(Bench.Emitter emit, boolean quick, int runs, Path work) {
        this.emit = emit;
        this.quick = quick;
        this.runs = runs;
        this.work = work;
    }

    /** One way of delivering the tier 1. */
    private record Mode(String name, Path bundle, List<String> flags) {}

    /** What one round measured. */
    private record Round(double step, long shmem, long cache, long daemons, double firstImport, double warmImport, double manyImport) {}

    void run() throws IOException, InterruptedException {
        Path prefix = Path.of(ask("import sys; print(sys.base_prefix)"));
        Path tar = bundle(prefix, quick ? "quick-images.tar.zst" : "prefix-compile.tar.zst");
        Path image = bundle(prefix, quick ? "quick-images.sqfs" : "prefix-compile.sqfs");
        // the bundles in memory, read by bcast without adding page cache to what is measured
        Path src = Files.createDirectories(Path.of("/dev/shm/nodecast-bench-images-src"));
        Path dest = Path.of("/dev/shm/nodecast-bench-images");
        try {
            List<Mode> modes = new ArrayList<>();
            modes.add(new Mode("unpack (.tar.zst)", copy(tar, src), List.of()));
            modes.add(new Mode("image: squashfuse_ll + fuse-overlayfs", copy(image, src), List.of()));
            if (isRoot()) modes.add(new Mode("image: kernel squashfs + overlayfs (root)", src.resolve(image.getFileName()), List.of("--mode", "kernel")));
            int ranks = quick ? 4 : 24;
            boolean cgroups = isRoot() && Files.isWritable(CGROUPS);
            Table t = new Table("mode", "bundle MiB", "step s (median)", "in /dev/shm MiB", "mount page cache MiB", "FUSE daemons MiB",
                    "node memory MiB", "import, 1 rank, first s", "import, 1 rank, warm s", "import, " + ranks + " ranks at once s");
            Map<String, Map<String, Double>> bars = new LinkedHashMap<>();
            for (Mode m : modes) {
                List<Round> rounds = new ArrayList<>();
                for (int i = 0; i < runs; i++) rounds.add(round(m, dest, ranks, cgroups));
                Round r = median(rounds);
                long total = r.shmem() + r.cache() + r.daemons();
                t.row(m.name(), mib(Files.size(m.bundle())), r.step(), mib(r.shmem()), cgroups ? mib(r.cache()) : "-",
                        cgroups ? mib(r.daemons()) : "-", mib(total), r.firstImport(), r.warmImport(), r.manyImport());
                Map<String, Double> b = new LinkedHashMap<>();
                b.put("step, s", r.step());
                b.put("node memory, GiB", total / (double) (1L << 30));
                b.put("import x1 first, s", r.firstImport());
                b.put("import x1 warm, s", r.warmImport());
                b.put("import x" + ranks + ", s", r.manyImport());
                bars.put(m.name(), b);
            }
            String imports = quick ? "import json, email.message" : "import numpy, scipy, scipy.linalg";
            String what = quick ? "a small bundle (quick mode: json and email, imported with the system Python)" : "the Python tier 1";
            emit.emit("images", "Unpack mode against image mode: " + what, t,
                    "One node, DEST in /dev/shm, median of " + runs + " round(s); each round starts from an empty DEST. Step: the whole "
                            + "`nodecast bcast` (a cold JVM) of the one bundle. Node memory: what the delivered copy holds in /dev/shm "
                            + "(the unpacked tree, or the image file), plus the page cache the mounts add while Python imports through "
                            + "them and the FUSE daemons' memory" + (cgroups ? ", read from a memory cgroup holding the step, its daemons and "
                            + "the imports" : " (no memory cgroup here: /dev/shm only)") + ". Imports: `" + imports + "` from DEST with the "
                            + "environment of `nodecast env`; first is the first import after delivery, warm the median of three after it; "
                            + ranks + " ranks start at once on this machine's cores.");
            Plot.groupedBars(emit.out().resolve("images.png"), "Unpack mode against image mode (lower is better)", "seconds or GiB", bars);
        } finally {
            Launcher.run(Map.of(), "purge", "-p", dest.toString());
            FileTrees.deleteQuietly(src);
        }
    }

    private Round round(Mode m, Path dest, int ranks, boolean cgroups) throws IOException, InterruptedException {
        Launcher.run(Map.of(), "purge", "-p", dest.toString());
        Path cg = CGROUPS.resolve("nodecast-bench-images-" + ProcessHandle.current().pid());
        if (cgroups) Files.createDirectories(cg);
        try {
            List<String> bcast = new ArrayList<>(List.of(Launcher.nodecast().toString(), "bcast", "-p", dest.toString()));
            bcast.addAll(m.flags());
            bcast.add(m.bundle().toString());
            Run step = Run.of(inCgroup(cgroups ? cg : null, bcast), Map.of());
            Map<String, String> env = importEnv(dest);
            double first = timeImports(1, cgroups ? cg : null, env, dest);
            List<Double> warm = new ArrayList<>();
            for (int i = 0; i < 3; i++) warm.add(timeImports(1, cgroups ? cg : null, env, dest));
            warm.sort(Double::compare);
            double many = timeImports(ranks, cgroups ? cg : null, env, dest);
            long shmem;
            long cache = 0;
            long daemons = 0;
            if (cgroups) {
                Map<String, Long> stat = memoryStat(cg);
                shmem = stat.getOrDefault("shmem", 0L);
                cache = stat.getOrDefault("cache", 0L) - shmem;
                daemons = stat.getOrDefault("rss", 0L);
            } else {
                shmem = du(dest) + du(ImageStack.storeOf(dest));
            }
            return new Round(step.seconds(), shmem, cache, daemons, first, warm.get(1), many);
        } finally {
            Launcher.run(Map.of(), "purge", "-p", dest.toString());
            if (cgroups) removeCgroup(cg);
        }
    }

    /** The command, started inside the cgroup (when there is one): its children, FUSE daemons included, stay there. */
    private static List<String> inCgroup(Path cg, List<String> cmd) {
        if (cg == null) return cmd;
        List<String> out = new ArrayList<>(List.of("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", cg.toString()));
        out.addAll(cmd);
        return out;
    }

    /** {@code ranks} Pythons importing numpy and scipy at once; the wall time until the last one is done. */
    private double timeImports(int ranks, Path cg, Map<String, String> env, Path dest) throws IOException, InterruptedException {
        String code = quick ? "import json, email.message" : "import numpy, scipy, scipy.linalg";
        String python = quick ? "python3" : dest.resolve("bin/python3").toString();
        List<Process> ps = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < ranks; i++) {
            ProcessBuilder pb = new ProcessBuilder(inCgroup(cg, List.of(python, "-c", code))).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().remove("PYTHONPATH");
            pb.environment().putAll(env);
            ps.add(pb.start());
        }
        for (Process p : ps) {
            if (p.waitFor() != 0) throw new IllegalStateException(python + " -c '" + code + "' failed from " + dest);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private Map<String, String> importEnv(Path dest) {
        Map<String, String> env = new HashMap<>();
        if (quick) {
            env.put("PYTHONPATH", dest.resolve("lib/python3.11").toString());
            env.put("PYTHONDONTWRITEBYTECODE", "1");
            return env;
        }
        env.put("PYTHONHOME", dest.toString());
        env.put("PYTHONUSERBASE", dest.toString());
        env.put("PATH", dest.resolve("bin") + ":/usr/bin:/bin");
        env.put("LD_LIBRARY_PATH", dest.resolve("lib").toString());
        return env;
    }

    private Path bundle(Path prefix, String name) {
        Path b = work.resolve(name);
        if (Files.exists(b)) return b;
        List<String> args = quick
                ? List.of("bundle", "dir", prefix.toString(), "lib/python3.11/json", "lib/python3.11/email", "--pyc", "compile", "-q", "-o", b.toString())
                : List.of("bundle", "prefix", prefix.toString(), "--pyc", "compile", "-q", "-o", b.toString());
        Launcher.Result r = Launcher.run(Map.of(), args.toArray(String[]::new));
        if (r.exit() != 0) throw new IllegalStateException("bundling failed: " + r.err());
        return b;
    }

    private static Path copy(Path bundle, Path dir) throws IOException {
        Path to = dir.resolve(bundle.getFileName());
        Files.copy(bundle, to, StandardCopyOption.REPLACE_EXISTING);
        Path side = bundle.resolveSibling(bundle.getFileName() + ".sha256");
        if (Files.exists(side)) Files.copy(side, dir.resolve(side.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        return to;
    }

    private static Round median(List<Round> rounds) {
        List<Round> sorted = new ArrayList<>(rounds);
        sorted.sort((a, b) -> Double.compare(a.step(), b.step()));
        return sorted.get(sorted.size() / 2);
    }

    private static Map<String, Long> memoryStat(Path cg) throws IOException {
        Map<String, Long> out = new HashMap<>();
        for (String line : Files.readAllLines(cg.resolve("memory.stat"))) {
            String[] f = line.split(" ");
            if (f.length == 2) out.put(f[0], Long.parseLong(f[1]));
        }
        return out;
    }

    /** Empty once the purge ended the daemons (a moment later): then it can go. */
    private static void removeCgroup(Path cg) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            try {
                if (Files.readString(cg.resolve("cgroup.procs")).isBlank()) {
                    Files.delete(cg);
                    return;
                }
            } catch (IOException e) {
                return;
            }
            Thread.sleep(100);
        }
    }

    private static long du(Path dir) {
        Launcher.Result r = Launcher.exec(List.of("du", "-sxb", dir.toString()), Map.of());
        try {
            return r.exit() == 0 ? Long.parseLong(r.out().split("\\s+")[0]) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static String ask(String code) {
        Launcher.Result r = Launcher.exec(List.of("python3", "-c", code), Map.of());
        if (r.exit() != 0) throw new IllegalStateException("python3: " + r.err());
        return r.out().strip();
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }
}
