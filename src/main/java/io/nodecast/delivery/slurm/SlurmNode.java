package io.nodecast.delivery.slurm;

import io.nodecast.core.ExitCode;
import io.nodecast.core.FileTrees;
import io.nodecast.core.Hosts;
import io.nodecast.core.NodecastException;
import io.nodecast.delivery.BundleRef;
import io.nodecast.delivery.BundleTiming;
import io.nodecast.delivery.Delivery;
import io.nodecast.delivery.DeliveryReport;
import io.nodecast.image.ImageMode;
import io.nodecast.image.ImageStack;
import io.nodecast.transport.LocalTransport;
import io.nodecast.transport.Topology;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Ledger;
import io.nodecast.delivery.Purge;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What one task per node does in the two steps of a Slurm delivery, and at purge. Each returns the node's one
 * report line; nothing here reads the shared file system.
 *
 * <p>Receiving is a delivery on this node alone, over the copies sbcast wrote, with the local transport: the same
 * code as over MPI decides what is already there, checks every byte against the batch step's checksum, unpacks or
 * mounts, and writes the ledger only when a bundle is complete.
 */
public final class SlurmNode {
    private static final int CHUNK = 8 << 20;

    private SlurmNode() {}

    /** The node-local directory sbcast writes into: beside DEST, private, emptied after every delivery. */
    static Path incoming(Path dest) {
        return dest.resolveSibling("." + dest.getFileName() + ".nodecast-sbcast");
    }

    static Path copyOf(Path dest, int index, Manifest.Item item) {
        return incoming(dest).resolve(Integer.toString(index)).resolve(item.name());
    }

    private static Path resolve(String destination) {
        return Path.of(destination).toAbsolutePath().normalize();
    }

    private static int nodeId(Map<String, String> env) {
        try {
            return Integer.parseInt(env.getOrDefault("SLURM_NODEID", "0").strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Step 1: DEST checked or created, a private directory for sbcast's copies made ready, and for each bundle
     * whether this node already has it (so that a bundle every node has is not sent).
     */
    public static String prepare(String destination, String manifest, Map<String, String> env) {
        String host = Hosts.localName();
        int node = nodeId(env);
        try {
            Manifest m = Manifest.decode(manifest);
            Path dest = resolve(destination);
            ImageStack.recover(dest);
            Destination d = Destination.prepare(destination, host);
            Path in = privateDirectory(incoming(dest), d.uid());
            for (int i = 0; i < m.items().size(); i++) Files.createDirectories(in.resolve(Integer.toString(i)));
            Ledger ledger = d.ledger();
            List<NodeReport.Figures> have = new ArrayList<>();
            for (int i = 0; i < m.items().size(); i++) {
                List<String> later = m.items().subList(i + 1, m.items().size()).stream().map(Manifest.Item::sha256).toList();
                // the batch step always knows the checksum: it is the identity, the fingerprint is never used
                boolean there = ledger.satisfied(m.items().get(i).sha256(), "", List.of(), later);
                have.add(new NodeReport.Figures(there, 0, 0, 0));
            }
            return new NodeReport(node, host, ExitCode.OK, "", have).line();
        } catch (NodecastException e) {
            return new NodeReport(node, host, e.exitCode(), e.getMessage(), List.of()).line();
        } catch (IOException | RuntimeException e) {
            return new NodeReport(node, host, ExitCode.DESTINATION, "cannot prepare " + destination + ": " + e.getMessage(), List.of()).line();
        }
    }

    /**
     * Step 2: the bundles sbcast sent ({@code sent}, indexes into the manifest), delivered from their node-local
     * copies, which are removed afterwards whatever happened.
     */
    public static String receive(String destination, String manifest, List<Integer> sent, ImageMode mode, Map<String, String> env) {
        String host = Hosts.localName();
        int node = nodeId(env);
        Path dest = resolve(destination);
        try {
            Manifest m = Manifest.decode(manifest);
            List<BundleRef> refs = new ArrayList<>();
            for (int i : sent) {
                Manifest.Item item = m.items().get(i);
                Path copy = copyOf(dest, i, item);
                if (!Files.isRegularFile(copy, LinkOption.NOFOLLOW_LINKS)) {
                    return new NodeReport(node, host, ExitCode.REMOTE, "sbcast did not deliver " + item.label() + " here (no "
                            + copy + ")", List.of()).line();
                }
                // the checksum the batch step read, where the delivery looks for it: every byte is checked against it
                Path side = copy.resolveSibling(copy.getFileName() + ".sha256");
                Files.writeString(side, item.sha256() + "  " + copy.getFileName() + "\n", StandardCharsets.US_ASCII);
                refs.add(new BundleRef.File(copy));
            }
            DeliveryReport r;
            try (LocalTransport t = new LocalTransport(new Topology(0, 1, 0, 1, true, host), CHUNK, "local")) {
                r = new Delivery(t, new Delivery.Options(destination, CHUNK, null, n -> { }, Delivery.Unpacking.DEFAULT, mode)).deliver(() -> refs, 0);
            }
            List<NodeReport.Figures> figures = new ArrayList<>();
            for (BundleTiming b : r.bundles()) {
                figures.add(new NodeReport.Figures(b.skippedNodes() > 0, b.unpackSeconds(), b.files(), b.unpackedBytes()));
            }
            if (!r.ok()) {
                var f = r.failures().getFirst();
                return new NodeReport(node, host, f.code(), f.message(), figures).line();
            }
            return new NodeReport(node, host, ExitCode.OK, "", figures).line();
        } catch (NodecastException e) {
            return new NodeReport(node, host, e.exitCode(), e.getMessage(), List.of()).line();
        } catch (IOException | RuntimeException e) {
            return new NodeReport(node, host, ExitCode.FAILURE, "cannot deliver into " + destination + ": " + e, List.of()).line();
        } finally {
            FileTrees.deleteQuietly(incoming(dest));
        }
    }

    /** At the end of the job: DEST purged (images unmounted first), and any copy sbcast left. */
    public static String purge(String destination, Map<String, String> env) {
        String host = Hosts.localName();
        int node = nodeId(env);
        try {
            Purge.purge(destination, host);
            FileTrees.deleteQuietly(incoming(resolve(destination)));
            return new NodeReport(node, host, ExitCode.OK, "", List.of()).line();
        } catch (NodecastException e) {
            return new NodeReport(node, host, e.exitCode(), e.getMessage(), List.of()).line();
        }
    }

    /** An empty directory only this user can enter (another user's, or a link, is refused: sbcast writes there). */
    private static Path privateDirectory(Path dir, int uid) throws IOException {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.isSymbolicLink(dir) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new NodecastException(ExitCode.DESTINATION, dir + " is not a directory");
            }
            int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (owner != uid) throw new NodecastException(ExitCode.DESTINATION, dir + " belongs to uid " + owner + ", not to you");
            Path aside = dir.resolveSibling(dir.getFileName() + ".old-" + ProcessHandle.current().pid());
            Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
            FileTrees.delete(aside);
        }
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException raced) {
            throw new NodecastException(ExitCode.DESTINATION, dir + " appeared while it was being made: another delivery into the same DEST?");
        }
        return dir;
    }
}
