package io.nodecast.bench;

import io.nodecast.core.FileTrees;
import io.nodecast.testing.Launcher;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One node's unpacking against GNU tar, as a job sees it: a new JVM per run (cold), paired rounds (every method once
 * per round, in the same order, so the machine's drift hits all alike), medians of wall and CPU time. Also the
 * writer-thread curve, the MPI launch on one node, and a JFR profile of where nodecast's time goes.
 */
final class UnpackBench {
    /** A method: how it is called, and which baseline it is compared with. */
    record Method(String name, String bundle, List<String> cmd, String baseline) {}

    /** @param walls each round's wall time, in round order: a ratio per round shows how far the run's noise goes */
    record Result(Method method, double wall, double cpu, long peakKiB, List<Double> walls) {
        /** The lowest and highest of this method's per-round wall time over its baseline's in the same round. */
        String roundRatios(Result base) {
            double lo = Double.MAX_VALUE, hi = 0;
            for (int i = 0; i < Math.min(walls.size(), base.walls.size()); i++) {
                double q = walls.get(i) / base.walls.get(i);
                lo = Math.min(lo, q);
                hi = Math.max(hi, q);
            }
            return hi == 0 ? "-" : String.format(Locale.ROOT, "%.2f–%.2f", lo, hi);
        }
    }

    private final Bench.Emitter emit;
    private final int rounds;

    UnpackBench(Bench.Emitter emit, int rounds) {
        this.emit = emit;
        this.rounds = rounds;
    }

    /**
     * Paired rounds after one round that is not counted; the destination is removed before every run. In a source
     * checkout the first start after a build makes the launcher's AOT cache, a training delivery (`nodecast --version`
     * took 5.96 s, then 0.47 s): that start is not what a job's step costs.
     */
    static List<Result> paired(List<Method> methods, int rounds, Path dest) {
        for (Method m : methods) {
            FileTrees.deleteQuietly(dest);
            Run.of(m.cmd(), Map.of());
        }
        Map<Method, List<Run>> runs = new LinkedHashMap<>();
        for (Method m : methods) runs.put(m, new ArrayList<>());
        for (int r = 0; r < rounds; r++) {
            for (Method m : methods) {
                FileTrees.deleteQuietly(dest);
                runs.get(m).add(Run.of(m.cmd(), Map.of()));
            }
        }
        FileTrees.deleteQuietly(dest);
        List<Result> out = new ArrayList<>();
        runs.forEach((m, rs) -> out.add(new Result(m, median(rs.stream().mapToDouble(Run::seconds).toArray()),
                median(rs.stream().mapToDouble(Run::cpuSeconds).toArray()), rs.stream().mapToLong(Run::peakKiB).max().orElse(0),
                rs.stream().map(Run::seconds).toList())));
        return out;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * nodecast as a centre installs it and a job starts it: the distribution (its jlink runtime, AOT cache and launcher)
     * unpacked under {@code work}. The launcher of a source checkout also finds a JDK and looks for sources newer than
     * its jar at every start: paired by hand (6 rounds), the distribution took 0.08 s less a step (median; less in 5 of
     * the 6 rounds). No user pays that.
     */
    static Optional<Path> installed(Path work) throws IOException {
        return ClusterBench.install(work.resolve("dist")).map(d -> d.resolve("bin/nodecast"));
    }

    void run(Path zst, Path gz, Path dest, Path work) throws IOException {
        Optional<Path> dist = installed(work);
        String nc = dist.orElse(Launcher.nodecast()).toString();
        String which = dist.isPresent() ? "nodecast is the distribution (target/nodecast-VERSION.tar.gz) unpacked in "
                + Launcher.home().relativize(work.resolve("dist"))
                : "nodecast is the source checkout's bin/nodecast (no distribution built since the last compilation: mvn package)";
        String d = dest.toString();
        List<Method> m = new ArrayList<>();
        m.add(new Method("GNU tar --zstd -xf", "zst", List.of("sh", "-c", "mkdir -p \"$1\" && tar --zstd -xf \"$2\" -C \"$1\"", "sh", d, zst.toString()), null));
        m.add(new Method("nodecast bcast (local, default threads)", "zst", List.of(nc, "bcast", "-p", d, zst.toString()), "GNU tar --zstd -xf"));
        m.add(new Method("nodecast bcast --unpack-threads 1", "zst", List.of(nc, "bcast", "--unpack-threads", "1", "-p", d, zst.toString()), "GNU tar --zstd -xf"));
        m.add(new Method("nodecast bcast --unpack-threads 2", "zst", List.of(nc, "bcast", "--unpack-threads", "2", "-p", d, zst.toString()), "GNU tar --zstd -xf"));
        m.add(new Method("mpirun -np 1 nodecast bcast", "zst", mpirun(1, List.of(nc, "bcast", "-p", d, zst.toString())), "nodecast bcast (local, default threads)"));
        m.add(new Method("mpirun -np 2 nodecast bcast (one node)", "zst", mpirun(2, List.of(nc, "bcast", "-p", d, zst.toString())), "nodecast bcast (local, default threads)"));
        m.add(new Method("GNU tar -xzf", "gz", List.of("sh", "-c", "mkdir -p \"$1\" && tar -xzf \"$2\" -C \"$1\"", "sh", d, gz.toString()), null));
        m.add(new Method("nodecast bcast (local), .tar.gz", "gz", List.of(nc, "bcast", "-p", d, gz.toString()), "GNU tar -xzf"));
        // the floor: the same tree from the uncompressed tar, nothing to decompress, and whether the kernel's part of it
        // (the file system's pages, most of the CPU) goes faster on two cores than on one
        Path tar = uncompressed(zst);
        String floor = "GNU tar -xf, uncompressed";
        m.add(new Method(floor, "tar", List.of("sh", "-c", "mkdir -p \"$1\" && tar -xf \"$2\" -C \"$1\"", "sh", d, tar.toString()), null));
        m.add(new Method("nodecast bcast (local), uncompressed", "tar", List.of(nc, "bcast", "-p", d, tar.toString()), floor));
        m.add(new Method("two GNU tar -xf at once, uncompressed", "tar", List.of("sh", "-c",
                "mkdir -p \"$1/a\" \"$1/b\" && { tar -xf \"$2\" -C \"$1/a\" & a=$!; tar -xf \"$2\" -C \"$1/b\"; b=$?; wait $a && [ $b = 0 ]; }",
                "sh", d, tar.toString()), floor));
        List<Result> results = paired(m, rounds, dest);
        Map<String, Result> byName = new LinkedHashMap<>();
        results.forEach(r -> byName.put(r.method().name(), r));
        Table t = new Table("method", "bundle", "wall s (median)", "CPU s (median)", "wall vs baseline", "wall vs baseline, each round",
                "CPU vs baseline", "baseline", "peak MiB");
        Map<String, Double> bars = new LinkedHashMap<>();
        for (Result r : results) {
            Result base = r.method().baseline() == null ? null : byName.get(r.method().baseline());
            t.row(r.method().name(), r.method().bundle(), r.wall(), r.cpu(),
                    base == null ? "-" : String.format(Locale.ROOT, "%.2f", r.wall() / base.wall()),
                    base == null ? "-" : r.roundRatios(base),
                    base == null ? "-" : String.format(Locale.ROOT, "%.2f", r.cpu() / base.cpu()),
                    base == null ? "-" : base.method().name(), r.peakKiB() / 1024);
            bars.put(r.method().name(), r.wall());
        }
        emit.emit("unpack", "One node: nodecast's unpacking against GNU tar (new JVM per run, " + rounds + " paired rounds)", t,
                String.format(Locale.ROOT, "Bundles: %s (%d MiB) and %s (%d MiB), into /dev/shm, in the page cache. %d cores. %s. "
                                + "The default has as many writer threads as the cores less the decompressing one, at most 8, and "
                                + "none on 2 cores or fewer (the parsing thread writes); --unpack-threads N gives N. "
                                + "Each round runs every method once, in this order, after a round that is not counted (a source "
                                + "checkout's launcher makes its AOT cache in its first start after a build); \"each round\" is the lowest and the highest "
                                + "of the rounds' own ratios, how far this run's noise goes. "
                                + "Targets (issue 10): local .tar.zst at most 0.90 of GNU tar's wall time and 1.20 of its CPU; "
                                + "mpirun on one node at most 1.10 of the local transport; .tar.gz below tar -xzf. "
                                + "The last three rows are what writing the tree costs with nothing to decompress: GNU tar and nodecast "
                                + "on the uncompressed tar (%s, %d MiB), and two GNU tars at once, each writing the whole tree into its "
                                + "own directory: at 1.00 the kernel's work of writing it would take no longer on two cores than on one, "
                                + "at 2.00 it does not go faster with a second core. GNU tar's row is the floor for one writing thread.",
                        zst.getFileName(), Files.size(zst) >> 20, gz.getFileName(), Files.size(gz) >> 20,
                        Runtime.getRuntime().availableProcessors(), which, tar.getFileName(), Files.size(tar) >> 20));
        Plot.bars(emit.out().resolve("unpack.png"), "Unpacking on one node, wall seconds (lower is better)", "seconds", bars);
    }

    /**
     * The other two compressions a bundle may use, as the xz and bzip2 commands write them (GNU tar -J and -j, the
     * paper's scripts): nodecast against GNU tar on each, from the same tar as the .tar.zst.
     */
    void formats(Path zst, Path dest, Path work) throws IOException {
        Optional<Path> dist = installed(work);
        String nc = dist.orElse(Launcher.nodecast()).toString();
        Path tar = uncompressed(zst);
        Path xz = compressed(tar, ".xz", List.of("xz", "-T2", "-1"));
        Path bz2 = compressed(tar, ".bz2", List.of("bzip2", "-1"));
        String d = dest.toString();
        List<Method> m = List.of(
                new Method("GNU tar -xJf", "xz", List.of("sh", "-c", "mkdir -p \"$1\" && tar -xJf \"$2\" -C \"$1\"", "sh", d, xz.toString()), null),
                new Method("nodecast bcast (local), .tar.xz", "xz", List.of(nc, "bcast", "-p", d, xz.toString()), "GNU tar -xJf"),
                new Method("GNU tar -xjf", "bz2", List.of("sh", "-c", "mkdir -p \"$1\" && tar -xjf \"$2\" -C \"$1\"", "sh", d, bz2.toString()), null),
                new Method("nodecast bcast (local), .tar.bz2", "bz2", List.of(nc, "bcast", "-p", d, bz2.toString()), "GNU tar -xjf"));
        List<Result> results = paired(m, rounds, dest);
        Table t = new Table("method", "bundle", "wall s (median)", "CPU s (median)", "wall vs GNU tar", "each round", "CPU vs GNU tar");
        for (int i = 0; i < results.size(); i += 2) {
            Result base = results.get(i), r = results.get(i + 1);
            t.row(base.method().name(), base.method().bundle(), base.wall(), base.cpu(), "-", "-", "-");
            t.row(r.method().name(), r.method().bundle(), r.wall(), r.cpu(), String.format(Locale.ROOT, "%.2f", r.wall() / base.wall()),
                    r.roundRatios(base), String.format(Locale.ROOT, "%.2f", r.cpu() / base.cpu()));
        }
        emit.emit("formats", "One node: .tar.xz and .tar.bz2 bundles against GNU tar (new JVM per run, " + rounds + " paired rounds)", t,
                String.format(Locale.ROOT, "Bundles: %s (%d MiB, xz -T2 -1) and %s (%d MiB, bzip2 -1), the same tree as the .tar.zst, into "
                                + "/dev/shm, in the page cache. %d cores. nodecast decodes them with the node's liblzma and libbz2 "
                                + "(format.SystemDecoder), GNU tar with the xz and bzip2 commands, which use the same libraries. Each round "
                                + "runs every method once, in this order, after a round that is not counted.",
                        xz.getFileName(), Files.size(xz) >> 20, bz2.getFileName(), Files.size(bz2) >> 20,
                        Runtime.getRuntime().availableProcessors()));
    }

    /** The tar compressed once beside it by a command that writes to stdout (and again when the tar is newer). */
    private static Path compressed(Path tar, String suffix, List<String> command) throws IOException {
        Path out = tar.resolveSibling(tar.getFileName() + suffix);
        if (Files.exists(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(tar)) >= 0) return out;
        String cmd = String.join(" ", command) + " -c \"$1\" > \"$2.partial\" && mv \"$2.partial\" \"$2\"";
        Run.of(List.of("sh", "-c", cmd, "sh", tar.toString(), out.toString()), Map.of());   // throws if it fails
        return out;
    }

    /** The bundle's tar, decompressed once beside it (and again when the bundle is newer). */
    private static Path uncompressed(Path zst) throws IOException {
        String name = zst.getFileName().toString();
        Path tar = zst.resolveSibling(name.substring(0, name.length() - ".zst".length()));
        if (Files.exists(tar) && Files.getLastModifiedTime(tar).compareTo(Files.getLastModifiedTime(zst)) >= 0) return tar;
        Run.of(List.of("zstd", "-d", "-q", "-f", "-o", tar.toString(), zst.toString()), Map.of());   // throws if it fails
        return tar;
    }

    private static List<String> mpirun(int ranks, List<String> program) {
        List<String> cmd = new ArrayList<>(List.of("mpirun.openmpi", "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader",
                "-np", String.valueOf(ranks)));
        cmd.addAll(program);
        return cmd;
    }

    // ---------------------------------------------------------------- profile

    /** Where the time of one cold `nodecast bcast` goes, from a JFR recording: the given jars side by side. */
    void profile(Path zst, Path dest, Map<String, Path> jars) throws IOException {
        List<String> kinds = List.of("decompression", "tar parsing", "file system calls", "copying", "checksum", "relocation", "other Java");
        List<String> head = new ArrayList<>(List.of("build", "samples"));
        head.addAll(kinds);
        head.addAll(List.of("JIT compile s", "GC pause s", "wall s"));
        Table t = new Table(head.toArray(String[]::new));
        for (Map.Entry<String, Path> jar : jars.entrySet()) {
            Path jfr = Files.createTempFile("nodecast-profile", ".jfr");
            FileTrees.deleteQuietly(dest);
            List<String> cmd = new ArrayList<>(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                    "-XX:StartFlightRecording=filename=" + jfr + ",settings=profile", "-Xlog:jfr+startup=off",
                    "-jar", jar.getValue().toString(), "bcast", "--transport", "local", "-p", dest.toString(), zst.toString()));
            Run r = Run.of(cmd, Map.of());
            Map<String, Long> by = new LinkedHashMap<>();
            for (String k : kinds) by.put(k, 0L);
            long samples = 0;
            double jit = 0;
            Duration gc = Duration.ZERO;
            for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
                String type = e.getEventType().getName();
                if (type.equals("jdk.ExecutionSample") || type.equals("jdk.NativeMethodSample")) {
                    if (e.getStackTrace() == null) continue;
                    samples++;
                    by.merge(category(e.getStackTrace().getFrames()), 1L, Long::sum);
                } else if (type.equals("jdk.CompilerStatistics")) {
                    jit = Math.max(jit, e.getDuration("totalTimeSpent").toMillis() / 1000.0);
                } else if (type.equals("jdk.GarbageCollection")) {
                    gc = gc.plus(e.getDuration());
                }
            }
            Files.delete(jfr);
            long n = Math.max(1, samples);
            List<Object> row = new ArrayList<>(List.of(jar.getKey(), samples));
            for (String k : kinds) row.add(pct(by.get(k), n));
            row.addAll(List.of(String.format(Locale.ROOT, "%.2f", jit), String.format(Locale.ROOT, "%.3f", gc.toMillis() / 1000.0), r.seconds()));
            t.row(row.toArray());
        }
        FileTrees.deleteQuietly(dest);
        emit.emit("profile", "Where one cold bcast's time goes (JFR, profile settings)", t,
                "Shares of the Java threads' samples (execution and native-method samples) by the first frame that says what the "
                        + "thread was doing: the zstd or zlib decoder, the tar header parser (nodecast's own, or Commons Compress's in the "
                        + "old build), a file system call (FFM downcalls, or the JDK's file channels and Files calls), a memory copy, the "
                        + "bundle's SHA-256 (the JDK's, checked against its .sha256), relocation's search for the original prefix. "
                        + "JIT is the compilers' total time (CompilerStatistics), GC the sum of pauses.");
    }

    private static String pct(long part, long all) {
        return String.format(Locale.ROOT, "%.0f%%", 100.0 * part / all);
    }

    static String category(List<RecordedFrame> frames) {
        for (RecordedFrame f : frames) {
            String c = f.getMethod().getType().getName();
            String m = f.getMethod().getName();
            if (c.startsWith("com.github.luben.zstd") || c.startsWith("java.util.zip.Inflater") || c.contains("compressors")) return "decompression";
            if (c.startsWith("io.nodecast.posix") || c.startsWith("sun.nio.fs") || c.startsWith("sun.nio.ch.FileDispatcher")
                    || c.startsWith("sun.nio.ch.FileChannelImpl") || c.startsWith("java.nio.file.Files")) return "file system calls";
            if (m.contains("copy") && (c.contains("MemorySegment") || c.contains("ScopedMemoryAccess") || c.equals("java.lang.System")
                    || c.contains("ByteBuffer") || c.contains("ChunkPipe"))) return "copying";
            if (c.startsWith("io.nodecast.format.TarReader") || c.startsWith("org.apache.commons.compress.archivers.tar")) return "tar parsing";
            if (c.startsWith("sun.security.provider") || c.startsWith("java.security.MessageDigest")) return "checksum";
            if (c.startsWith("io.nodecast.relocate")) return "relocation";
        }
        return "other Java";
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
