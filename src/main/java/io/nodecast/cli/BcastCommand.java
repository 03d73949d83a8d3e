package io.nodecast.cli;

import io.nodecast.delivery.BundleLists;
import io.nodecast.delivery.BundleRef;
import io.nodecast.delivery.Delivery;
import io.nodecast.delivery.DeliveryReport;
import io.nodecast.delivery.Transports;
import io.nodecast.env.Defaults;
import io.nodecast.image.ImageMode;
import io.nodecast.delivery.slurm.SlurmDelivery;
import io.nodecast.transport.BroadcastAlgorithm;
import io.nodecast.transport.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "bcast", header = "Deliver bundles to node-local storage on every node of the job.", description = {
        "Run it through the job's launcher (srun, mpirun) like the paper's bcast, or alone for this node.",
        "One leader rank per node receives and unpacks; later bundles overwrite earlier ones; a bundle already "
                + "unpacked at DEST is not sent again. With no BUNDLE and PYTHON_MPI_PACKAGES set, delivers those."})
public final class BcastCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DeliveryOptions delivery;

    @Option(names = {"-f", "--file"}, paramLabel = "LIST", description = "Read bundle paths from LIST (one a line, # comments).")
    Path list;

    @Parameters(paramLabel = "BUNDLE", arity = "0..*", description = "Bundles (.tar.zst .tar.gz .tar.bz2 .tar.xz .tar, or .sqfs images), in order.")
    List<Path> bundles = new ArrayList<>();

    @Override
    public Integer call() {
        String dest = delivery.destination;
        Optional<BundleLists.Legacy> legacy = Optional.empty();
        if (bundles.isEmpty() && list == null) {
            legacy = BundleLists.Legacy.from(System.getenv());
            if (legacy.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "bcast: name at least one BUNDLE, or -f LIST, or set PYTHON_MPI_PACKAGES");
            }
            if (!delivery.destinationGiven()) dest = legacy.get().destination();
        }
        Optional<BundleLists.Legacy> fromEnv = legacy;
        return delivery.run(spec, dest, () -> {
            List<BundleRef> refs = new ArrayList<>();
            fromEnv.ifPresent(l -> l.bundles().forEach(b -> refs.add(new BundleRef.File(b))));
            bundles.forEach(b -> refs.add(new BundleRef.File(b)));
            if (list != null) BundleLists.read(list).forEach(b -> refs.add(new BundleRef.File(b)));
            return refs;
        });
    }

    /** The flags bcast and mirror share, and the one way both run a delivery and print its outcome. */
    static final class DeliveryOptions {
        @Option(names = {"-p", "--destination"}, paramLabel = "DEST",
                description = "Node-local directory to unpack into; %%h expands to the host name. Default: " + Defaults.DESTINATION + ".")
        String destination = Defaults.DESTINATION;

        @Option(names = {"-v", "--verbose"}, description = "Say what is sent, how, which nodes are skipped; a progress bar on a terminal.")
        boolean verbose;

        @Option(names = {"-t", "--timings"}, description = "Print init, read, broadcast, unpack and total time per bundle (slowest node).")
        boolean timings;

        @Option(names = "--report", paramLabel = "FILE", description = "Write the report as JSON to FILE (rank 0).")
        Path report;

        @Option(names = "--chunk-size", paramLabel = "SIZE", defaultValue = "8M", converter = SizeConverter.class,
                description = "Largest broadcast message and unpacker chunk (default ${DEFAULT-VALUE}).")
        long chunkSize;

        @Option(names = "--bcast-algorithm", paramLabel = "ALG", defaultValue = "auto",
                description = "How the leaders broadcast: chain or tree (nodecast's pipelined broadcast), ibcast (the MPI "
                        + "library's MPI_Ibcast), or auto (a chain or tree by the number of nodes and the bundle size; default).")
        String algorithm;

        @Option(names = "--stall-timeout", paramLabel = "SECONDS", defaultValue = "60",
                description = "Give the job up when a peer sends or takes nothing in a broadcast for this long (default ${DEFAULT-VALUE}).")
        int stallSeconds;

        @Option(names = "--unpack-threads", paramLabel = "N", defaultValue = "0",
                description = "Threads writing files on each leader (default 0: what the leader's CPU affinity allows, "
                        + "less one for decompressing, at most 8; none on two cores or fewer, where the parsing thread writes).")
        int unpackThreads;

        @Option(names = "--max-unpacked", paramLabel = "SIZE", converter = SizeConverter.class,
                description = "Refuse a bundle that expands to more than SIZE (default: 100 times its size, at least 1G; "
                        + "'none': no limit).")
        long maxUnpacked = -1;

        @Option(names = "--force", description = "Unpack into an existing non-empty directory that is not a nodecast "
                + "destination (its files may be overwritten, and purge removes them).")
        boolean force;

        @Option(names = "--transport", paramLabel = "KIND", defaultValue = "auto",
                description = "auto (MPI when started by mpirun, mpiexec or srun; else this node alone), mpi, local, or slurm "
                        + "(run once from the batch script, not under srun: sbcast to every node of the allocation, no MPI).")
        String transport;

        @Option(names = "--mode", paramLabel = "MODE", defaultValue = "image",
                description = "What a node does with a squashfs image bundle: image (mount it with squashfuse_ll and fuse-overlayfs, no root; "
                        + "default), kernel (the kernel's loop mount, as root), unpack (unpack it like a tar), or auto (mount "
                        + "where the node can, unpack where it cannot).")
        String mode;

        @Option(names = "--mpi-lib", paramLabel = "LIB", description = "The MPI library to load (a path or soname); default: "
                + "chosen from the launcher's environment, or NODECAST_MPI_LIB.")
        String mpiLib;

        boolean destinationGiven() {
            return !Defaults.DESTINATION.equals(destination);
        }

        private Transports.Settings settings(CommandSpec spec, int chunk) {
            Transports.Choice choice;
            try {
                choice = Transports.Choice.valueOf(transport.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--transport: auto, mpi, local or slurm, not '" + transport + "'");
            }
            BroadcastAlgorithm alg;
            try {
                alg = BroadcastAlgorithm.parse(algorithm);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--bcast-algorithm: " + e.getMessage());
            }
            if (stallSeconds < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--stall-timeout: at least 1 second");
            return new Transports.Settings(choice, Optional.ofNullable(mpiLib), chunk, alg, Duration.ofSeconds(stallSeconds));
        }

        int run(CommandSpec spec, String dest, Delivery.Bundles source) {
            int chunk = (int) Math.clamp(chunkSize, 64 << 10, 1 << 30);
            ImageMode imageMode;
            try {
                imageMode = ImageMode.parse(mode);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            if (transport.equalsIgnoreCase("slurm")) return slurm(spec, dest, imageMode, source);
            Transports.Settings settings = settings(spec, chunk);
            double startup = secondsSinceProcessStart();
            long t0 = System.nanoTime();
            DeliveryReport r;
            boolean root;
            try (Transport transport = Transports.open(settings, System.getenv(), CliSupport.arguments(spec))) {
                double init = (System.nanoTime() - t0) / 1e9;
                root = transport.topology().root();
                PrintWriter out = spec.commandLine().getOut();
                PrintWriter err = spec.commandLine().getErr();
                if (transport.topology().leader() && System.getProperty("java.vm.info", "").contains("interpreted")) {
                    // bin/nodecast starts a rank that is not its node's first without the JIT, as one that only waits
                    err.println("nodecast: warning: " + transport.topology().host() + ": rank " + transport.topology().rank()
                            + " leads its node but runs interpreted (-Xint), so it unpacks slowly: bin/nodecast starts a rank that way "
                            + "when its launcher gives it a local rank above 0 (NODECAST_INTERPRET_WAITERS=0 starts every rank with the JIT)");
                    err.flush();
                }
                Progress progress = verbose && root ? Progress.forTerminal(err) : Progress.NONE;
                try {
                    r = new Delivery(transport, new Delivery.Options(dest, chunk, verbose ? err : null, progress::update,
                            new Delivery.Unpacking(Math.max(0, unpackThreads), maxUnpacked, force), imageMode)).deliver(source, init);
                } finally {
                    progress.close();
                }
                if (root) print(r, out, err);
                t0 = System.nanoTime();
            }
            if (timings && root) {
                // what a step costs before and after its bundles; the exit itself is the launcher's to see
                spec.commandLine().getOut().printf(Locale.ROOT, "fixed costs: launcher to command %.3f s, transport init %.3f s, "
                        + "final agreement %.3f s, barrier and finalize %.3f s%n", startup, r.initSeconds(), r.agreementSeconds(),
                        (System.nanoTime() - t0) / 1e9);
                spec.commandLine().getOut().flush();
            }
            return r.exitCode().code();
        }

        /**
         * From the launcher's exec of the JVM (bin/nodecast records bash's clock in NODECAST_LAUNCHED) to now: the JVM's
         * start, class loading and the command line. NaN when started some other way: the kernel's record of a
         * process's start is only as exact as the boot time, a second.
         */
        private static double secondsSinceProcessStart() {
            String launched = System.getenv("NODECAST_LAUNCHED");
            if (launched == null || !launched.matches("\\d+[.,]\\d{1,9}")) return Double.NaN;
            String[] p = launched.split("[.,]");
            java.time.Instant at = java.time.Instant.ofEpochSecond(Long.parseLong(p[0]),
                    Long.parseLong((p[1] + "000000000").substring(0, 9)));
            return java.time.Duration.between(at, java.time.Instant.now()).toNanos() / 1e9;
        }

        /** The bundles to every node of the Slurm allocation with sbcast, from this one process (the batch script). */
        private int slurm(CommandSpec spec, String dest, ImageMode imageMode, Delivery.Bundles source) {
            PrintWriter err = spec.commandLine().getErr();
            Path home = Path.of(System.getProperty("nodecast.home", ".")).toAbsolutePath().normalize();
            SlurmDelivery d = SlurmDelivery.inAllocation(new SlurmDelivery.Options(dest, imageMode, verbose ? err : null),
                    System.getenv(), home.resolve("bin/nodecast"));
            DeliveryReport r = d.deliver(source.list());
            print(r, spec.commandLine().getOut(), err);
            return r.exitCode().code();
        }

        /** Rank 0's part: the -t table, the --report file, the failures. */
        private void print(DeliveryReport r, PrintWriter out, PrintWriter err) {
            if (timings) out.print(r.table());
            if (report != null) CliSupport.writeReport(report, r.json());
            out.flush();
            if (r.failures().size() == 1) {
                err.println("nodecast: " + r.failures().getFirst());
            } else if (!r.ok()) {
                err.println("nodecast: delivery failed on " + r.failures().size() + " ranks:");
                r.failures().forEach(f -> err.println("  " + f));
            }
            err.flush();
        }
    }
}
