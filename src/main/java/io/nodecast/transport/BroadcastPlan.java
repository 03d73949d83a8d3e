package io.nodecast.transport;

import io.nodecast.core.Units;

import java.util.Locale;

/**
 * The shape of one stream from rank 0 to the leaders taking part: which algorithm, the fan-out of its tree, and
 * the size of the segments that are forwarded as soon as they arrive. Pure arithmetic, the same on every leader
 * (each computes its own parent and children from the plan), so no rank has to be told the shape.
 *
 * <p>A pipelined k-ary tree costs about {@code k × (segments + depth − 1)} segment times: every interior member
 * sends each segment to k children over its one link, and the last leaf gets the first segment after depth hops.
 * A chain is the tree with k = 1: the whole bundle crosses each link once, plus one segment per extra member.
 * The segment is cut so that filling the pipeline costs about 1/32 of the bundle's own link time
 * ({@link #FILL_SHARE}), within [{@link #MIN_SEGMENT}, the chunk size]; a fixed per-message cost
 * ({@link #MESSAGE_COST} bytes' worth) keeps the segments from getting too small to pay for their messages.
 * Each hop costs a whole segment's link time (a member forwards what it has received in full) plus whatever the
 * network queues ahead of it, so the fill grows with the segment: traced on the test bed (50 MB to 8 hosts at
 * 100 Mbit/s), a hop took 95 ms with 872 KiB segments (an eighth of the bundle) and 41 ms with 256 KiB.
 *
 * @param algorithm    never {@link BroadcastAlgorithm#AUTO}: what {@link #choose} decided
 * @param fanout       children per member (1 for a chain; unused for MPI_Ibcast)
 * @param members      leaders taking part, rank 0 included
 * @param totalBytes   the bundle's size
 * @param segmentBytes what each message carries (the last one less)
 */
public record BroadcastPlan(BroadcastAlgorithm algorithm, int fanout, int members, long totalBytes, int segmentBytes) {
    /** No segment below this: below it, per-message costs (a few microseconds each, more in a JVM) dominate. */
    public static final int MIN_SEGMENT = 256 << 10;
    /** The pipeline's fill (depth hops of a segment) is held to about 1/FILL_SHARE of the stream. */
    public static final int FILL_SHARE = 32;
    /** A message's fixed cost, counted in bytes of link time: 64 KiB ~ 50 µs at 10 Gbit/s. */
    public static final long MESSAGE_COST = 64 << 10;
    /** Trees with more children per member than this are never better: each child costs a full copy. */
    public static final int MAX_FANOUT = 4;

    public BroadcastPlan {
        if (algorithm == BroadcastAlgorithm.AUTO) throw new IllegalArgumentException("a plan has a decided algorithm");
        if (members < 1 || fanout < 1 || segmentBytes < 1) throw new IllegalArgumentException("members, fanout, segment >= 1");
    }

    /**
     * @param requested  the user's choice; AUTO picks the cheapest of a chain and 2- to 4-ary trees
     * @param members    leaders taking part
     * @param totalBytes bytes to send
     * @param chunkBytes the largest segment (the --chunk-size)
     */
    public static BroadcastPlan choose(BroadcastAlgorithm requested, int members, long totalBytes, int chunkBytes) {
        return switch (requested) {
            case IBCAST -> new BroadcastPlan(BroadcastAlgorithm.IBCAST, 1, members, totalBytes, chunkBytes);
            case CHAIN -> pipelined(1, members, totalBytes, chunkBytes);
            case TREE -> pipelined(2, members, totalBytes, chunkBytes);
            case AUTO -> {
                BroadcastPlan best = pipelined(1, members, totalBytes, chunkBytes);
                for (int k = 2; k <= MAX_FANOUT; k++) {
                    BroadcastPlan tree = pipelined(k, members, totalBytes, chunkBytes);
                    if (tree.cost() < best.cost()) best = tree;
                }
                yield best;
            }
        };
    }

    private static BroadcastPlan pipelined(int fanout, int members, long totalBytes, int chunkBytes) {
        BroadcastAlgorithm a = fanout == 1 ? BroadcastAlgorithm.CHAIN : BroadcastAlgorithm.TREE;
        long hops = Math.max(1, (long) fanout * depth(fanout, members));
        long seg = totalBytes / (FILL_SHARE * hops);
        seg = Math.clamp(seg, Math.min(MIN_SEGMENT, chunkBytes), chunkBytes);
        seg = Math.max(4096, seg / 4096 * 4096);  // whole pages: the buffers are page-aligned
        return new BroadcastPlan(a, fanout, members, totalBytes, (int) Math.min(seg, chunkBytes));
    }

    public long segments() {
        return (totalBytes + segmentBytes - 1) / segmentBytes;
    }

    /** The length of segment {@code k}. */
    public int length(long k) {
        return (int) Math.min(segmentBytes, totalBytes - k * segmentBytes);
    }

    /** Member {@code r}'s parent in the tree (members numbered breadth first from rank 0), -1 for rank 0. */
    public int parent(int r) {
        return r == 0 ? -1 : (r - 1) / fanout;
    }

    /** Member {@code r}'s children, in the order it sends to them. */
    public int[] children(int r) {
        long first = (long) r * fanout + 1;
        int n = (int) Math.max(0, Math.min(fanout, members - first));
        int[] c = new int[n];
        for (int i = 0; i < n; i++) c[i] = (int) first + i;
        return c;
    }

    /** Hops from rank 0 to the deepest member. */
    public int depth() {
        return depth(fanout, members);
    }

    static int depth(int fanout, int members) {
        if (fanout == 1) return members - 1;
        int d = 0;
        long covered = 1, level = 1;
        while (covered < members) {
            level *= fanout;
            covered += level;
            d++;
        }
        return d;
    }

    /**
     * The estimated time in bytes of one link's time: the segments through the busiest member's link, plus the
     * pipeline's fill, each message charged {@link #MESSAGE_COST}. Only comparisons between plans use it.
     */
    public double cost() {
        if (algorithm == BroadcastAlgorithm.IBCAST) return Double.NaN;
        long sendsPerSegment = members == 1 ? 0 : Math.min(fanout, members - 1);
        double steps = sendsPerSegment * (double) (segments() + Math.max(0, depth() - 1));
        return steps * (segmentBytes + MESSAGE_COST);
    }

    public String describe() {
        String seg = Units.bytes(segmentBytes) + " segments";
        return switch (algorithm) {
            case IBCAST -> String.format(Locale.ROOT, "MPI_Ibcast of %s chunks over %d node(s)", Units.bytes(segmentBytes), members);
            case CHAIN -> String.format(Locale.ROOT, "pipelined chain over %d node(s), %s", members, seg);
            case TREE -> String.format(Locale.ROOT, "pipelined %d-ary tree over %d node(s), depth %d, %s", fanout, members, depth(), seg);
            case AUTO -> throw new IllegalStateException();
        };
    }
}
