package io.nodecast.delivery.slurm;

import io.nodecast.bundle.Checksums;
import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.Hosts;
import io.nodecast.core.NodecastException;
import io.nodecast.core.Units;
import io.nodecast.delivery.BundleRef;
import io.nodecast.delivery.BundleTiming;
import io.nodecast.delivery.Delivery;
import io.nodecast.delivery.DeliveryReport;
import io.nodecast.image.ImageMode;
import io.nodecast.delivery.NodeFailure;
import io.nodecast.digest.Sha256;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Delivery inside a Slurm allocation without MPI ({@code bcast --transport slurm}), run once from the batch
 * script: this process reads every bundle once and checks it against its sidecar; {@code sbcast} copies it into
 * each node's local storage; a task per node ({@code srun --ntasks-per-node=1 --mpi=none}) then delivers it from
 * that copy with the same code as a delivery over MPI, every byte checked against the checksum read here.
 *
 * <p>Two node steps: the first prepares DEST on every node and says which bundles each already has (a bundle every
 * node has is not sent); the second delivers what was sent. Each task answers with one line ({@link NodeReport});
 * a node that does not answer is named from the allocation's node list.
 */
public final class SlurmDelivery {

    /** @param log where -v lines go (null: quiet) */
    public record Options(String destination, ImageMode mode, PrintWriter log) {}

    private final Options options;
    private final Map<String, String> env;
    private final Path nodecast;
    private final int nodes;

    private SlurmDelivery(Options options, Map<String, String> env, Path nodecast, int nodes) {
        this.options = options;
        this.env = env;
        this.nodecast = nodecast;
        this.nodes = nodes;
    }

    /**
     * @param nodecast the launcher the nodes run (bin/nodecast of this installation)
     * @throws NodecastException when this is not the batch script of an allocation, or Slurm's tools are missing
     */
    public static SlurmDelivery inAllocation(Options options, Map<String, String> env, Path nodecast) {
        if (env.getOrDefault("SLURM_JOB_ID", "").isBlank()) {
            throw new NodecastException(ExitCode.USAGE, "--transport slurm works inside a Slurm allocation (sbatch, salloc): "
                    + "SLURM_JOB_ID is not set");
        }
        if (!env.getOrDefault("SLURM_STEP_ID", "").isBlank() && env.containsKey("SLURM_STEP_NUM_TASKS")) {
            throw new NodecastException(ExitCode.USAGE, "--transport slurm runs once from the batch script, not under srun "
                    + "(this is task " + env.getOrDefault("SLURM_PROCID", "?") + " of step " + env.get("SLURM_STEP_ID") + ")");
        }
        if (options.destination().contains("%h")) {
            throw new NodecastException(ExitCode.USAGE, "--transport slurm: sbcast writes the same path on every node, so -p "
                    + "cannot hold %h");
        }
        for (String tool : List.of("srun", "sbcast")) {
            if (onPath(tool, env).isEmpty()) {
                throw new NodecastException(ExitCode.TOOL, tool + " is not on PATH: --transport slurm needs Slurm's client commands");
            }
        }
        String n = env.getOrDefault("SLURM_JOB_NUM_NODES", env.getOrDefault("SLURM_NNODES", ""));
        try {
            return new SlurmDelivery(options, env, nodecast, Integer.parseInt(n.strip()));
        } catch (NumberFormatException e) {
            throw new NodecastException(ExitCode.USAGE, "--transport slurm: SLURM_JOB_NUM_NODES is not a number ('" + n + "')");
        }
    }

    /** One bundle as this process found it. */
    private record Source(Path path, Manifest.Item item, double readSeconds) {}

    public DeliveryReport deliver(List<BundleRef> refs) {
        long start = System.nanoTime();
        String batchHost = Hosts.localName();
        List<NodeFailure> failures = new ArrayList<>();
        List<BundleTiming> timings = new ArrayList<>();
        Path scratch = null;
        double init = 0;
        try {
            // this process alone reads the bundles; the first bad one ends the list (the ones before it are delivered)
            List<Source> sources = new ArrayList<>();
            for (BundleRef ref : refs) {
                try {
                    Path path = switch (ref) {
                        case BundleRef.File f -> f.path();
                        case BundleRef.Tree t -> {
                            if (scratch == null) scratch = Files.createTempDirectory("nodecast-mirror-");
                            yield Delivery.mirror(t, scratch.resolve(t.root().getFileName() + "-" + sources.size() + ".tar.zst"));
                        }
                    };
                    sources.add(read(ref.label(), path));
                } catch (NodecastException e) {
                    failures.add(new NodeFailure(batchHost, 0, e.exitCode(), e.getMessage()));
                    break;
                } catch (IOException e) {
                    failures.add(new NodeFailure(batchHost, 0, ExitCode.BUNDLE, "cannot bundle " + ref.label() + ": " + e.getMessage()));
                    break;
                }
            }
            if (sources.isEmpty()) return report(0, timings, failures, start);
            Manifest manifest = new Manifest(sources.stream().map(Source::item).toList());

            long t0 = System.nanoTime();
            Map<Integer, NodeReport> prepared = step(List.of("prepare", "-p", options.destination(), "--manifest", manifest.encode()), failures);
            init = (System.nanoTime() - t0) / 1e9;
            if (!failures.isEmpty()) return report(init, timings, failures, start);

            List<Integer> sent = new ArrayList<>();
            double[] copySeconds = new double[sources.size()];
            for (int i = 0; i < sources.size(); i++) {
                Source s = sources.get(i);
                int i2 = i;
                long have = prepared.values().stream().filter(r -> r.bundles().size() > i2 && r.bundles().get(i2).have()).count();
                if (have == nodes) {
                    log("%s: already unpacked on all %d node(s); not sent", s.item().label(), nodes);
                    continue;
                }
                long c0 = System.nanoTime();
                Path copy = SlurmNode.copyOf(Path.of(options.destination()).toAbsolutePath().normalize(), i, s.item());
                Result r = run(List.of("sbcast", "--force", s.path().toString(), copy.toString()));
                copySeconds[i] = (System.nanoTime() - c0) / 1e9;
                if (r.exit() != 0) log("%s: sbcast exited with %d: %s", s.item().label(), r.exit(), r.lastError());
                sent.add(i);   // a node without its copy says so in the next step
            }

            int before = failures.size();
            Map<Integer, NodeReport> received = sent.isEmpty() ? Map.of() : step(List.of("receive", "-p", options.destination(),
                    "--manifest", manifest.encode(), "--mode", options.mode().flag(),
                    "--sent", sent.stream().map(String::valueOf).collect(Collectors.joining(","))), failures);
            // a node names the copy it delivered from; the user knows the bundle by the name they gave
            for (int k = before; k < failures.size(); k++) {
                NodeFailure f = failures.get(k);
                String message = f.message();
                for (int i : sent) {
                    Source s = sources.get(i);
                    message = message.replace(SlurmNode.copyOf(Path.of(options.destination()).toAbsolutePath().normalize(), i, s.item()).toString(),
                            s.item().label());
                }
                failures.set(k, new NodeFailure(f.host(), f.rank(), f.code(), message));
            }
            for (int i = 0; i < sources.size(); i++) {
                Source s = sources.get(i);
                int at = sent.indexOf(i);
                int i2 = i;
                int skipped = at < 0 ? nodes : (int) received.values().stream().filter(r -> r.bundles().size() > at && r.bundles().get(at).have()).count();
                double unpack = 0;
                long files = 0;
                long bytes = 0;
                for (NodeReport r : received.values()) {
                    if (at >= 0 && r.bundles().size() > at) {
                        NodeReport.Figures f = r.bundles().get(at);
                        unpack = Math.max(unpack, f.unpackSeconds());
                        files = Math.max(files, f.files());
                        bytes = Math.max(bytes, f.bytes());
                    }
                }
                double total = s.readSeconds() + copySeconds[i2] + unpack;
                timings.add(new BundleTiming(s.item().label(), s.item().size(), nodes, skipped, at >= 0, at >= 0 ? "sbcast" : "not sent", s.readSeconds(),
                        copySeconds[i2], unpack, total, files, bytes));
                if (at >= 0) log("%s: %s to %d node(s) with sbcast in %.2f s%s", s.item().label(), Units.bytes(s.item().size()), nodes - skipped,
                        total, skipped > 0 ? " (" + skipped + " already had it)" : "");
            }
            return report(init, timings, failures, start);
        } finally {
            if (scratch != null) FileTrees.deleteQuietly(scratch);
        }
    }

    /** Purges DEST on every node of the allocation (images unmounted first). */
    public List<NodeFailure> purge() {
        List<NodeFailure> failures = new ArrayList<>();
        step(List.of("purge", "-p", options.destination()), failures);
        return failures;
    }

    private DeliveryReport report(double init, List<BundleTiming> timings, List<NodeFailure> failures, long start) {
        return new DeliveryReport("slurm (sbcast)", nodes, nodes, options.destination(), init, timings, failures,
                (System.nanoTime() - start) / 1e9, 0);
    }

    /** Reads the bundle once: its size, its checksum, checked against the sidecar when there is one. */
    private static Source read(String label, Path path) {
        long t = System.nanoTime();
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            if (!a.isRegularFile()) throw new NodecastException(ExitCode.BUNDLE, "cannot read bundle " + path + ": not a regular file");
            Optional<String> recorded = Checksums.readSidecar(path, a);
            Sha256.OfFile sum = Sha256.of(path);
            String hex = sum.hex();
            if (recorded.isPresent() && !recorded.get().equals(hex)) {
                throw new NodecastException(ExitCode.BUNDLE, label + " does not match its checksum file " + Checksums.sidecar(path)
                        + " (sha256 " + hex + ", expected " + recorded.get() + "): the bundle is corrupt or was changed after it was made");
            }
            return new Source(path, new Manifest.Item(label, path.getFileName().toString(), sum.bytes(), hex), (System.nanoTime() - t) / 1e9);
        } catch (NoSuchFileException e) {
            throw new NodecastException(ExitCode.BUNDLE, "bundle " + path + " does not exist");
        } catch (IOException e) {
            throw new NodecastException(ExitCode.BUNDLE, "cannot read bundle " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * One task per node runs {@code nodecast slurm-node ARGS}; their report lines by node index. A failed node, and
     * a node that did not answer, is added to {@code failures}.
     */
    private Map<Integer, NodeReport> step(List<String> args, List<NodeFailure> failures) {
        List<String> cmd = new ArrayList<>(List.of("srun", "--nodes=" + nodes, "--ntasks=" + nodes, "--ntasks-per-node=1",
                "--mpi=none", "--kill-on-bad-exit=0", "--job-name=nodecast-" + args.getFirst(), nodecast.toString(), "slurm-node"));
        cmd.addAll(args);
        Result r = run(cmd);
        Map<Integer, NodeReport> out = new TreeMap<>();
        r.out().lines().map(NodeReport::parse).flatMap(Optional::stream).forEach(n -> out.put(n.node(), n));
        for (NodeReport n : out.values()) {
            if (!n.ok()) failures.add(new NodeFailure(n.host(), n.node(), n.code(), n.message()));
        }
        if (out.size() < nodes) {
            List<String> all = hostnames();
            for (int i = 0; i < nodes; i++) {
                if (out.containsKey(i)) continue;
                String host = i < all.size() ? all.get(i) : "node " + i;
                failures.add(new NodeFailure(host, i, ExitCode.REMOTE, "no answer from nodecast on " + host + " (srun exited with "
                        + r.exit() + (r.lastError().isEmpty() ? "" : ": " + r.lastError()) + ")"));
            }
        }
        return out;
    }

    private List<String> hostnames() {
        Result r = run(List.of("scontrol", "show", "hostnames", env.getOrDefault("SLURM_JOB_NODELIST", env.getOrDefault("SLURM_NODELIST", ""))));
        return r.exit() == 0 ? r.out().lines().map(String::strip).filter(l -> !l.isEmpty()).toList() : List.of();
    }

    /** A finished command: its exit status, its output, and the last line of its standard error. */
    private record Result(int exit, String out, String lastError) {}

    private Result run(List<String> cmd) {
        Path err = null;
        try {
            err = Files.createTempFile("nodecast-slurm", ".err");
            List<String> resolved = new ArrayList<>(cmd);
            onPath(cmd.getFirst(), env).ifPresent(p -> resolved.set(0, p.toString()));
            ProcessBuilder pb = new ProcessBuilder(resolved).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectError(err.toFile());
            pb.environment().clear();
            pb.environment().putAll(env);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            String last = Files.readString(err, StandardCharsets.UTF_8).strip().lines().reduce((a, b) -> b).orElse("");
            return new Result(code, out, last);
        } catch (IOException e) {
            return new Result(-1, "", "cannot run " + cmd.getFirst() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", "interrupted");
        } finally {
            if (err != null) FileTrees.deleteQuietly(err);
        }
    }

    private void log(String format, Object... args) {
        if (options.log() != null) {
            options.log().printf(format + "%n", args);
            options.log().flush();
        }
    }

    private static Optional<Path> onPath(String name, Map<String, String> env) {
        for (String dir : env.getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }
}
