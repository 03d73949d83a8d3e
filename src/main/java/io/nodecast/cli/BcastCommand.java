package io.nodecast.cli;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.delivery.BundleLists;
import io.nodecast.delivery.BundleRef;
import io.nodecast.delivery.Delivery;
import io.nodecast.delivery.DeliveryReport;
import io.nodecast.env.Defaults;
import io.nodecast.image.ImageMode;
import io.nodecast.transport.Transport;
import io.nodecast.transport.Transports;
import io.nodecast.transport.slurm.SlurmDelivery;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "bcast", description = {
        "Deliver bundles to node-local storage on every node of the job: run it through the launcher "
                + "(srun, mpirun) like the paper's bcast, or alone for this node.",
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
        return delivery.run(spec, dest, rank0 -> {
            List<BundleRef> refs = new ArrayList<>();
            if (!rank0) return refs;
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

        @Option(names = {"-v", "--verbose"}, description = "Say what is sent, skipped and where; a progress bar on a terminal.")
        boolean verbose;

        @Option(names = {"-t", "--timings"}, description = "Print init, read, broadcast, unpack and total time per bundle (slowest node).")
        boolean timings;

        @Option(names = "--report", paramLabel = "FILE", description = "Write the report as JSON to FILE (rank 0).")
        Path report;

        @Option(names = "--chunk-size", paramLabel = "SIZE", defaultValue = "8M", converter = SizeConverter.class,
                description = "Broadcast chunk size (default ${DEFAULT-VALUE}).")
        long chunkSize;

        @Option(names = "--unpack-threads", paramLabel = "N", defaultValue = "0",
                description = "Threads writing files on each leader (default 0: what the leader's CPU affinity allows, "
                        + "less two for decompressing and parsing, at least 1, at most 8).")
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

        // issue 14
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

        interface Source {
            List<BundleRef> bundles(boolean rank0);
        }

        int run(CommandSpec spec, String dest, Source source) {
            int chunk = (int) Math.clamp(chunkSize, 64 << 10, 1 << 30);
            ImageMode imageMode;
            try {
                imageMode = ImageMode.parse(mode);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            long t0 = System.nanoTime();
            if (transport.equalsIgnoreCase("slurm")) return slurm(spec, dest, imageMode, source);   // issue 14
            Transports.Choice choice;
            try {
                choice = Transports.Choice.valueOf(transport.toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--transport: auto, mpi, local or slurm, not '" + transport + "'");
            }
            try (Transport transport = Transports.open(choice, Optional.ofNullable(mpiLib), chunk, System.getenv())) {
                double init = (System.nanoTime() - t0) / 1e9;
                boolean root = transport.topology().root();
                var out = spec.commandLine().getOut();
                var err = spec.commandLine().getErr();
                List<BundleRef> refs;
                try {
                    refs = source.bundles(root);
                } catch (NodecastException e) {
                    refs = null;
                    if (transport.topology().size() == 1) throw e;
                    err.println("nodecast: " + transport.topology().host() + ": " + e.getMessage());
                    transport.abort(e.exitCode().code());
                }
                Progress progress = verbose && root ? Progress.forTerminal(err) : Progress.NONE;
                Delivery d = new Delivery(transport, new Delivery.Options(dest, chunk, verbose ? err : null, progress::update,
                        new Delivery.Unpacking(Math.max(0, unpackThreads), maxUnpacked, force), imageMode));
                DeliveryReport r;
                try {
                    r = d.deliver(refs, init);
                } finally {
                    progress.close();
                }
                if (root) print(r, out, err);
                return r.ok() ? ExitCode.OK.code() : r.failures().getFirst().code().code();
            }
        }

        /** issue 14: the bundles to every node of the Slurm allocation with sbcast, from this one process. */
        private int slurm(CommandSpec spec, String dest, ImageMode imageMode, Source source) {
            var out = spec.commandLine().getOut();
            var err = spec.commandLine().getErr();
            Path home = Path.of(System.getProperty("nodecast.home", ".")).toAbsolutePath().normalize();
            SlurmDelivery d = SlurmDelivery.inAllocation(new SlurmDelivery.Options(dest, imageMode, verbose ? err : null),
                    System.getenv(), home.resolve("bin/nodecast"));
            DeliveryReport r = d.deliver(source.bundles(true));
            return print(r, out, err);
        }

        /** Rank 0's part: the -t table, the --report file, the failures. */
        private int print(DeliveryReport r, java.io.PrintWriter out, java.io.PrintWriter err) {
            if (timings) out.print(r.table());
            if (report != null) CliSupport.writeReport(report, r.json());
            out.flush();
            if (!r.ok()) {
                if (r.failures().size() == 1) {
                    err.println("nodecast: " + r.failures().getFirst());
                } else {
                    err.println("nodecast: delivery failed on " + r.failures().size() + " ranks:");
                    r.failures().forEach(f -> err.println("  " + f));
                }
                err.flush();
            }
            return r.ok() ? ExitCode.OK.code() : r.failures().getFirst().code().code();
        }
    }
}
