package io.nodecast.delivery;

import io.nodecast.bundle.BundleSpec;
import io.nodecast.bundle.BundleWriter;
import io.nodecast.bundle.Checksums;
import io.nodecast.format.ChunkInput;
import io.nodecast.format.Compression;
import io.nodecast.bundle.Excludes;
import io.nodecast.bundle.PycMode;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.core.Units;
import io.nodecast.image.ImageMode;
import io.nodecast.image.ImageReceiver;
import io.nodecast.image.ImageStack;
import io.nodecast.image.Superblock;
import io.nodecast.transport.ChunkSink;
import io.nodecast.transport.ChunkSource;
import io.nodecast.transport.NodeFailure;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Ledger;
import io.nodecast.unpack.Extractor;
import io.nodecast.unpack.UnpackSummary;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * The bcast step: every bundle from rank 0 to one leader per node, unpacked there, all nodes agreeing.
 *
 * <p>Per bundle, on the leaders and in this order: rank 0's headers, which leaders already have it, the stream
 * (unpacked on a separate thread while it arrives), rank 0's checksum against each leader's, the slowest
 * node's timings. Every collective is called unconditionally by every leader, so a failure on one node never
 * leaves the others waiting; the first bundle that fails anywhere stops the loop everywhere. Non-leaders only
 * take part in the final agreement.
 */
public final class Delivery {

    /**
     * @param destination DEST, possibly with %h
     * @param chunkBytes  size of the pieces handed to the unpacker
     * @param log         where -v lines go (null: quiet)
     * @param progress    rank 0's bytes sent so far for the current bundle (may be a no-op)
     */
    public record Options(String destination, int chunkBytes, PrintWriter log, LongConsumer progress, Unpacking unpacking,
                          ImageMode imageMode) {
        public Options(String destination, int chunkBytes, PrintWriter log, LongConsumer progress) {
            this(destination, chunkBytes, log, progress, Unpacking.DEFAULT, ImageMode.IMAGE);
        }
    }

    /**
     * How leaders unpack.
     *
     * @param threads     writer threads per leader (0: what the CPU affinity allows)
     * @param maxUnpacked the most a bundle may expand to, in bytes of tar stream; 0: no limit; -1: the default,
     *                    100 times the bundle and at least 1 GiB (a tiny hostile bundle must not fill /dev/shm)
     * @param force       unpack into an existing non-empty directory that is not a nodecast destination
     */
    public record Unpacking(int threads, long maxUnpacked, boolean force) {
        public static final Unpacking DEFAULT = new Unpacking(0, -1, false);

        long limitFor(long bundleBytes) {
            if (maxUnpacked >= 0) return maxUnpacked;
            return Math.max(1L << 30, bundleBytes > Long.MAX_VALUE / 100 ? Long.MAX_VALUE : bundleBytes * 100);
        }
    }

    private final Transport transport;
    private final Options options;
    private final Topology topo;

    public Delivery(Transport transport, Options options) {
        this.transport = transport;
        this.options = options;
        this.topo = transport.topology();
    }

    /**
     * @param bundles     what to deliver, in order; read on rank 0 only
     * @param initSeconds time spent starting the transport, for the report
     */
    public DeliveryReport deliver(List<BundleRef> bundles, double initSeconds) {
        long start = System.nanoTime();
        NodeFailure mine = null;
        List<BundleTiming> timings = new ArrayList<>();
        List<Path> temporary = new ArrayList<>();
        String destShown = options.destination();
        Destination.Lock lock = null;
        if (topo.leader()) {
            Destination dest = null;
            try {
                // issue 14: mounts left dead by a killed job would make DEST unreadable
                ImageStack.recover(Destination.expand(options.destination(), topo.host()));
                dest = Destination.prepare(options.destination(), topo.host(), options.unpacking().force());
                destShown = dest.root().toString();
                lock = dest.lock(line -> {
                    if (options.log() != null) {
                        options.log().println(topo.host() + ": " + line);
                        options.log().flush();
                    }
                });
            } catch (NodecastException e) {
                mine = failure(e);
            }
            if (!transport.anyLeader(mine != null)) {
                List<Path> paths = new ArrayList<>();
                List<Header> headers = Header.decode(transport.shareFromRoot(
                        topo.root() ? Header.encode(prepare(bundles, dest, temporary, paths)) : new byte[0]));
                for (int i = 0; i < headers.size(); i++) {
                    Header h = headers.get(i);
                    if (!h.error().isEmpty()) {
                        if (topo.root()) mine = new NodeFailure(topo.host(), topo.rank(), ExitCode.values()[h.code()], h.error());
                        break;
                    }
                    Outcome o = deliverOne(h, topo.root() ? paths.get(i) : null, headers.subList(i + 1, headers.size()), dest);
                    timings.add(o.timing());
                    mine = o.failure();
                    if (transport.anyLeader(mine != null)) break;
                }
            }
            for (Path p : temporary) deleteQuietly(p);
            if (lock != null) lock.close();
        }
        List<NodeFailure> failures = transport.agree(Optional.ofNullable(mine));
        return new DeliveryReport(transport.describe(), topo.size(), topo.nodes(), destShown, initSeconds, timings,
                failures, (System.nanoTime() - start) / 1e9);
    }

    private record Outcome(BundleTiming timing, NodeFailure failure) {}

    /** @param path the bundle file on rank 0, null elsewhere */
    private Outcome deliverOne(Header h, Path path, List<Header> later, Destination dest) {
        long t0 = System.nanoTime();
        NodeFailure failure = null;
        Ledger ledger = dest.ledger();
        boolean have;
        try {
            have = ledger.satisfied(h.sha256(), h.fingerprint(),
                    later.stream().map(Header::fingerprint).toList(), later.stream().map(Header::sha256).filter(s -> !s.isEmpty()).toList());
        } catch (IOException e) {
            have = false;
        }
        int skipped = (int) transport.sumOverLeaders(new long[] {have ? 1 : 0})[0];
        if (skipped == topo.nodes()) {
            log("%s: already unpacked on all %d node(s); not sent", h.label(), topo.nodes());
            return new Outcome(new BundleTiming(h.label(), h.size(), topo.nodes(), skipped, false, 0, 0, 0,
                    (System.nanoTime() - t0) / 1e9, 0, 0), null);
        }
        if (have && options.log() != null) {
            options.log().printf("%s: %s already unpacked here; receiving it without unpacking%n", topo.host(), h.label());
            options.log().flush();
        }

        Receiver unpacker = null;
        if (!have) {
            try {
                ledger.begin(h.sha256(), h.fingerprint(), h.label());
                unpacker = new Receiver(dest, h);
            } catch (IOException e) {
                failure = failure(new NodecastException(ExitCode.DESTINATION, "cannot write the ledger in "
                        + dest.root() + ": " + e.getMessage()));
            } catch (RuntimeException | Error e) {
                // out of memory for the buffers, a thread that cannot start: this bundle fails here, the stream goes on
                failure = failure(new NodecastException(ExitCode.FAILURE, h.label() + ": cannot start unpacking: " + e, e));
            }
        }
        MessageDigest received = sha256();
        FileSource source = path != null ? new FileSource(path, h.size()) : null;
        Receiver u = unpacker;
        long[] sent = {0};
        ChunkSink sink = chunk -> {
            if (source == null) received.update(chunk.duplicate());
            if (u != null) u.accept(chunk);
            sent[0] += chunk.remaining();
            if (topo.root()) options.progress().accept(sent[0]);
        };
        long s0 = System.nanoTime();
        try {
            transport.stream(source, h.size(), sink);
        } catch (IOException e) {
            failure = failure(new NodecastException(ExitCode.REMOTE, "broadcast of " + h.label() + " failed: " + e.getMessage()));
        }
        double streamSeconds = (System.nanoTime() - s0) / 1e9;
        UnpackSummary summary = null;
        double unpackSeconds = 0;
        if (u != null) {
            u.finish();
            if (u.failure() != null && failure == null) failure = failure(u.failure());
            summary = u.summary();
        }

        // rank 0's checksum and verdict reach every leader; a leader that received other bytes fails
        String verdict = "";
        String hex = topo.root() ? HexFormat.of().formatHex(source.digest.digest()) : "";
        if (topo.root()) {
            if (source.error != null) {
                verdict = source.error;
            } else if (!h.sha256().isEmpty() && !h.sha256().equals(hex)) {
                verdict = h.label() + " does not match its checksum file " + Checksums.sidecar(Path.of(h.label()))
                        + " (sha256 " + hex + ", expected " + h.sha256() + "): the bundle is corrupt or was changed after it was made";
            }
        }
        String[] shared = new String(transport.shareFromRoot((hex + "\n" + verdict).getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8).split("\n", 2);
        String rootHex = shared[0];
        String rootVerdict = shared.length > 1 ? shared[1] : "";
        if (!rootVerdict.isEmpty()) {
            if (topo.root() && failure == null) failure = new NodeFailure(topo.host(), topo.rank(), ExitCode.BUNDLE, rootVerdict);
        } else if (!topo.root() && failure == null && !HexFormat.of().formatHex(received.digest()).equals(rootHex)) {
            failure = failure(new NodecastException(ExitCode.BUNDLE, "the bytes received for " + h.label()
                    + " differ from what rank 0 read (sha256 mismatch)"));
        }
        if (u != null && failure == null && rootVerdict.isEmpty()) {
            try {
                summary = u.commit(rootHex);   // issue 14: an image is mounted here, once its bytes are verified
                ledger.complete(new Ledger.Entry(rootHex, h.size(), h.fingerprint(), h.label()));
            } catch (NodecastException e) {
                failure = failure(e);
            } catch (IOException e) {
                failure = failure(new NodecastException(ExitCode.DESTINATION, "cannot write the ledger in "
                        + dest.root() + ": " + e.getMessage()));
            }
        }
        if (u != null) {
            if (failure != null || !rootVerdict.isEmpty()) u.discard();
            unpackSeconds = u.seconds();
        }
        double read = source == null ? 0 : source.nanos / 1e9;
        double total = (System.nanoTime() - t0) / 1e9;
        double[] slowest = transport.maxOverLeaders(new double[] {read, Math.max(0, streamSeconds - read), unpackSeconds,
                total, summary == null ? 0 : summary.files(), summary == null ? 0 : summary.bytes()});
        log("%s: %s to %d node(s) in %.2f s%s", h.label(), Units.bytes(h.size()), topo.nodes() - skipped, slowest[3],
                skipped > 0 ? " (" + skipped + " already had it)" : "");
        return new Outcome(new BundleTiming(h.label(), h.size(), topo.nodes(), skipped, true, slowest[0], slowest[1],
                slowest[2], slowest[3], (long) slowest[4], (long) slowest[5]), failure);
    }

    /** Rank 0: what each bundle is, before anything is sent. Mirrored trees are bundled here, into DEST. */
    private List<Header> prepare(List<BundleRef> bundles, Destination dest, List<Path> temporary, List<Path> paths) {
        List<Header> out = new ArrayList<>();
        for (BundleRef ref : bundles) {
            Path path = null;
            paths.add(null);
            try {
                path = switch (ref) {
                    case BundleRef.File f -> f.path();
                    case BundleRef.Tree t -> {
                        Path tmp = Files.createTempFile(dest.root().resolve(Destination.META), "mirror-", ".tar.zst");
                        temporary.add(tmp);
                        temporary.add(Checksums.sidecar(tmp));
                        yield mirror(t, tmp);
                    }
                };
            } catch (NodecastException e) {
                out.add(new Header(ref.label(), e.getMessage(), e.exitCode().ordinal(), 0, "", ""));
                continue;
            } catch (IOException e) {
                out.add(new Header(ref.label(), "cannot bundle " + ref.label() + ": " + e.getMessage(), ExitCode.BUNDLE.ordinal(), 0, "", ""));
                continue;
            }
            try {
                BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
                if (!a.isRegularFile()) throw new IOException("not a regular file");
                if (!Files.isReadable(path)) throw new IOException("permission denied");
                String fp = path.toRealPath() + ":" + a.size() + ":" + a.lastModifiedTime().toInstant();
                paths.set(paths.size() - 1, path);
                out.add(new Header(ref.label(), "", 0, a.size(), fp, Checksums.readSidecar(path, a).orElse("")));
            } catch (NoSuchFileException e) {
                out.add(new Header(ref.label(), "bundle " + path + " does not exist", ExitCode.BUNDLE.ordinal(), 0, "", ""));
            } catch (IOException e) {
                out.add(new Header(ref.label(), "cannot read bundle " + path + ": " + e.getMessage(), ExitCode.BUNDLE.ordinal(), 0, "", ""));
            }
        }
        return out;
    }

    public static Path mirror(BundleRef.Tree t, Path output) throws IOException {
        BundleSpec spec = new BundleSpec(t.root(), t.members(), Excludes.none(), PycMode.KEEP, false);
        for (Path m : t.members()) {
            if (!Files.exists(t.root().resolve(m))) {
                throw new NodecastException(ExitCode.USAGE, "mirror: " + t.root().resolve(m) + " does not exist");
            }
        }
        long size = BundleWriter.measure(spec);
        if (size > t.maxBytes()) {
            throw new NodecastException(ExitCode.TOO_LARGE, String.format(
                    "mirror: %s has %s, over the limit of %s. Remove data files from it (see 'du -sh %s'), "
                            + "or package it properly (pip) and deliver it with 'nodecast bundle pip' and bcast; "
                            + "--max-size raises the limit", t.label(), Units.bytes(size), Units.bytes(t.maxBytes()), t.root()));
        }
        new BundleWriter(Compression.ZSTD, 3, 1, n -> { }).write(spec, output, java.util.Map.of());
        return output;
    }

    private NodeFailure failure(NodecastException e) {
        return new NodeFailure(topo.host(), topo.rank(), e.exitCode(), e.getMessage());
    }

    private void log(String format, Object... args) {
        if (options.log() != null && topo.root()) {
            options.log().printf(format + "%n", args);
            options.log().flush();
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover in DEST/.nodecast goes with the next purge
        }
    }

    /**
     * Rank 0 reading the bundle: hashes as it reads and never throws, because the other leaders are waiting
     * for exactly {@code size} bytes; a read error is recorded and zeros are sent in its place.
     */
    private static final class FileSource implements ChunkSource {
        final MessageDigest digest = sha256();
        final Path path;
        final long size;
        FileChannel channel;
        String error;
        long nanos;

        FileSource(Path path, long size) {
            this.path = path;
            this.size = size;
        }

        @Override
        public int fill(ByteBuffer into) {
            long t = System.nanoTime();
            int start = into.position();
            try {
                if (error == null) {
                    if (channel == null) channel = FileChannel.open(path, StandardOpenOption.READ);
                    int n = channel.read(into);
                    if (n < 0) {
                        error = "bundle " + path + " became shorter while it was read (expected " + size + " bytes)";
                    }
                }
            } catch (IOException e) {
                error = "cannot read bundle " + path + ": " + e.getMessage();
            }
            if (error != null) {
                while (into.hasRemaining()) into.put((byte) 0);
            }
            int n = into.position() - start;
            digest.update(into.duplicate().flip().position(start));
            if (into.position() == into.limit() || error != null) closeAtEnd();
            nanos += System.nanoTime() - t;
            return n;
        }

        private void closeAtEnd() {
            // the transport asks for exactly size bytes; close once the last one is read
            try {
                if (channel != null && channel.position() >= size) {
                    channel.close();
                    channel = null;
                }
            } catch (IOException ignored) {
                // read-only channel: nothing to lose
            }
        }
    }

    /**
     * issue 14: what a leader does with a bundle's bytes, told by the first ones: a squashfs image is kept whole in
     * node-local storage and mounted once its checksum matched ({@link ImageReceiver}); anything else goes to the
     * unpacker as it arrives.
     */
    private final class Receiver {
        private final Destination dest;
        private final Header h;
        private Unpacker tar;
        private ImageReceiver image;

        Receiver(Destination dest, Header h) {
            this.dest = dest;
            this.h = h;
        }

        private NodecastException startFailure;

        void accept(ByteBuffer chunk) throws IOException {
            if (tar == null && image == null && startFailure == null) {
                if (Superblock.isImage(chunk)) {
                    image = new ImageReceiver(dest.root(), h.label(), h.size(), options.imageMode(), this::unpackImage);
                } else {
                    startTar();
                }
            }
            if (image != null) image.accept(chunk);
            else if (tar != null) tar.pipe.write(chunk);
        }

        private void startTar() {
            try {
                tar = new Unpacker(dest, h.label(), options.chunkBytes(), extractorOptions(h));
            } catch (RuntimeException | Error e) {
                // out of memory for the buffers, a thread that cannot start: this bundle fails here, the stream goes on
                startFailure = new NodecastException(ExitCode.FAILURE, h.label() + ": cannot start unpacking: " + e, e);
            }
        }

        /** An image unpacked instead of mounted: sqfs2tar's tar stream through the same extractor. */
        private UnpackSummary unpackImage(InputStream stream, String label) {
            byte[] buffer = new byte[1 << 20];
            ChunkInput in = () -> {
                int n = stream.read(buffer);
                return n < 0 ? null : ByteBuffer.wrap(buffer, 0, n);
            };
            return new Extractor(dest, extractorOptions(h)).extract(in, label);
        }

        void finish() {
            if (image != null) {
                image.finish();
                return;
            }
            if (tar == null && startFailure == null) startTar();
            if (tar == null) return;
            tar.pipe.finish();
            tar.join();
        }

        NodecastException failure() {
            if (startFailure != null) return startFailure;
            return image != null ? image.failure() : tar.failure;
        }

        UnpackSummary summary() {
            return image != null || tar == null ? null : tar.summary;
        }

        UnpackSummary commit(String sha256) {
            return image != null ? image.commit(sha256) : tar.summary;
        }

        void discard() {
            if (image != null) image.discard();
        }

        double seconds() {
            return image != null ? image.seconds() : tar == null ? 0 : tar.seconds;
        }
    }

    private Extractor.Options extractorOptions(Header h) {
        Unpacking u = options.unpacking();
        PrintWriter log = options.log();
        return new Extractor.Options(u.threads() > 0 ? u.threads() : Extractor.Options.defaultWriters(), u.limitFor(h.size()),
                line -> {
                    if (log != null) {
                        synchronized (log) {
                            log.println(topo.host() + ": " + line);
                            log.flush();
                        }
                    }
                }, true);
    }

    /** A leader's unpacking thread, fed by the chunk pipe. Whatever it throws, an Error included, fails the bundle. */
    private static final class Unpacker {
        final ChunkPipe pipe;
        final Thread thread;
        volatile UnpackSummary summary;
        volatile NodecastException failure;
        volatile double seconds;

        Unpacker(Destination dest, String label, int chunkBytes, Extractor.Options options) {
            this.pipe = new ChunkPipe(chunkBytes, 4);
            this.thread = Thread.ofPlatform().name("nodecast-unpack").daemon().start(() -> {
                long t = System.nanoTime();
                try {
                    summary = new Extractor(dest, options).extract(pipe, label);
                } catch (NodecastException e) {
                    failure = e;
                } catch (Throwable e) {
                    failure = new NodecastException(ExitCode.FAILURE, label + ": unpacking failed: " + e, e);
                } finally {
                    pipe.abandon();  // anything after the tar's end is not needed; let the broadcast finish
                    seconds = (System.nanoTime() - t) / 1e9;
                }
            });
        }

        void join() {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
