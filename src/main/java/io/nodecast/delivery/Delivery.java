package io.nodecast.delivery;

import io.nodecast.core.NodecastException;
import io.nodecast.image.ImageMode;
import io.nodecast.image.ImageStack;
import io.nodecast.transport.Topology;
import io.nodecast.transport.Transport;
import io.nodecast.unpack.Destination;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * The bcast step: every bundle from rank 0 to one leader per node, unpacked there, all nodes agreeing.
 *
 * <p>On the leaders: each prepares its DEST; if any cannot, nobody goes on. Rank 0 describes the bundles (its
 * {@link Preparation}) and every leader gets the headers; then one {@link BundleRound} per bundle, in order, until
 * one fails anywhere. Every rank, leader or not, ends in the {@link Agreement}, which is where the step's outcome
 * comes from. A transport that loses a peer mid-stream ({@link Transport.Broken}) cannot reach that agreement: the
 * job is aborted with the message naming the peer, so no node is left waiting.
 */
public final class Delivery {

    /**
     * @param destination DEST, possibly with %h
     * @param chunkBytes  the largest piece handed to the unpacker
     * @param log         where -v lines go (null: quiet); rank 0 writes them
     * @param progress    rank 0's bytes sent so far for the current bundle (may be a no-op)
     * @param unpacking   how leaders unpack
     * @param imageMode   what leaders do with a squashfs image bundle (mount it, or unpack it)
     */
    public record Options(String destination, int chunkBytes, PrintWriter log, LongConsumer progress, Unpacking unpacking,
                          ImageMode imageMode) {
        public Options(String destination, int chunkBytes, PrintWriter log, LongConsumer progress) {
            this(destination, chunkBytes, log, progress, Unpacking.DEFAULT, ImageMode.IMAGE);
        }

        /** A -v line about this node, from any thread. */
        void say(String host, String line) {
            if (log == null) return;
            synchronized (log) {
                log.println(host + ": " + line);
                log.flush();
            }
        }
    }

    /**
     * How leaders unpack.
     *
     * @param threads     writer threads per leader (0: what the CPU affinity allows, {@link io.nodecast.unpack.Extractor.Options#defaultWriters})
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

    /** The bundles to deliver, asked on rank 0 only; a {@link NodecastException} fails the step everywhere. */
    @FunctionalInterface
    public interface Bundles {
        List<BundleRef> list();
    }

    private final Transport transport;
    private final Options options;
    private final Topology topo;

    public Delivery(Transport transport, Options options) {
        this.transport = transport;
        this.options = options;
        this.topo = transport.topology();
    }

    /** @param initSeconds time spent starting the transport, for the report */
    public DeliveryReport deliver(Bundles bundles, double initSeconds) {
        long start = System.nanoTime();
        List<BundleTiming> timings = new ArrayList<>();
        Optional<NodeFailure> mine = Optional.empty();
        String destShown = options.destination();
        try {
            if (topo.leader()) {
                Destination dest = null;
                Destination.Lock lock = null;
                try {
                    // mounts left dead by a killed job would make DEST unreadable
                    ImageStack.recover(Destination.expand(options.destination(), topo.host()));
                    dest = Destination.prepare(options.destination(), topo.host(), options.unpacking().force());
                    destShown = dest.root().toString();
                    lock = dest.lock(line -> options.say(topo.host(), line));
                } catch (NodecastException e) {
                    mine = Optional.of(NodeFailure.of(topo.host(), topo.rank(), e));
                }
                try {
                    if (!transport.anyLeader(mine.isPresent())) mine = rounds(bundles, dest, timings);
                } finally {
                    if (lock != null) lock.close();
                }
            }
        } catch (Transport.Broken e) {
            transport.abort(e);
            throw e;
        }
        long a0 = System.nanoTime();
        List<NodeFailure> failures = Agreement.reach(transport, mine);
        long end = System.nanoTime();
        return new DeliveryReport(transport.describe(), topo.size(), topo.nodes(), destShown, initSeconds, timings,
                failures, (end - start) / 1e9, (end - a0) / 1e9);
    }

    /** Leaders: one round per bundle, stopping everywhere after the first that failed anywhere. */
    private Optional<NodeFailure> rounds(Bundles bundles, Destination dest, List<BundleTiming> timings) {
        try (Preparation prepared = topo.root() ? Preparation.of(bundles, dest) : new Preparation(List.of(), List.of(), List.of())) {
            List<Header> headers = Header.decode(transport.shareFromRoot(topo.root() ? Header.encode(prepared.headers()) : new byte[0]));
            for (int i = 0; i < headers.size(); i++) {
                Header h = headers.get(i);
                if (h.failed()) {
                    // every leader stops here; rank 0 carries the reason
                    return topo.root() ? Optional.of(new NodeFailure(topo.host(), topo.rank(), h.code(), h.error())) : Optional.empty();
                }
                Path file = topo.root() ? prepared.paths().get(i) : null;
                BundleRound.Outcome o = new BundleRound(transport, dest, options, h, headers.subList(i + 1, headers.size()), file).run();
                timings.add(o.timing());
                if (transport.anyLeader(o.failure().isPresent())) return o.failure();
            }
            return Optional.empty();
        }
    }

    /** A mirrored tree, bundled into output: for the transports that deliver without the leaders' rounds (sbcast). */
    public static Path mirror(BundleRef.Tree t, Path output) throws java.io.IOException {
        return Preparation.mirror(t, output);
    }
}
