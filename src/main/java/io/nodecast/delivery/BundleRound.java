package io.nodecast.delivery;

import io.nodecast.bundle.Checksums;
import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.core.Units;
import io.nodecast.transport.ChunkSink;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;
import io.nodecast.unpack.Destination;
import io.nodecast.unpack.Extractor;
import io.nodecast.unpack.Ledger;
import io.nodecast.unpack.UnpackSummary;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One bundle's round on the leaders, in named phases, each a method with a typed result:
 * <ol>
 * <li>{@link #whoNeedsIt}: each leader asks its ledger; all learn who still needs the bundle ({@link Participation}).
 *     If nobody does, the round ends: nothing is sent.</li>
 * <li>{@link #beginUnpacking}: a leader that needs it marks it incomplete in its ledger and starts its unpacker.</li>
 * <li>{@link #stream}: rank 0 reads the bundle and the transport carries it to the leaders that need it, and only to
 *     them; each hashes what it received and hands it to its unpacker as it arrives ({@link Streamed}).</li>
 * <li>{@link Unpacker#finish}: the unpacker's outcome ({@link Unpacker.Result}).</li>
 * <li>{@link #verdict}: rank 0's checksum of what it sent and its word on the bundle reach every leader
 *     ({@link Verdict}); a leader that received other bytes fails.</li>
 * <li>{@link #commit}: only a leader whose every phase succeeded records the bundle as complete in its ledger.</li>
 * <li>{@link #slowest}: the slowest leader's figures, for the report ({@link BundleTiming}).</li>
 * </ol>
 * Every collective phase is entered by every leader whatever happened before on it, so a failure on one node
 * never leaves the others waiting; the caller stops the loop everywhere after a round that failed anywhere.
 */
final class BundleRound {
    /** How many skipped hosts a -v line names before it counts the rest. */
    private static final int NAMED = 8;

    /** What the round did on this leader: its share of the report, and its failure if it had one. */
    record Outcome(BundleTiming timing, Optional<NodeFailure> failure) {}

    /**
     * Who takes part, the same on every leader.
     *
     * @param receivers the nodes that still need the bundle (node 0 sends whether or not it is among them)
     * @param skipped   the hosts that already have it, in node order
     * @param needsHere whether this leader unpacks it
     */
    record Participation(BitSet receivers, List<String> skipped, int nodes, boolean needsHere) {
        /** @param needs one byte per node, in node order: 1 if that node needs the bundle */
        static Participation of(byte[] needs, List<String> hosts, int node) {
            BitSet receivers = new BitSet(needs.length);
            List<String> skipped = new ArrayList<>();
            for (int i = 0; i < needs.length; i++) {
                if (needs[i] != 0) receivers.set(i);
                else skipped.add(i < hosts.size() ? hosts.get(i) : "node " + i);
            }
            return new Participation(receivers, List.copyOf(skipped), needs.length, receivers.get(node));
        }

        boolean nobody() {
            return receivers.isEmpty();
        }

        int receiving() {
            return receivers.cardinality();
        }

        /** The skipped hosts for a log line: the first few by name, the rest counted. */
        String skippedNames() {
            if (skipped.size() <= NAMED) return String.join(", ", skipped);
            return String.join(", ", skipped.subList(0, NAMED)) + " and " + (skipped.size() - NAMED) + " more";
        }
    }

    /**
     * What the stream phase did on this leader.
     *
     * @param how       the transport's account of the shape ("pipelined chain over 3 node(s), ...")
     * @param sha256    the checksum of the bytes rank 0 sent, or this leader received; empty if it took no part
     * @param readError rank 0: why the bundle could not be read whole (zeros were sent in its place)
     * @param failure   the transport's failure, if the stream itself failed here
     */
    record Streamed(String how, double seconds, double readSeconds, String sha256, Optional<String> readError,
                    Optional<NodecastException> failure) {
        static Streamed skipped(String how) {
            return new Streamed(how, 0, 0, "", Optional.empty(), Optional.empty());
        }
    }

    /**
     * Rank 0's word on what it sent, as every leader gets it.
     *
     * @param sha256  the checksum of the bytes rank 0 sent
     * @param problem empty, or why the bundle is bad (its checksum file disagrees, it could not be read)
     */
    record Verdict(String sha256, String problem) {
        /** @param file the bundle rank 0 read: a sidecar older than it is checked too, with its own advice */
        static Verdict ofSent(Header h, String sentSha256, Optional<String> readError, Path file) {
            if (readError.isPresent()) return new Verdict(sentSha256, readError.get());
            if (!h.sha256().isEmpty() && !h.sha256().equals(sentSha256)) {
                return new Verdict(sentSha256, h.label() + " does not match its checksum file " + Checksums.sidecar(Path.of(h.label())) + " (sha256 "
                        + sentSha256 + ", expected " + h.sha256() + "): the bundle is corrupt or was changed after it was made");
            }
            if (h.sha256().isEmpty() && file != null) {
                Optional<String> stale = Checksums.staleSidecar(file);
                if (stale.isPresent() && !stale.get().equals(sentSha256)) {
                    return new Verdict(sentSha256, h.label() + " does not match its checksum file " + Checksums.sidecar(Path.of(h.label()))
                            + ", which is older than the bundle (sha256 " + sentSha256 + ", expected " + stale.get() + "): if the bundle "
                            + "was remade on purpose, remake the checksum file (sha256sum) or remove it");
                }
            }
            return new Verdict(sentSha256, "");
        }

        byte[] encode() {
            return new Wire.Writer().string(sha256).string(problem).toByteArray();
        }

        static Verdict decode(byte[] data) {
            Wire.Reader in = new Wire.Reader(data, "checksum verdict");
            return new Verdict(in.string(), in.string());
        }

        boolean ok() {
            return problem.isEmpty();
        }

        /**
         * This leader's failure, given what it received: rank 0 reports a bad bundle (once, for everyone); any other
         * leader fails if its bytes differ from rank 0's.
         */
        Optional<NodecastException> check(String label, boolean root, String received) {
            if (!ok()) return root ? Optional.of(new NodecastException(ExitCode.BUNDLE, problem)) : Optional.empty();
            if (!root && !received.isEmpty() && !received.equals(sha256)) {
                return Optional.of(new NodecastException(ExitCode.BUNDLE, "the bytes received for " + label
                        + " differ from what rank 0 read (sha256 " + received + ", sent " + sha256 + ")"));
            }
            return Optional.empty();
        }
    }

    private final Transport transport;
    private final Topology topo;
    private final Destination dest;
    private final Delivery.Options options;
    private final Header header;
    private final List<Header> later;
    private final Path file;

    /**
     * @param later the bundles this step delivers after this one (a bundle is only skipped if what came after it
     *              here is among them)
     * @param file  the bundle on rank 0, null elsewhere
     */
    BundleRound(Transport transport, Destination dest, Delivery.Options options, Header header, List<Header> later, Path file) {
        this.transport = transport;
        this.topo = transport.topology();
        this.dest = dest;
        this.options = options;
        this.header = header;
        this.later = later;
        this.file = file;
    }

    Outcome run() {
        long t0 = System.nanoTime();
        Participation who = whoNeedsIt();
        if (who.nobody()) {
            log("%s: already unpacked on all %d node(s); not sent", header.label(), who.nodes());
            return new Outcome(new BundleTiming(header.label(), header.size(), who.nodes(), who.nodes(), false, "not sent",
                    0, 0, 0, (System.nanoTime() - t0) / 1e9, 0, 0), Optional.empty());
        }
        if (!who.skipped().isEmpty()) {
            log("%s: already unpacked on %s; sending to %d node(s)", header.label(), who.skippedNames(), who.receiving());
        }
        Optional<NodecastException> notBegun = Optional.empty();
        Unpacker unpacker = null;
        if (who.needsHere()) {
            try {
                unpacker = beginUnpacking();
            } catch (NodecastException e) {
                notBegun = Optional.of(e);
            } catch (RuntimeException | Error e) {
                // out of memory for the buffers, a thread that cannot start: this bundle fails here, the stream goes on
                notBegun = Optional.of(new NodecastException(ExitCode.FAILURE, header.label() + ": cannot start unpacking: " + e, e));
            }
        }
        Streamed streamed = stream(who, unpacker);
        Unpacker.Result unpacked = unpacker != null ? unpacker.finish()
                : new Unpacker.Result(Optional.empty(), Optional.empty(), 0);
        Verdict verdict = verdict(streamed);
        Optional<NodecastException> failure = Stream.of(notBegun, streamed.failure(), unpacked.failure(),
                verdict.check(header.label(), topo.root(), streamed.sha256())).flatMap(Optional::stream).findFirst();
        if (unpacker != null && failure.isEmpty() && verdict.ok()) {
            try {
                unpacked = unpacker.commit(verdict.sha256());   // an image is mounted here, once its bytes are verified
                failure = commit(verdict);
            } catch (NodecastException e) {
                failure = Optional.of(e);
            } catch (RuntimeException | Error e) {   // the other leaders wait in the collectives below: never leave
                failure = Optional.of(new NodecastException(ExitCode.FAILURE, header.label() + ": mounting failed: " + e, e));
            }
        }
        if (unpacker != null && (failure.isPresent() || !verdict.ok())) unpacker.discard();
        BundleTiming timing = slowest(who, streamed, unpacked, (System.nanoTime() - t0) / 1e9);
        log("%s: %s to %d node(s) in %.2f s (%s)", header.label(), Units.bytes(header.size()), who.receiving(),
                timing.totalSeconds(), streamed.how());
        return new Outcome(timing, failure.map(e -> NodeFailure.of(topo.host(), topo.rank(), e)));
    }

    /** Phase 1, leaders: each asks its ledger; everyone learns who needs the bundle. */
    Participation whoNeedsIt() {
        boolean have;
        try {
            have = dest.ledger().satisfied(header.sha256(), header.fingerprint(),
                    later.stream().map(Header::fingerprint).toList(),
                    later.stream().map(Header::sha256).filter(s -> !s.isEmpty()).toList());
        } catch (IOException e) {
            have = false;  // an unreadable ledger: unpack again rather than trust it
        }
        byte[] needs = transport.gatherFromLeaders(new byte[] {(byte) (have ? 0 : 1)}, 1);
        return Participation.of(needs, transport.leaderHosts(), topo.node());
    }

    /** Phase 2, a leader that needs the bundle: forget it in the ledger, mark it incomplete, start unpacking. */
    private Unpacker beginUnpacking() {
        try {
            dest.ledger().begin(header.sha256(), header.fingerprint(), header.label());
        } catch (IOException e) {
            throw new NodecastException(ExitCode.DESTINATION, "cannot write the ledger in " + dest.root() + ": " + e.getMessage());
        }
        Delivery.Unpacking u = options.unpacking();
        return Unpacker.start(dest, header.label(), header.size(), options.chunkBytes(), new Extractor.Options(
                u.threads() > 0 ? u.threads() : Extractor.Options.defaultWriters(), u.limitFor(header.size()),
                line -> options.say(topo.host(), line), true), options.imageMode());
    }

    /** Phase 3, leaders: the bytes from rank 0 to those that need them. */
    private Streamed stream(Participation who, Unpacker unpacker) {
        FileSource source = topo.root() ? new FileSource(file, header.size()) : null;
        Checksum received = topo.root() ? null : new Checksum();
        long[] sent = {0};
        ChunkSink sink = chunk -> {
            if (received != null) received.update(chunk);
            if (unpacker != null) unpacker.accept(chunk);
            sent[0] += chunk.remaining();
            if (topo.root()) options.progress().accept(sent[0]);
        };
        long s0 = System.nanoTime();
        String how;
        Optional<NodecastException> failure = Optional.empty();
        try {
            how = transport.stream(who.receivers(), header.size(), source, sink);
        } catch (IOException e) {
            how = "failed";
            failure = Optional.of(new NodecastException(ExitCode.REMOTE, "broadcast of " + header.label() + " failed: " + e.getMessage()));
        }
        double seconds = (System.nanoTime() - s0) / 1e9;
        boolean member = topo.root() || who.needsHere();
        if (!member) return Streamed.skipped(how);
        if (source != null) return new Streamed(how, seconds, source.seconds(), source.sha256(), source.error(), failure);
        return new Streamed(how, seconds, 0, received.hex(), Optional.empty(), failure);
    }

    /** Phase 5, leaders: rank 0's checksum and word on the bundle reach every leader. */
    private Verdict verdict(Streamed streamed) {
        byte[] mine = topo.root() ? Verdict.ofSent(header, streamed.sha256(), streamed.readError(), file).encode() : new byte[0];
        return Verdict.decode(transport.shareFromRoot(mine));
    }

    /** Phase 6, a leader whose round succeeded: the bundle is complete here. */
    private Optional<NodecastException> commit(Verdict verdict) {
        try {
            dest.ledger().complete(new Ledger.Entry(verdict.sha256(), header.size(), header.fingerprint(), header.label()));
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of(new NodecastException(ExitCode.DESTINATION, "cannot write the ledger in " + dest.root() + ": " + e.getMessage()));
        }
    }

    /** Phase 7, leaders: the slowest node's figures (each the maximum over the leaders). */
    private BundleTiming slowest(Participation who, Streamed streamed, Unpacker.Result unpacked, double total) {
        UnpackSummary s = unpacked.summary().orElse(new UnpackSummary(0, 0, 0, 0, null));
        double[] max = transport.maxOverLeaders(new double[] {streamed.readSeconds(),
                Math.max(0, streamed.seconds() - streamed.readSeconds()), unpacked.seconds(), total, s.files(), s.bytes()});
        return new BundleTiming(header.label(), header.size(), who.nodes(), who.skipped().size(), true, streamed.how(),
                max[0], max[1], max[2], max[3], (long) max[4], (long) max[5]);
    }

    private void log(String format, Object... args) {
        if (options.log() != null && topo.root()) {
            options.log().printf(format + "%n", args);
            options.log().flush();
        }
    }
}
